"""The live event stream of one agent's browser (Server-Sent Events), fed by the broker.

Each stream subscribes to the process's `Broker`: new escalations (published by `EventFeed`),
visitor, bot and agent messages, and state changes. It sends a comment every `heartbeat`
seconds and re-checks the agent's session on that timer: a logged-out agent's stream ends.
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
    """The browser's view of a broker event: `message`, `state`, `assignment`, `typing`,
    `note` or `resync`."""
    if event.kind == "message.created" and event.message is not None:
        return "message", event.message.as_json()
    if event.kind == "state.changed" and event.state is not None:
        return "state", {
            "conversation_id": event.conversation_id,
            "state": event.state.value,
            "agent": event.agent.as_json() if event.agent else None,
        }
    if event.kind == "assignment.changed" and event.assignment is not None:
        return "assignment", event.assignment.as_json()
    if event.kind == "typing" and event.typing is not None:
        return "typing", typing_data(event)
    if event.kind == "note.created" and event.note is not None:
        return "note", event.note.as_json()
    return "resync", {}


def typing_data(event: ConversationEvent) -> dict[str, Any]:
    """`typing`: who types in which conversation (`agent` null: the visitor). No text."""
    return {
        "conversation_id": event.conversation_id,
        "typing": bool(event.typing),
        "agent": event.agent.as_json() if event.agent else None,
    }


_RESYNC = object()  # the backlog was dropped: the browser reloads what it shows
_END = object()
MAX_BACKLOG = 1000  # events queued for one slow browser before its backlog is dropped


class _Backlog:
    """A bounded queue of events for one stream: when full, the backlog is dropped for one
    `resync` (a stalled browser costs bounded memory, and learns to reload)."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=size)

    def put(self, item: object) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_RESYNC)
            if item is _END:
                self._queue.put_nowait(_END)

    async def get(self) -> object:
        return await self._queue.get()


class LiveStream:
    def __init__(
        self,
        broker: Broker,
        heartbeat: float = HEARTBEAT,
        max_backlog: int = MAX_BACKLOG,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.broker = broker
        self.heartbeat = heartbeat
        self.max_backlog = max_backlog
        self._monotonic = monotonic  # the event loop's clock unless a test injects one

    async def events(
        self, still_logged_in: Callable[[], Awaitable[bool]], stopping: asyncio.Event
    ) -> AsyncIterator[str]:
        """SSE text chunks until the agent logs out, the server stops, or the caller stops.

        The session is re-checked every `heartbeat` seconds whatever the traffic, so a logged-out,
        expired or removed agent's stream ends (with `logout`) even while events keep coming."""
        subscription = self.broker.subscribe()
        backlog = _Backlog(self.max_backlog)
        now = self._monotonic or asyncio.get_running_loop().time

        async def pump() -> None:
            try:
                async for event in subscription:
                    backlog.put(event)
            finally:
                backlog.put(_END)

        async def stop_on_shutdown() -> None:
            await stopping.wait()
            backlog.put(_END)

        tasks = [asyncio.create_task(pump()), asyncio.create_task(stop_on_shutdown())]
        try:
            yield f"retry: {RETRY_MS}\n" + sse("hello", {})
            next_check = now() + self.heartbeat
            while True:
                try:
                    item = await asyncio.wait_for(backlog.get(), max(0.0, next_check - now()))
                except asyncio.TimeoutError:
                    item = None
                if item is None or now() >= next_check:
                    next_check = now() + self.heartbeat
                    if not await still_logged_in():
                        yield sse("logout", {})
                        return
                    if item is None:
                        yield ": keep-alive\n\n"
                        continue
                if item is _END:
                    return
                if item is _RESYNC:
                    yield sse("resync", {})
                    continue
                assert isinstance(item, ConversationEvent)
                name, data = event_data(item)
                yield sse(name, data)
        finally:
            await subscription.close()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
