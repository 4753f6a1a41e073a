"""Delivery to visitor sockets: every tab gets every message once, a rejoining tab what it missed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from handoff_plugin.config.settings import StaticSettings
from handoff_plugin.livechat.broker import InProcessBroker
from handoff_plugin.livechat.connections import VisitorConnections
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.livechat.sessions import SessionSigner
from handoff_plugin.models import AgentRef, LiveChatSession
from handoff_plugin.store import Store
from tests.servers import wait_until
from tests.unit.test_livechat_service import FakeTranscript

ANN = AgentRef("a1", "Ann")


class Sockets:
    """Stands in for socket.io: what each socket was sent."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}

    async def __call__(self, event: str, data: Any, to: str) -> None:
        assert event == "bot_uttered"
        self.sent.setdefault(to, []).append(data)

    def texts(self, sid: str) -> list[str]:
        return [p.get("text", "") for p in self.sent.get(sid, [])]

    def seqs(self, sid: str) -> list[int]:
        return [p["metadata"]["seq"] for p in self.sent.get(sid, [])]

    async def until(self, count: int, *sids: str) -> None:
        """Wait until each socket was sent `count` messages (the delivery task may read the
        database on the way)."""
        await wait_until(
            lambda: all(len(self.sent.get(sid, [])) >= count for sid in sids),
            what=f"{count} message(s) for {sids}",
        )


@pytest.fixture
def service(store: Store, settings_provider: StaticSettings) -> LiveChatService:
    return LiveChatService(
        store, settings_provider, FakeTranscript(), InProcessBroker(), SessionSigner(b"x" * 20)
    )


@pytest.fixture
def sockets() -> Sockets:
    return Sockets()


@pytest.fixture
async def connections(service: LiveChatService, sockets: Sockets) -> Any:
    connections = VisitorConnections(service, sockets)
    task = asyncio.create_task(connections.run(service.broker.subscribe()))
    yield connections
    task.cancel()


async def session(service: LiveChatService) -> LiveChatSession:
    """A visitor who has written (the channel stores the session on the first message)."""
    return await service.ensure_session((await service.open_session(None)).session.key)


async def test_every_tab_of_a_session_receives_every_message_once(
    service: LiveChatService, connections: VisitorConnections, sockets: Sockets
) -> None:
    s = await session(service)
    await connections.attach("tab1", s, None)
    await connections.attach("tab2", s, None)
    await service.record_visitor_message(s.key, "hi", None, "livechat")
    await service.record_bot_message(s.key, {"text": "Hello!"}, "livechat")
    await service.send_agent_message(s.conversation_id, ANN, "Ann here")
    await sockets.until(3, "tab1", "tab2")
    for tab in ("tab1", "tab2"):
        assert sockets.texts(tab) == [
            "Hello!",
            "Ann from our team has joined the chat.",
            "Ann here",
        ]
        assert sockets.seqs(tab) == [2, 3, 4]


def token_of(service: LiveChatService, s: LiveChatSession) -> str:
    return f"{s.key}.{service.signer._sign(s.key)}"


async def rejoin(service: LiveChatService, s: LiveChatSession) -> LiveChatSession:
    opened = await service.open_session(token_of(service, s))
    assert not opened.is_new
    return opened.session


async def test_a_reloaded_page_gets_what_was_sent_while_it_was_away_and_nothing_twice(
    service: LiveChatService, connections: VisitorConnections, sockets: Sockets
) -> None:
    s = await session(service)
    await connections.attach("before-reload", s, None)
    await service.record_bot_message(s.key, {"text": "one"}, "livechat")
    await sockets.until(1, "before-reload")
    await connections.detach("before-reload")
    # Whether the delivery task sees these before or after the rejoin, each is sent once.
    await service.record_bot_message(s.key, {"text": "two"}, "livechat")
    await service.record_bot_message(s.key, {"text": "three"}, "livechat")

    assert await connections.attach("after-reload", await rejoin(service, s), None) == 2
    await service.record_bot_message(s.key, {"text": "four"}, "livechat")
    await sockets.until(3, "after-reload")
    assert sockets.texts("before-reload") == ["one"]
    assert sockets.texts("after-reload") == ["two", "three", "four"]


async def test_a_client_that_names_its_last_seq_gets_exactly_the_rest(
    service: LiveChatService, connections: VisitorConnections, sockets: Sockets
) -> None:
    s = await session(service)
    for text in ("one", "two", "three"):
        await service.record_bot_message(s.key, {"text": text}, "livechat")
    await connections.attach("client", await rejoin(service, s), 1)
    assert sockets.seqs("client") == [2, 3]
    await connections.attach("liar", await rejoin(service, s), 99)  # clamped, keeps receiving
    await service.record_bot_message(s.key, {"text": "four"}, "livechat")
    await sockets.until(1, "liar")
    assert sockets.texts("liar") == ["four"]


async def test_a_message_announced_out_of_order_is_preceded_by_the_one_before(
    service: LiveChatService, connections: VisitorConnections, sockets: Sockets
) -> None:
    s = await session(service)
    await connections.attach("tab", s, None)
    quiet = LiveChatService(  # writes without telling this process (as another replica would)
        service.store, service.settings, FakeTranscript(), InProcessBroker(), service.signer
    )
    await quiet.record_bot_message(s.key, {"text": "from elsewhere"}, "livechat")
    await service.record_bot_message(s.key, {"text": "from here"}, "livechat")
    await sockets.until(2, "tab")
    assert sockets.texts("tab") == ["from elsewhere", "from here"]


async def test_after_a_lag_every_socket_catches_up_from_the_database(
    service: LiveChatService, sockets: Sockets
) -> None:
    service.broker = InProcessBroker(max_queued=2)
    connections = VisitorConnections(service, sockets)
    subscription = service.broker.subscribe()
    s = await session(service)
    await connections.attach("tab", s, None)
    for n in range(5):  # nobody consumes: the subscription overflows
        await service.record_bot_message(s.key, {"text": f"m{n}"}, "livechat")
    await subscription.close()
    await connections.run(subscription)
    assert sockets.texts("tab") == [f"m{n}" for n in range(5)]


async def test_two_visitors_never_see_each_others_messages(
    service: LiveChatService, connections: VisitorConnections, sockets: Sockets
) -> None:
    a, b = await session(service), await session(service)
    await connections.attach("a", a, None)
    await connections.attach("b", b, None)
    await service.record_bot_message(a.key, {"text": "for a"}, "livechat")
    await service.record_bot_message(b.key, {"text": "for b"}, "livechat")
    await sockets.until(1, "a", "b")
    assert sockets.texts("a") == ["for a"]
    assert sockets.texts("b") == ["for b"]


class HeldDelay:
    """The cursor saver's `sleep`: each delay lasts until the test says it `passes()`."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._ticks: asyncio.Queue[None] = asyncio.Queue()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self._ticks.get()

    def passes(self) -> None:
        self._ticks.put_nowait(None)


async def test_delivered_cursors_are_written_once_per_delay_under_a_steady_flow(
    service: LiveChatService, sockets: Sockets
) -> None:
    """A message arriving during every save must not turn the delayed save into one write
    per message (it did: the saver looped until nothing was unsaved)."""
    saves: list[dict[str, int]] = []
    delay = HeldDelay()
    connections = VisitorConnections(service, sockets, sleep=delay)
    s = await session(service)
    await connections.attach("tab", s, None)
    mark_delivered = service.mark_delivered

    async def save_while_more_arrive(delivered: dict[str, int]) -> None:
        saves.append(dict(delivered))
        await mark_delivered(delivered)
        if len(saves) < 5:  # the next message is delivered while this save is under way
            await connections.deliver(
                await service.record_bot_message(s.key, {"text": "."}, None), s.key
            )

    service.mark_delivered = save_while_more_arrive  # type: ignore[method-assign]
    await connections.deliver(await service.record_bot_message(s.key, {"text": "1"}, None), s.key)
    delay.passes()
    await wait_until(lambda: len(delay.waits) == 2, what="the saver waiting for the next delay")
    assert len(saves) == 1 and sockets.seqs("tab") == [1, 2]
    delay.passes()  # the next delay: the message delivered meanwhile is saved
    await wait_until(lambda: len(saves) >= 2, what="the second save")
    assert saves[1] == {s.key: 2}


async def test_the_cursor_saver_stops_once_the_store_is_closed(
    service: LiveChatService, sockets: Sockets, store: Store
) -> None:
    """A server stopping closes its store: the saver gives up instead of retrying (and logging a
    traceback) once per delay for as long as the process lives."""
    delay = HeldDelay()
    connections = VisitorConnections(service, sockets, sleep=delay)
    s = await session(service)
    await connections.attach("tab", s, None)
    await connections.deliver(await service.record_bot_message(s.key, {"text": "1"}, None), s.key)
    assert sockets.seqs("tab") == [1]  # delivered: a cursor waits to be saved
    await wait_until(lambda: len(delay.waits) == 1, what="the saver waiting for its delay")
    await store.close()
    delay.passes()
    saver = connections._saving
    assert saver is not None
    await asyncio.wait_for(saver, 10)  # it ended rather than waiting for another delay
    assert len(delay.waits) == 1
