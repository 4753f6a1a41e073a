"""The visitor sockets of this process and what each has been sent.

Every socket of a session (a tab, a reloaded page) has a cursor: the `seq` of the newest message
it was sent. Messages are delivered in `seq` order, each to every socket of the session exactly
once; a gap (an event that arrived late, a subscriber that lagged) is filled from the database,
because messages of a conversation commit in `seq` order. A socket that (re)joins is first sent
what it missed: after the `last_seq` it names, or else after the session's delivered cursor
(the newest message any of its sockets was sent, kept in the database across processes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from handoff_plugin.errors import DatabaseUnavailable
from handoff_plugin.livechat.broker import ConversationEvent, Subscription
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.livechat.typing import AGENT_TYPING, agent_typing_event
from handoff_plugin.livechat.widget import BOT_UTTERED, to_bot_uttered
from handoff_plugin.models import Author, ChatMessage, LiveChatSession

log = structlog.get_logger(__name__)


class Emitter(Protocol):
    async def __call__(self, event: str, data: Any, to: str) -> None: ...


@dataclass
class _Session:
    key: str
    conversation_id: int | None  # None until the visitor's first message stores it
    delivered: int  # the newest seq any socket of this session was sent
    cursors: dict[str, int] = field(default_factory=dict)  # sid -> newest seq sent
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class VisitorConnections:
    def __init__(
        self,
        service: LiveChatService,
        emit: Emitter,
        save_delay: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._service = service
        self._save_delay = save_delay  # cursors are written at most once per delay (and on leave)
        self._sleep = sleep
        self._emit = emit
        self._sessions: dict[str, _Session] = {}
        self._session_of: dict[str, str] = {}  # sid -> session key
        self._unsaved: dict[str, int] = {}  # session key -> delivered seq not yet in the database
        self._saving: asyncio.Task[None] | None = None

    def session_of(self, sid: str) -> str | None:
        return self._session_of.get(sid)

    def is_stored(self, key: str) -> bool:
        """Whether the session's conversation exists (the visitor has written before)."""
        state = self._sessions.get(key)
        return state is not None and state.conversation_id is not None

    def stored(self, session: LiveChatSession) -> None:
        state = self._sessions.get(session.key)
        if state is not None and state.conversation_id is None:
            state.conversation_id = session.conversation_id

    def sockets_of(self, key: str) -> list[str]:
        session = self._sessions.get(key)
        return list(session.cursors) if session else []

    async def attach(self, sid: str, session: LiveChatSession, last_seq: int | None) -> int:
        """Bind the socket to the session and send it what it missed; returns how many."""
        await self.detach(sid)
        state = self._sessions.get(session.key)
        if state is None:
            state = self._sessions[session.key] = _Session(
                session.key, session.conversation_id, session.delivered_seq
            )
        self._session_of[sid] = session.key
        async with state.lock:
            if state.conversation_id is None:
                state.conversation_id = session.conversation_id
            if state.conversation_id is None:  # nothing was ever said
                state.cursors[sid] = 0
                return 0
            newest = await self._service.last_seq(state.conversation_id)
            state.delivered = max(state.delivered, session.delivered_seq)
            start = state.delivered if last_seq is None else last_seq
            state.cursors[sid] = max(0, min(start, newest))
            missed = await self._service.messages_after(
                state.conversation_id, state.cursors[sid], until_seq=newest
            )
            sent = await self._send(state, [sid], missed)
        if sent:
            log.info("handoff.livechat.replayed", conversation_id=state.conversation_id, count=sent)
        return sent

    async def detach(self, sid: str) -> None:
        key = self._session_of.pop(sid, None)
        state = self._sessions.get(key) if key else None
        if state is None:
            return
        state.cursors.pop(sid, None)
        if not state.cursors:
            del self._sessions[state.key]
        await self.save_cursors()

    async def deliver(self, message: ChatMessage, key: str) -> None:
        """Send `message` (and anything before it not yet sent) to the session's sockets."""
        state = self._sessions.get(key)
        if state is None:
            return
        async with state.lock:
            if not state.cursors:
                return
            state.conversation_id = message.conversation_id
            oldest = min(state.cursors.values())
            if message.seq <= oldest:
                return
            if message.seq == oldest + 1:
                batch = [message]
            else:  # fill the gap from the database (it holds every seq < message.seq)
                batch = await self._service.messages_after(
                    state.conversation_id, oldest, until_seq=message.seq
                )
            await self._send(state, list(state.cursors), batch)

    async def catch_up_all(self) -> None:
        """After a lag: send every socket whatever it has not been sent yet."""
        for state in list(self._sessions.values()):
            if state.conversation_id is None:
                continue
            newest = await self._service.last_seq(state.conversation_id)
            async with state.lock:
                if state.cursors and min(state.cursors.values()) < newest:
                    assert state.conversation_id is not None
                    batch = await self._service.messages_after(
                        state.conversation_id, min(state.cursors.values()), until_seq=newest
                    )
                    await self._send(state, list(state.cursors), batch)

    async def run(self, subscription: Subscription) -> None:
        """Deliver the broker's message events to this process's sockets until cancelled."""
        async for event in subscription:
            try:
                await self._handle(event)
            except Exception:  # one bad delivery must not stop delivery for everyone
                log.exception(
                    "handoff.livechat.delivery_failed", conversation_id=event.conversation_id
                )

    async def _handle(self, event: ConversationEvent) -> None:
        if event.kind == "lagged":
            await self.catch_up_all()
        elif event.kind == "message.created" and event.message is not None:
            await self.deliver(event.message, event.sender_id)
        elif event.kind == "typing":
            await self.tell_typing(event)

    async def tell_typing(self, event: ConversationEvent) -> None:
        """An agent's typing, to every socket of the visitor's session in this process."""
        data = agent_typing_event(event)
        if data is None:
            return
        for sid in self.sockets_of(event.sender_id):
            await self._emit(AGENT_TYPING, data, sid)

    def conversation_of(self, sid: str) -> int | None:
        """The conversation of the socket's session (None until the visitor first wrote)."""
        key = self._session_of.get(sid)
        state = self._sessions.get(key) if key else None
        return state.conversation_id if state else None

    async def _send(self, state: _Session, sids: Iterable[str], batch: list[ChatMessage]) -> int:
        """Emit each message to the sockets whose cursor is behind it; advance the cursors."""
        sent = 0
        for message in batch:
            payloads = [] if message.author is Author.VISITOR else to_bot_uttered(message)
            for sid in sids:
                if state.cursors.get(sid, message.seq) >= message.seq:
                    continue
                for payload in payloads:
                    await self._emit(BOT_UTTERED, payload, sid)
                state.cursors[sid] = message.seq
                sent += 1 if payloads else 0
            if message.seq > state.delivered:
                state.delivered = message.seq
                self._unsaved[state.key] = message.seq
        if self._unsaved and (self._saving is None or self._saving.done()):
            self._saving = asyncio.create_task(self._save_soon())
        return sent

    async def _save_soon(self) -> None:
        # At most one write per delay: saving "until nothing is unsaved" would, under a steady
        # flow of messages, write once per delivered message.
        while self._unsaved:
            await self._sleep(self._save_delay)
            batch, self._unsaved = self._unsaved, {}
            try:
                await self._service.mark_delivered(batch)
            except Exception as exc:  # kept for the next try (or the socket's leave, or the stop)
                if self._service.store.closed:  # the server stopped: retrying cannot succeed
                    return
                if isinstance(exc, DatabaseUnavailable):  # an outage: said once per try, briefly
                    log.warning("handoff.livechat.cursor_save_failed", error=str(exc))
                else:
                    log.exception("handoff.livechat.cursor_save_failed")
                for key, seq in batch.items():
                    self._unsaved[key] = max(seq, self._unsaved.get(key, 0))

    async def save_cursors(self) -> None:
        """Write the delivered cursors to the database (coalesced; also on detach and stop)."""
        while self._unsaved:
            batch, self._unsaved = self._unsaved, {}
            await self._service.mark_delivered(batch)
