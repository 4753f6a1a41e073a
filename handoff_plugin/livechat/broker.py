"""Live conversation events for whoever watches them (the visitor channel, the agent inbox).

`Broker` is the interface: `publish` an event, `subscribe()` to receive every event published
after that, in order. `InProcessBroker` serves one process; `RedisBroker` (redis_broker.py, with
`redis.url` set) carries events between replicas (events are plain data: `as_dict`/`from_dict`).

Subscribers must tolerate gaps: a subscriber that falls too far behind gets one `lagged` event in
place of what it missed and resynchronises from the database (messages are numbered by `seq`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import structlog

from handoff_plugin.models import (
    AgentRef,
    Assignment,
    ChatMessage,
    ConversationState,
    InternalNote,
)

log = structlog.get_logger(__name__)

EventKind = Literal[
    "message.created", "state.changed", "assignment.changed", "typing", "note.created", "lagged"
]


@dataclass(frozen=True)
class ConversationEvent:
    kind: EventKind
    conversation_id: int = 0
    sender_id: str = ""
    message: ChatMessage | None = None  # message.created
    state: ConversationState | None = None  # state.changed
    agent: AgentRef | None = None  # state.changed by an agent
    assignment: Assignment | None = None  # assignment.changed
    # typing: whether someone is typing now; `agent` is the agent, or None for the visitor.
    # Never stored: a typing event lost on the way only leaves an indicator to time out.
    typing: bool | None = None
    note: InternalNote | None = None  # note.created: for agents only, never a visitor's socket

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "conversation_id": self.conversation_id,
            "sender_id": self.sender_id,
        }
        if self.message is not None:
            data["message"] = self.message.as_json()
        if self.state is not None:
            data["state"] = self.state.value
        if self.agent is not None:
            data["agent"] = self.agent.as_json()
        if self.assignment is not None:
            data["assignment"] = self.assignment.detail()
        if self.typing is not None:
            data["typing"] = self.typing
        if self.note is not None:
            data["note"] = self.note.as_json()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationEvent:
        return cls(
            kind=data["kind"],
            conversation_id=data.get("conversation_id", 0),
            sender_id=data.get("sender_id", ""),
            message=ChatMessage.from_json(data["message"]) if data.get("message") else None,
            state=ConversationState(data["state"]) if data.get("state") else None,
            agent=AgentRef.from_json(data.get("agent")),
            assignment=(
                Assignment.from_detail(data.get("conversation_id", 0), data["assignment"])
                if data.get("assignment")
                else None
            ),
            typing=bool(data["typing"]) if "typing" in data else None,
            note=InternalNote.from_json(data["note"]) if data.get("note") else None,
        )


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[ConversationEvent]: ...

    async def close(self) -> None: ...


class Broker(Protocol):
    shared: bool  # whether subscribers also hear other processes' events

    async def publish(self, event: ConversationEvent) -> None: ...

    def subscribe(self) -> Subscription: ...


LAGGED = ConversationEvent(kind="lagged")


class _QueueSubscription:
    def __init__(self, broker: InProcessBroker, max_queued: int) -> None:
        self._broker = broker
        self.queue: asyncio.Queue[ConversationEvent | None] = asyncio.Queue(max_queued)

    def offer(self, event: ConversationEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(LAGGED)
            log.warning("handoff.pubsub.subscriber_lagged", max_queued=self.queue.maxsize)

    async def __aiter__(self) -> AsyncIterator[ConversationEvent]:
        while True:
            event = await self.queue.get()
            if event is None:
                return
            yield event

    async def close(self) -> None:
        """Stop receiving; iteration ends after the events already queued."""
        self._broker._subscriptions.discard(self)
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class InProcessBroker:
    """Fan-out to the subscribers of this process; `publish` never blocks on a slow subscriber."""

    shared = False

    def __init__(self, max_queued: int = 10_000) -> None:
        self._max_queued = max_queued
        self._subscriptions: set[_QueueSubscription] = set()

    async def publish(self, event: ConversationEvent) -> None:
        for subscription in list(self._subscriptions):
            subscription.offer(event)

    def subscribe(self) -> _QueueSubscription:
        subscription = _QueueSubscription(self, self._max_queued)
        self._subscriptions.add(subscription)
        return subscription
