"""Typed queries of the agent inbox: the conversation list (keyset pages), a conversation's
visitor, escalations and live-chat markers, read markers, the inbox event log, escalation review.

They run inside a `Store.transaction()`; `InboxQueries(tx)` wraps that transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from handoff_plugin.models import (
    STATUSES,
    AgentRef,
    Assignee,
    Author,
    ConversationState,
    ConversationSummary,
    Cursor,
    EscalationRecord,
    EventKind,
    InboxEvent,
    LiveMarker,
    Status,
    Trigger,
)
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import (
    UtcDateTime,
    agents,
    conversation_reads,
    conversations,
    escalations,
    inbox_events,
    messages,
    messages_fts,
    visitors,
)

c, v = conversations, visitors


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _escalation(row: Row) -> EscalationRecord:
    return EscalationRecord(
        id=row.id,
        conversation_id=row.conversation_id,
        visitor_id=row.visitor_id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        trigger=Trigger(row.trigger),
        message=row.message,
        status=row.status,
        created_at=row.created_at,
        closed_at=row.closed_at,
    )


_ESCALATION_COLUMNS = (
    escalations.c.id,
    escalations.c.conversation_id,
    escalations.c.visitor_id,
    escalations.c.trigger,
    escalations.c.message,
    escalations.c.status,
    escalations.c.created_at,
    escalations.c.closed_at,
    v.c.email,
    v.c.first_name,
    v.c.last_name,
)


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: matched as a substring by the trigram index."""
    return '"' + text.replace('"', '""') + '"'


def list_query(
    agent_id: int, status: Status, query: str | None, *, trigram_index: bool = False
) -> sa.sql.Select:
    """The conversation list, newest activity first, without paging (see `list_conversations`).

    `trigram_index`: the database has `messages_fts` (SQLite): message texts are searched there
    for queries of 3+ characters, instead of scanning every message. On PostgreSQL the plain
    `ILIKE '%q%'` below reads the pg_trgm GIN index of migration 0006 (`ix_messages_text_trgm`)."""
    reads = conversation_reads
    unread = sa.exists().where(
        messages.c.conversation_id == c.c.id,
        messages.c.seq > sa.func.coalesce(reads.c.read_seq, 0),
        messages.c.author == Author.VISITOR.value,
    )
    assignee = agents.alias("assignee")
    waiting_since = (  # the open escalation (at most one), evaluated for the page's rows only
        sa.select(escalations.c.created_at)
        .where(escalations.c.conversation_id == c.c.id)
        .where(escalations.c.status == "open")
        .limit(1)
        .scalar_subquery()
    )
    select = (
        sa.select(
            c.c.id,
            c.c.state,
            c.c.channel,
            c.c.visitor_id,
            c.c.last_message,
            c.c.last_activity_at,
            v.c.email,
            v.c.first_name,
            v.c.last_name,
            unread.label("unread"),
            assignee.c.id.label("assignee_id"),
            assignee.c.name.label("assignee_name"),
            assignee.c.email.label("assignee_email"),
            waiting_since.label("waiting_since"),
        )
        .select_from(
            c.outerjoin(v, v.c.id == c.c.visitor_id)
            .outerjoin(
                reads, sa.and_(reads.c.agent_id == agent_id, reads.c.conversation_id == c.c.id)
            )
            .outerjoin(assignee, assignee.c.id == c.c.assignee_id)
        )
        .where(c.c.last_activity_at.isnot(None))
        .order_by(c.c.last_activity_at.desc(), c.c.id.desc())
    )
    state = STATUSES[status]
    if state is not None:
        select = select.where(c.c.state == state.value)
    if status == "mine":
        select = select.where(c.c.assignee_id == agent_id)
    if query:
        select = select.where(
            sa.or_(
                c.c.visitor_id.in_(_matching_visitors(query, trigram_index)),
                c.c.id.in_(_matching_messages(query, trigram_index)),
            )
        )
    return select


def _matching_visitors(query: str, sqlite: bool) -> sa.sql.Select:
    pattern = like_pattern(query)
    full_name = v.c.first_name + " " + v.c.last_name
    columns = (v.c.email, v.c.first_name, v.c.last_name, full_name)
    # SQLite's LIKE already ignores ASCII case, and its lower() folds nothing more, so ILIKE's
    # lower(x) LIKE lower(p) finds the same rows there at a third of the speed.
    if sqlite:
        return sa.select(v.c.id).where(sa.or_(*(x.like(pattern, escape="\\") for x in columns)))
    return sa.select(v.c.id).where(sa.or_(*(x.ilike(pattern, escape="\\") for x in columns)))


def _matching_messages(query: str, trigram_index: bool) -> sa.sql.Select:
    """The conversations with a message containing `query`."""
    if trigram_index and len(query) >= 3:
        indexed = sa.select(messages_fts.c.rowid).where(
            sa.literal_column("messages_fts").op("MATCH")(fts_phrase(query))
        )
        return sa.select(messages.c.conversation_id).where(messages.c.id.in_(indexed))
    return sa.select(messages.c.conversation_id).where(
        messages.c.text.ilike(like_pattern(query), escape="\\")
    )


def matching_conversations(query: str, *, trigram_index: bool = False) -> sa.sql.CompoundSelect:
    """The ids of conversations whose visitor or one of whose messages matches `query`."""
    by_visitor = sa.select(c.c.id).where(
        c.c.visitor_id.in_(_matching_visitors(query, trigram_index))
    )
    return sa.union(by_visitor, _matching_messages(query, trigram_index))


SEARCH_FROM_MATCHES = 2000  # a search with at most this many matching conversations starts there


class InboxQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    # --- the conversation list ---

    async def list_conversations(
        self,
        agent_id: int,
        status: Status,
        query: str | None,
        cursor: Cursor | None,
        limit: int,
    ) -> tuple[list[ConversationSummary], Cursor | None]:
        """Newest activity first; `limit` rows after `cursor`, and the cursor of the next page.

        Keyset pagination: the next page starts after the last row's (activity, id), read from
        the (state,) activity, id index, so page 2,000 costs what page 1 does."""
        trigram = self.conn.dialect.name == "sqlite"  # migration 0004 made messages_fts
        select = list_query(agent_id, status, query, trigram_index=trigram)
        if query:
            # A narrow search starts from its matches: walking every conversation newest first
            # to find two of them read 100,000 rows (~90 ms). A broad one fills a page from
            # the newest long before that, so it walks.
            found = matching_conversations(query, trigram_index=trigram).limit(
                SEARCH_FROM_MATCHES + 1
            )
            ids = list((await self.conn.execute(found)).scalars())
            if len(ids) <= SEARCH_FROM_MATCHES:
                select = list_query(agent_id, status, None).where(c.c.id.in_(ids))
        select = select.limit(limit + 1)
        if cursor is not None:
            select = select.where(
                sa.tuple_(c.c.last_activity_at, c.c.id)
                < sa.tuple_(sa.literal(cursor.activity_at, UtcDateTime), sa.literal(cursor.id))
            )
        rows = (await self.conn.execute(select)).all()
        items = [
            ConversationSummary(
                id=row.id,
                state=ConversationState(row.state),
                channel=row.channel,
                visitor_id=row.visitor_id,
                email=row.email,
                first_name=row.first_name,
                last_name=row.last_name,
                last_message=row.last_message,
                last_activity_at=row.last_activity_at,
                unread=bool(row.unread),
                waiting_since=row.waiting_since if row.state == "escalated" else None,
                assignee=(
                    Assignee(row.assignee_id, row.assignee_name, row.assignee_email)
                    if row.assignee_id is not None
                    else None
                ),
            )
            for row in rows[:limit]
        ]
        more = len(rows) > limit
        next_cursor = Cursor(items[-1].last_activity_at, items[-1].id) if more and items else None
        return items, next_cursor

    async def state_counts(self) -> dict[ConversationState, int]:
        """How many conversations wait for an agent, and how many are live."""
        wanted = [ConversationState.ESCALATED.value, ConversationState.LIVE.value]
        query = (
            sa.select(c.c.state, sa.func.count())
            .where(c.c.state.in_(wanted))
            .where(c.c.last_activity_at.isnot(None))
            .group_by(c.c.state)
        )
        counts = {ConversationState(state): int(n) for state, n in await self.conn.execute(query)}
        return {state: counts.get(state, 0) for state in map(ConversationState, wanted)}

    async def assigned_count(self, agent_id: int) -> int:
        """How many conversations the agent handles (the *Mine* tab's count)."""
        query = (
            sa.select(sa.func.count())
            .where(c.c.assignee_id == agent_id)
            .where(c.c.last_activity_at.isnot(None))
        )
        return int((await self.conn.execute(query)).scalar() or 0)

    # --- one conversation ---

    async def escalations_of_conversation(self, conversation_id: int) -> list[EscalationRecord]:
        query = (
            sa.select(*_ESCALATION_COLUMNS)
            .join(v, v.c.id == escalations.c.visitor_id)
            .where(escalations.c.conversation_id == conversation_id)
            .order_by(escalations.c.created_at, escalations.c.id)
        )
        return [_escalation(row) for row in (await self.conn.execute(query)).all()]

    async def escalations_of_visitor(
        self, visitor_id: int, limit: int = 20
    ) -> list[EscalationRecord]:
        query = (
            sa.select(*_ESCALATION_COLUMNS)
            .join(v, v.c.id == escalations.c.visitor_id)
            .where(escalations.c.visitor_id == visitor_id)
            .order_by(escalations.c.created_at.desc(), escalations.c.id.desc())
            .limit(limit)
        )
        return [_escalation(row) for row in (await self.conn.execute(query)).all()]

    async def live_markers(self, conversation_id: int) -> list[LiveMarker]:
        query = (
            sa.select(inbox_events)
            .where(inbox_events.c.conversation_id == conversation_id)
            .where(inbox_events.c.kind.in_(["live.started", "live.ended"]))
            .where(inbox_events.c.seq.isnot(None))
            .order_by(inbox_events.c.seq)
        )
        return [
            LiveMarker(row.kind, row.seq, row.agent_name, row.created_at, row.detail or None)
            for row in (await self.conn.execute(query)).all()
        ]

    async def first_system_message_after(
        self, conversation_id: int, after_seq: int, before_seq: int | None = None
    ) -> int | None:
        """The `seq` of the first product notice (system message) after `after_seq`."""
        query = (
            sa.select(messages.c.seq)
            .where(messages.c.conversation_id == conversation_id)
            .where(messages.c.seq > after_seq)
            .where(messages.c.author == Author.SYSTEM.value)
            .order_by(messages.c.seq)
            .limit(1)
        )
        if before_seq is not None:
            query = query.where(messages.c.seq < before_seq)
        row = (await self.conn.execute(query)).first()
        return int(row.seq) if row else None

    async def mark_read(self, agent_id: int, conversation_id: int, seq: int) -> None:
        """The agent has seen the conversation up to `seq` (never goes back)."""
        now = self.tx.clock()
        update = (
            conversation_reads.update()
            .where(conversation_reads.c.agent_id == agent_id)
            .where(conversation_reads.c.conversation_id == conversation_id)
            .where(conversation_reads.c.read_seq < seq)
            .values(read_seq=seq, read_at=now)
        )
        if (await self.conn.execute(update)).rowcount:
            return
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    conversation_reads.insert().values(
                        agent_id=agent_id,
                        conversation_id=conversation_id,
                        read_seq=seq,
                        read_at=now,
                    )
                )
        except IntegrityError:  # read already, up to `seq` or further
            await self.conn.execute(update)

    # --- the inbox event log ---

    async def add_event(
        self,
        kind: EventKind,
        conversation_id: int,
        origin: str,
        *,
        seq: int | None = None,
        agent: AgentRef | None = None,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        """Append to the log; False if this marker (conversation, kind, seq) is there already."""
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    inbox_events.insert().values(
                        kind=kind,
                        conversation_id=conversation_id,
                        seq=seq,
                        agent_id=agent.id if agent else None,
                        agent_name=agent.name if agent else None,
                        origin=origin,
                        detail=detail,
                        created_at=self.tx.clock(),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def events_after(self, after_id: int, limit: int = 200) -> list[InboxEvent]:
        query = (
            sa.select(inbox_events, c.c.sender_id)
            .join(c, c.c.id == inbox_events.c.conversation_id)
            .where(inbox_events.c.id > after_id)
            .order_by(inbox_events.c.id)
            .limit(limit)
        )
        return [
            InboxEvent(
                id=row.id,
                kind=row.kind,
                conversation_id=row.conversation_id,
                sender_id=row.sender_id,
                seq=row.seq,
                agent=AgentRef(row.agent_id, row.agent_name or "") if row.agent_id else None,
                origin=row.origin,
                created_at=row.created_at,
                detail=row.detail,
            )
            for row in (await self.conn.execute(query)).all()
        ]

    async def newest_event_id(self) -> int:
        return int(
            (await self.conn.execute(sa.select(sa.func.max(inbox_events.c.id)))).scalar() or 0
        )

    async def prune_events(self, before: datetime) -> int:
        """Forget escalation and note notices older than `before` (live-chat markers stay:
        transcripts; the notes themselves are in `conversation_notes`)."""
        result = await self.conn.execute(
            inbox_events.delete()
            .where(inbox_events.c.kind.in_(["escalation.created", "note.created"]))
            .where(inbox_events.c.created_at < before)
        )
        return int(result.rowcount or 0)

    async def touch_activity(self, conversation_id: int) -> None:
        """An escalation is activity: it puts the conversation at the top of the list."""
        now = self.tx.clock()
        await self.conn.execute(
            c.update().where(c.c.id == conversation_id).values(last_activity_at=now)
        )

    # --- escalation review ---

    async def escalations_between(
        self, start: datetime, end: datetime, limit: int
    ) -> list[EscalationRecord]:
        query = (
            sa.select(*_ESCALATION_COLUMNS)
            .join(v, v.c.id == escalations.c.visitor_id)
            .where(escalations.c.created_at >= start)
            .where(escalations.c.created_at < end)
            .order_by(escalations.c.created_at.desc(), escalations.c.id.desc())
            .limit(limit)
        )
        return [_escalation(row) for row in (await self.conn.execute(query)).all()]
