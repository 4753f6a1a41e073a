"""Inbox events across processes: a log in the database, read by every inbox process.

Escalations are recorded by the action server, a different process from the Rasa server that
serves the inbox, so an in-process broker never hears of them. Instead:

1. `EscalationEventWriter` (an escalation listener) appends an `escalation.created` row to
   `inbox_events` inside the escalation's own transaction: the row exists exactly when the
   escalation does, whichever process recorded it.
2. Each inbox process runs one `EventFeed`. It reads the rows after its cursor about once a second
   (one indexed query, whatever the number of agents) and publishes them on the process's
   `Broker`, where the live stream of every connected agent picks them up.

Live-chat markers (`live.started`/`live.ended`, written by the inbox when an agent starts or ends
a chat) go into the same log; a feed skips the ones its own process wrote, since the live-chat
service already published those on the local broker (with a shared broker, `redis.url`, it skips
every replica's: the Redis broker carried them, or, while Redis was down, told every stream to
resynchronise). Assignment changes (`assignment.changed`, who handles a conversation now, with
the action, the agents and a transfer's note in `detail`) and agents' internal notes
(`note.created`, the note in `detail`) travel the same way.

Row ids only grow (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), but on PostgreSQL a row
can commit after a row with a higher id. The feed therefore remembers ids it has not seen below
the newest one it has, keeps asking for them for `gap_grace` seconds, and only then moves past
them (a rolled-back insert leaves a gap that never fills).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from datetime import timedelta

import structlog

from handoff_plugin.config.settings import Settings
from handoff_plugin.livechat.broker import Broker, ConversationEvent
from handoff_plugin.models import (
    Assignment,
    ConversationState,
    Escalation,
    InboxEvent,
    InternalNote,
)
from handoff_plugin.store import Store
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.queries.inbox import InboxQueries

log = structlog.get_logger(__name__)

ORIGIN = secrets.token_hex(8)  # this process, in the rows it writes
KEEP_ESCALATION_EVENTS = timedelta(days=1)
_STATE_OF = {
    "escalation.created": ConversationState.ESCALATED,
    "live.started": ConversationState.LIVE,
    "live.ended": ConversationState.BOT,
}


class EscalationEventWriter:
    """Runs inside the escalation's transaction (see `EscalationService.listeners`)."""

    def __init__(self, origin: str = ORIGIN) -> None:
        self.origin = origin

    async def escalation_created(
        self, tx: StoreTransaction, escalation: Escalation, settings: Settings
    ) -> None:
        q = InboxQueries(tx)
        await q.touch_activity(escalation.conversation_id)
        await q.add_event("escalation.created", escalation.conversation_id, self.origin)


def as_broker_event(event: InboxEvent) -> ConversationEvent:
    if event.kind == "note.created":  # without its note (never written so): the page reloads
        note = InternalNote.from_json(event.detail) if event.detail else None
        return ConversationEvent("note.created", event.conversation_id, event.sender_id, note=note)
    if event.kind == "assignment.changed":
        assignment = Assignment.from_detail(
            event.conversation_id, event.detail or {}, event.created_at
        )
        return ConversationEvent(
            "assignment.changed", event.conversation_id, event.sender_id, assignment=assignment
        )
    return ConversationEvent(
        "state.changed",
        event.conversation_id,
        event.sender_id,
        state=_STATE_OF[event.kind],
        agent=event.agent,
    )


class EventFeed:
    def __init__(
        self,
        store: Store,
        broker: Broker,
        *,
        origin: str = ORIGIN,
        interval: float = 1.0,
        gap_grace: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.broker = broker
        self.origin = origin
        self.interval = interval
        self.gap_grace = gap_grace
        self._monotonic = monotonic
        self._cursor: int | None = None  # every id <= cursor is handled
        self._seen: set[int] = set()  # handled ids above the cursor
        self._gaps: dict[int, float] = {}  # id -> when we first missed it
        self._wake = asyncio.Event()
        self._last_prune = float("-inf")

    @property
    def cursor(self) -> int | None:
        return self._cursor

    async def start_at_newest(self) -> None:
        """Publish only what is written from now on."""
        self._cursor = await self.store.run(
            lambda tx: InboxQueries(tx).newest_event_id(), read_only=True
        )

    def wake(self) -> None:
        """Poll now (tests; or a process that knows it just wrote a row)."""
        self._wake.set()

    async def poll(self) -> list[InboxEvent]:
        """Publish the rows written since the last poll; returns them."""
        if self._cursor is None:
            await self.start_at_newest()
        assert self._cursor is not None
        cursor = self._cursor
        # A read-only unit: polled every interval by every inbox process, it must not take
        # the write lock the visitors' turns wait for.
        rows = await self.store.run(
            lambda tx: InboxQueries(tx).events_after(cursor), read_only=True
        )
        fresh = [row for row in rows if row.id not in self._seen]
        for row in fresh:
            self._seen.add(row.id)
            self._gaps.pop(row.id, None)
            foreign = row.origin != self.origin and not self.broker.shared
            if row.kind == "escalation.created" or foreign:
                await self.broker.publish(as_broker_event(row))
                log.info(
                    "handoff.inbox.event_received",
                    kind=row.kind,
                    conversation_id=row.conversation_id,
                )
        self._advance()
        return fresh

    def _advance(self) -> None:
        assert self._cursor is not None
        now = self._monotonic()
        newest = max(self._seen, default=self._cursor)
        for missing in range(self._cursor + 1, newest):
            if missing not in self._seen:
                self._gaps.setdefault(missing, now)
        while True:
            following = self._cursor + 1
            if following in self._seen:
                self._seen.discard(following)
            elif following in self._gaps and now - self._gaps[following] >= self.gap_grace:
                del self._gaps[following]
                log.info("handoff.inbox.event_gap_skipped", event_id=following)
            else:
                return
            self._cursor = following

    async def run(self) -> None:
        """Poll until cancelled; a failing poll is logged and retried."""
        if self._cursor is None:
            await self.start_at_newest()
        while True:
            try:
                await self.poll()
                await self._prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handoff.inbox.feed_failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def _prune(self) -> None:
        if self._monotonic() - self._last_prune < 3600:
            return
        self._last_prune = self._monotonic()
        async with self.store.transaction() as tx:
            pruned = await InboxQueries(tx).prune_events(tx.clock() - KEEP_ESCALATION_EVENTS)
        if pruned:
            log.info("handoff.inbox.events_pruned", count=pruned)
