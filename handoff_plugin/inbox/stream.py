"""The live event stream of one agent's browser (Server-Sent Events), fed by the broker.

Each stream subscribes to the process's `Broker`: new escalations (published by `EventFeed`),
visitor, bot and agent messages, and state changes. It sends a comment every `heartbeat`
seconds, which also re-checks the agent's session: a logged-out agent's stream ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from handoff_plugin.livechat.broker import Broker, ConversationEvent

HEARTBEAT = 15.0
RETRY_MS = 2000


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def event_data(event: ConversationEvent) -> tuple[str, dict[str, Any]]:
    """The browser's view of a broker event: `message`, `state` or `resync`."""
    if event.kind == "message.created" and event.message is not None:
        return "message", event.message.as_json()
    if event.kind == "state.changed" and event.state is not None:
        return "state", {
            "conversation_id": event.conversation_id,
            "state": event.state.value,
            "agent": event.agent.as_json() if event.agent else None,
        }
    return "resync", {}


class LiveStream:
    def __init__(self, broker: Broker, heartbeat: float = HEARTBEAT) -> None:
        self.broker = broker
        self.heartbeat = heartbeat

    async def events(
        self, still_logged_in: Callable[[], Awaitable[bool]], stopping: asyncio.Event
    ) -> AsyncIterator[str]:
        """SSE text chunks until the agent logs out, the server stops, or the caller stops."""
        subscription = self.broker.subscribe()
        queue: asyncio.Queue[ConversationEvent | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for event in subscription:
                    queue.put_nowait(event)
            finally:
                queue.put_nowait(None)

        async def stop_on_shutdown() -> None:
            await stopping.wait()
            queue.put_nowait(None)

        tasks = [asyncio.create_task(pump()), asyncio.create_task(stop_on_shutdown())]
        try:
            yield f"retry: {RETRY_MS}\n" + sse("hello", {})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), self.heartbeat)
                except asyncio.TimeoutError:
                    if not await still_logged_in():
                        yield sse("logout", {})
                        return
                    yield ": keep-alive\n\n"
                    continue
                if event is None:
                    return
                name, data = event_data(event)
                yield sse(name, data)
        finally:
            await subscription.close()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
