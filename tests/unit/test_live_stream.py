"""The agent's event stream: the session is re-checked whatever the traffic, memory is bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from handoff_plugin.inbox.stream import LiveStream
from handoff_plugin.livechat.broker import ConversationEvent, InProcessBroker
from handoff_plugin.models import ConversationState


def _state_event(n: int) -> ConversationEvent:
    return ConversationEvent("state.changed", conversation_id=n, state=ConversationState.LIVE)


class FloodBroker:
    """A subscription that has `count` events waiting at once, then nothing."""

    def __init__(self, count: int) -> None:
        self.count = count

    async def publish(self, event: ConversationEvent) -> None:
        raise AssertionError("not used")

    def subscribe(self) -> FloodBroker:
        return self

    async def __aiter__(self) -> AsyncIterator[ConversationEvent]:
        for n in range(self.count):
            yield _state_event(n)
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass


async def test_a_logged_out_agent_stream_ends_even_while_events_keep_coming() -> None:
    broker, time = InProcessBroker(), [0.0]
    logged_in = [True]

    async def still_logged_in() -> bool:
        return logged_in[0]

    stream = LiveStream(broker, heartbeat=15, monotonic=lambda: time[0])
    events = stream.events(still_logged_in, asyncio.Event())
    assert "event: hello" in await events.__anext__()
    for n in range(3):  # busy: an event every few seconds, never a quiet heartbeat
        await broker.publish(_state_event(n))
        assert "event: state" in await events.__anext__()
        time[0] += 6
    logged_in[0] = False  # logged out elsewhere (or expired, or removed)
    await broker.publish(_state_event(9))
    assert "event: logout" in await events.__anext__()
    assert [chunk async for chunk in events] == []  # and the stream is over
    await events.aclose()


async def test_a_stalled_browser_gets_resync_instead_of_an_ever_growing_backlog() -> None:
    async def still_logged_in() -> bool:
        return True

    stream = LiveStream(FloodBroker(10), heartbeat=3600, max_backlog=3)  # type: ignore[arg-type]
    events = stream.events(still_logged_in, asyncio.Event())
    assert "event: hello" in await events.__anext__()
    first = await events.__anext__()  # all 10 arrived while the browser read nothing
    assert first.startswith("event: resync")
    await events.aclose()
