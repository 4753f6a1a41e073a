"""Typed queries of the team desk: agent presence, the queue of waiting visitors, and the
conditional writes that let every process run the same clock-driven sweep safely.

They run inside a `Store.transaction()`; `DeskQueries(tx)` wraps that transaction. Each write
that tells a visitor something is conditional on what was last told, so of several processes
sweeping at once exactly one sends the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from handoff_plugin.models import AgentPresence, Author, ConversationState, PresenceStatus
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import agents, conversations, escalations, messages, visitors

c, e = conversations, escalations


@dataclass(frozen=True)
class Waiting:
    """An open escalation whose visitor waits for an agent (the conversation is not live)."""

    escalation_id: int
    conversation_id: int
    sender_id: str
    created_at: datetime
    assignee_id: int | None
    email: str | None
    told_position: int | None
    told_position_at: datetime | None
    unanswered_told_at: datetime | None


@dataclass(frozen=True)
class QuietLiveChat:
    conversation_id: int
    sender_id: str
    quiet_since: datetime  # the visitor's last message, or when the agent took the chat


class DeskQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    # --- presence ---

    async def seen(self, agent_id: int, *, active: bool = False) -> None:
        """An open inbox page of the agent checked in (`active`: the agent used it)."""
        now = self.tx.clock()
        values = {"last_seen_at": now, **({"last_active_at": now} if active else {})}
        await self.conn.execute(agents.update().where(agents.c.id == agent_id).values(**values))

    async def first_seen(self, agent_id: int) -> None:
        """A page opened: seen now, and active now unless it was active more recently."""
        now = self.tx.clock()
        await self.conn.execute(
            agents.update()
            .where(agents.c.id == agent_id)
            .values(
                last_seen_at=now,
                last_active_at=sa.case(
                    (agents.c.last_active_at.is_(None), now), else_=agents.c.last_active_at
                ),
            )
        )

    async def set_presence(self, agent_id: int, status: PresenceStatus) -> None:
        now = self.tx.clock()
        await self.conn.execute(
            agents.update()
            .where(agents.c.id == agent_id)
            .values(presence=status, last_active_at=now, last_seen_at=now)
        )

    async def presences(self) -> list[AgentPresence]:
        rows = await self.conn.execute(
            sa.select(
                agents.c.id,
                agents.c.name,
                agents.c.email,
                agents.c.presence,
                agents.c.last_seen_at,
                agents.c.last_active_at,
            ).order_by(agents.c.id)
        )
        return [
            AgentPresence(r.id, r.name, r.email, r.presence, r.last_seen_at, r.last_active_at)
            for r in rows
        ]

    async def live_chat_counts(self) -> dict[int, int]:
        """How many open conversations (waiting or live) each agent handles."""
        query = (
            sa.select(c.c.assignee_id, sa.func.count())
            .where(c.c.assignee_id.isnot(None))
            .where(c.c.state != ConversationState.BOT.value)
            .group_by(c.c.assignee_id)
        )
        return {int(agent): int(n) for agent, n in await self.conn.execute(query)}

    # --- the queue ---

    async def waiting(self) -> list[Waiting]:
        """Every visitor waiting for an agent, first come first."""
        query = (
            sa.select(
                e.c.id,
                e.c.conversation_id,
                c.c.sender_id,
                e.c.created_at,
                c.c.assignee_id,
                visitors.c.email,
                e.c.told_position,
                e.c.told_position_at,
                e.c.unanswered_told_at,
            )
            .join(c, c.c.id == e.c.conversation_id)
            .join(visitors, visitors.c.id == e.c.visitor_id)
            .where(e.c.status == "open")
            .where(c.c.state == ConversationState.ESCALATED.value)
            .order_by(e.c.created_at, e.c.id)
        )
        return [Waiting(*row) for row in (await self.conn.execute(query)).all()]

    async def position(self, escalation_id: int) -> int | None:
        """1 for the visitor who waits longest; None if this one does not wait."""
        for number, waiting in enumerate(await self.waiting(), start=1):
            if waiting.escalation_id == escalation_id:
                return number
        return None

    async def tell_position(
        self, escalation_id: int, position: int, *, was: int | None, throttle: timedelta
    ) -> bool:
        """Record that the visitor is told `position`, if nobody told them since `was` and the
        last message is older than `throttle`; True: this process tells them."""
        now = self.tx.clock()
        told = e.c.told_position.is_(None) if was is None else e.c.told_position == was
        result = await self.conn.execute(
            e.update()
            .where(e.c.id == escalation_id)
            .where(e.c.status == "open")
            .where(told)
            .where(sa.or_(e.c.told_position_at.is_(None), e.c.told_position_at <= now - throttle))
            .values(told_position=position, told_position_at=now)
        )
        return bool(result.rowcount)

    async def tell_unanswered(self, escalation_id: int) -> bool:
        result = await self.conn.execute(
            e.update()
            .where(e.c.id == escalation_id)
            .where(e.c.status == "open")
            .where(e.c.unanswered_told_at.is_(None))
            .values(unanswered_told_at=self.tx.clock())
        )
        return bool(result.rowcount)

    async def first_reply(self, conversation_id: int) -> None:
        """An agent answered: the open escalation's wait ends now (kept for the expected wait)."""
        await self.conn.execute(
            e.update()
            .where(e.c.conversation_id == conversation_id)
            .where(e.c.status == "open")
            .where(e.c.first_reply_at.is_(None))
            .values(first_reply_at=self.tx.clock())
        )

    async def recent_waits(self, limit: int) -> list[timedelta]:
        """How long the last `limit` answered visitors waited for their first agent reply."""
        query = (
            sa.select(e.c.created_at, e.c.first_reply_at)
            .where(e.c.first_reply_at.isnot(None))
            .order_by(e.c.first_reply_at.desc())
            .limit(limit)
        )
        return [reply - asked for asked, reply in await self.conn.execute(query)]

    async def abandon(self, escalation_id: int, conversation_id: int) -> bool:
        """Close an escalation nobody answered: it leaves the Waiting tab, back to the bot."""
        result = await self.conn.execute(
            e.update()
            .where(e.c.id == escalation_id)
            .where(e.c.status == "open")
            .where(e.c.first_reply_at.is_(None))
            .values(status="closed", closed_at=self.tx.clock(), closed_reason="abandoned")
        )
        if not result.rowcount:
            return False
        await self.conn.execute(
            c.update()
            .where(c.c.id == conversation_id)
            .where(c.c.state == ConversationState.ESCALATED.value)
            .values(
                state=ConversationState.BOT.value,
                assignee_id=None,
                assigned_at=None,
                updated_at=self.tx.clock(),
            )
        )
        return True

    async def closed_because(self, conversation_id: int, reason: str) -> None:
        """Say why the conversation's newest escalation closed (e.g. `idle`)."""
        newest = (
            sa.select(sa.func.max(e.c.id))
            .where(e.c.conversation_id == conversation_id)
            .scalar_subquery()
        )
        await self.conn.execute(e.update().where(e.c.id == newest).values(closed_reason=reason))

    # --- live chats ---

    async def quiet_live_chats(self, since: datetime) -> list[QuietLiveChat]:
        """Live chats whose visitor wrote nothing after `since` (nor since the agent took it)."""
        last_visitor = (
            sa.select(sa.func.max(messages.c.created_at))
            .where(messages.c.conversation_id == c.c.id)
            .where(messages.c.author == Author.VISITOR.value)
            .scalar_subquery()
        )
        rows = await self.conn.execute(
            sa.select(
                c.c.id, c.c.sender_id, last_visitor.label("last_visitor"), c.c.assigned_at
            ).where(c.c.state == ConversationState.LIVE.value)
        )
        quiet = []
        for row in rows:
            moments = [t for t in (row.last_visitor, row.assigned_at) if t is not None]
            if moments and max(moments) <= since:
                quiet.append(QuietLiveChat(row.id, row.sender_id, max(moments)))
        return quiet
