"""Typed queries of conversations, their visitors and their escalations.

They run inside a `Store.transaction()`; `ConversationQueries(tx)` wraps that transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from handoff_plugin.models import (
    Conversation,
    ConversationState,
    Escalation,
    Trigger,
    Visitor,
    VisitorProfile,
)
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import conversations, escalations, visitors


def _visitor(row: Row) -> Visitor:
    return Visitor(
        id=row.id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        phone=row.phone,
        created_at=row.created_at,
    )


def _conversation(row: Row) -> Conversation:
    return Conversation(
        id=row.id,
        sender_id=row.sender_id,
        channel=row.channel,
        state=ConversationState(row.state),
        visitor_id=row.visitor_id,
        last_message=row.last_message,
        last_message_at=row.last_message_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        assignee_id=row.assignee_id,
    )


# Every turn looks its conversation up: built once (see livechat.py's statements).
_BY_SENDER = sa.select(conversations).where(conversations.c.sender_id == sa.bindparam("sender_id"))


class ConversationQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.conn = tx.conn
        self.clock = tx.clock

    async def conversation_by_sender(self, sender_id: str) -> Conversation | None:
        row = (await self.conn.execute(_BY_SENDER, {"sender_id": sender_id})).first()
        return _conversation(row) if row else None

    async def conversation(self, conversation_id: int) -> Conversation | None:
        row = (
            await self.conn.execute(
                sa.select(conversations).where(conversations.c.id == conversation_id)
            )
        ).first()
        return _conversation(row) if row else None

    async def ensure_conversation(self, sender_id: str, channel: str | None) -> Conversation:
        existing = await self.conversation_by_sender(sender_id)
        if existing:
            return existing
        now = self.clock()
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    conversations.insert().values(
                        sender_id=sender_id,
                        channel=channel,
                        state=ConversationState.BOT.value,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:  # another process created it first
            pass
        created = await self.conversation_by_sender(sender_id)
        assert created is not None
        return created

    async def record_visitor_message(self, conversation_id: int, text: str) -> None:
        now = self.clock()
        await self.conn.execute(
            conversations.update()
            .where(conversations.c.id == conversation_id)
            .values(last_message=text, last_message_at=now, updated_at=now)
        )

    async def set_state(self, conversation_id: int, state: ConversationState) -> None:
        await self.conn.execute(
            conversations.update()
            .where(conversations.c.id == conversation_id)
            .values(state=state.value, updated_at=self.clock())
        )

    async def visitor(self, visitor_id: int) -> Visitor | None:
        row = (
            await self.conn.execute(sa.select(visitors).where(visitors.c.id == visitor_id))
        ).first()
        return _visitor(row) if row else None

    async def save_visitor(self, conversation: Conversation, profile: VisitorProfile) -> Visitor:
        """The conversation's visitor, with what we just learned; reuses a visitor by email."""
        known = {k: v for k, v in vars(profile).items() if v}
        visitor_id = conversation.visitor_id
        if visitor_id is None and profile.email:
            row = (
                await self.conn.execute(
                    sa.select(visitors.c.id)
                    .where(sa.func.lower(visitors.c.email) == profile.email.lower())
                    .order_by(visitors.c.id)
                    .limit(1)
                )
            ).first()
            visitor_id = row.id if row else None
        now = self.clock()
        if visitor_id is None:
            result = await self.conn.execute(
                visitors.insert().values(**known, created_at=now, updated_at=now)
            )
            visitor_id = int(result.inserted_primary_key[0])
        elif known:
            await self.conn.execute(
                visitors.update().where(visitors.c.id == visitor_id).values(**known, updated_at=now)
            )
        if conversation.visitor_id != visitor_id:
            await self.conn.execute(
                conversations.update()
                .where(conversations.c.id == conversation.id)
                .values(visitor_id=visitor_id, updated_at=now)
            )
        visitor = await self.visitor(visitor_id)
        assert visitor is not None
        return visitor

    async def open_escalation(self, conversation_id: int) -> Escalation | None:
        query = (
            sa.select(escalations, conversations.c.last_message)
            .join(conversations, conversations.c.id == escalations.c.conversation_id)
            .where(escalations.c.conversation_id == conversation_id)
            .where(escalations.c.status == "open")
        )
        row = (await self.conn.execute(query)).first()
        return await self._escalation(row) if row else None

    async def latest_escalation(self, conversation_id: int) -> Escalation | None:
        """The conversation's newest escalation, open or closed (the open one if there is one)."""
        query = (
            sa.select(escalations, conversations.c.last_message)
            .join(conversations, conversations.c.id == escalations.c.conversation_id)
            .where(escalations.c.conversation_id == conversation_id)
            .order_by(escalations.c.id.desc())
            .limit(1)
        )
        row = (await self.conn.execute(query)).first()
        return await self._escalation(row) if row else None

    async def escalation(self, escalation_id: int) -> Escalation | None:
        query = (
            sa.select(escalations, conversations.c.last_message)
            .join(conversations, conversations.c.id == escalations.c.conversation_id)
            .where(escalations.c.id == escalation_id)
        )
        row = (await self.conn.execute(query)).first()
        return await self._escalation(row) if row else None

    async def _escalation(self, row: Row) -> Escalation:
        visitor = await self.visitor(row.visitor_id)
        assert visitor is not None
        return Escalation(
            id=row.id,
            conversation_id=row.conversation_id,
            visitor=visitor,
            trigger=Trigger(row.trigger),
            message=row.message,
            last_message=row.last_message,
            created_at=row.created_at,
        )

    async def create_escalation(
        self, conversation: Conversation, visitor: Visitor, trigger: Trigger, message: str
    ) -> Escalation | None:
        """A new open escalation, or None if the conversation already has one open."""
        try:
            async with self.conn.begin_nested():
                result = await self.conn.execute(
                    escalations.insert().values(
                        conversation_id=conversation.id,
                        visitor_id=visitor.id,
                        trigger=trigger.value,
                        message=message,
                        status="open",
                        created_at=self.clock(),
                    )
                )
        except IntegrityError:
            return None
        return await self.escalation(int(result.inserted_primary_key[0]))

    async def close_open_escalation(self, conversation_id: int) -> None:
        await self.conn.execute(
            escalations.update()
            .where(escalations.c.conversation_id == conversation_id)
            .where(escalations.c.status == "open")
            .values(status="closed", closed_at=self.clock())
        )

    async def count_escalations(self) -> int:
        return int(
            (await self.conn.execute(sa.select(sa.func.count()).select_from(escalations))).scalar()
        )
