"""Typed queries of live chat: numbered messages, visitor sessions, live-chat state, secrets.

They run inside a `Store.transaction()`; `LiveChatQueries(tx)` wraps that transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from handoff_plugin.models import (
    AgentRef,
    Author,
    ChatMessage,
    Conversation,
    ConversationState,
    LiveChatSession,
)
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.secret_box import is_encrypted
from handoff_plugin.store.tables import (
    conversations,
    generated_secrets,
    livechat_sessions,
    messages,
)

# Every turn runs these: built once, so SQLAlchemy neither rebuilds them nor recomputes their
# cache keys (that was about half of a turn's database time).
_COUNT_MESSAGE = (
    conversations.update()
    .where(conversations.c.id == sa.bindparam("conversation"))
    .values(
        last_seq=conversations.c.last_seq + 1,
        last_activity_at=sa.bindparam("now"),
        updated_at=sa.bindparam("now"),
    )
)
_COUNT_VISITOR_MESSAGE = _COUNT_MESSAGE.values(
    last_message=sa.bindparam("text"), last_message_at=sa.bindparam("now")
)
_LAST_SEQ = sa.select(conversations.c.last_seq).where(
    conversations.c.id == sa.bindparam("conversation")
)
_INSERT_MESSAGE = messages.insert()
_MARK_DELIVERED = (
    livechat_sessions.update()
    .where(livechat_sessions.c.session_key == sa.bindparam("key"))
    .where(livechat_sessions.c.delivered_seq < sa.bindparam("seq"))
    .values(delivered_seq=sa.bindparam("seq"), last_seen_at=sa.bindparam("now"))
)


def _message(row: Row) -> ChatMessage:
    agent = (
        AgentRef(row.agent_id or "", row.agent_name or "", row.agent_avatar_url)
        if row.author == "agent"
        else None
    )
    return ChatMessage(
        conversation_id=row.conversation_id,
        seq=row.seq,
        author=Author(row.author),
        text=row.text,
        payload=dict(row.payload) if row.payload else None,
        agent=agent,
        channel=row.channel,
        created_at=row.created_at,
    )


def _session(row: Row) -> LiveChatSession:
    return LiveChatSession(
        key=row.session_key,
        conversation_id=row.conversation_id,
        delivered_seq=row.delivered_seq,
        last_seen_at=row.last_seen_at,
    )


class LiveChatQueries:
    """Live-chat queries on one open transaction."""

    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    # --- messages ---

    async def append_message(
        self,
        conversation: Conversation,
        author: Author,
        text: str | None,
        payload: Mapping[str, Any] | None = None,
        *,
        agent: AgentRef | None = None,
        channel: str | None = None,
    ) -> ChatMessage:
        """Number the message (the conversation's next `seq`) and store it.

        The counter update locks the conversation's row until commit, so messages of one
        conversation commit in `seq` order: whoever sees message N also sees every message < N."""
        now = self.tx.clock()
        counted = _COUNT_VISITOR_MESSAGE if author is Author.VISITOR and text else _COUNT_MESSAGE
        await self.conn.execute(
            counted, {"conversation": conversation.id, "now": now, "text": text}
        )
        seq = int(
            (await self.conn.execute(_LAST_SEQ, {"conversation": conversation.id})).scalar_one()
        )
        await self.conn.execute(
            _INSERT_MESSAGE,
            {
                "conversation_id": conversation.id,
                "seq": seq,
                "author": author.value,
                "agent_id": agent.id if agent else None,
                "agent_name": agent.name if agent else None,
                "agent_avatar_url": agent.avatar_url if agent else None,
                "text": text,
                "payload": dict(payload) if payload else None,
                "channel": channel,
                "created_at": now,
            },
        )
        return ChatMessage(
            conversation_id=conversation.id,
            seq=seq,
            author=author,
            text=text,
            payload=dict(payload) if payload else None,
            agent=agent,
            channel=channel,
            created_at=now,
        )

    async def messages_after(
        self,
        conversation_id: int,
        after_seq: int,
        *,
        until_seq: int | None = None,
        limit: int = 500,
    ) -> list[ChatMessage]:
        """Messages with `after_seq < seq <= until_seq`, oldest first."""
        query = (
            sa.select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .where(messages.c.seq > after_seq)
            .order_by(messages.c.seq)
            .limit(limit)
        )
        if until_seq is not None:
            query = query.where(messages.c.seq <= until_seq)
        return [_message(row) for row in (await self.conn.execute(query)).all()]

    async def messages_before(
        self, conversation_id: int, before_seq: int | None, limit: int
    ) -> list[ChatMessage]:
        """The newest `limit` messages with `seq < before_seq` (any seq if None), oldest first."""
        query = (
            sa.select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.seq.desc())
            .limit(limit)
        )
        if before_seq is not None:
            query = query.where(messages.c.seq < before_seq)
        return [_message(row) for row in reversed((await self.conn.execute(query)).all())]

    async def last_seq(self, conversation_id: int) -> int:
        query = sa.select(conversations.c.last_seq).where(conversations.c.id == conversation_id)
        return int((await self.conn.execute(query)).scalar() or 0)

    async def visitor_language(self, conversation_id: int) -> str | None:
        """The `language` the website passed with the visitor's newest messages, if any."""
        language = await self.visitor_metadata(conversation_id, "language")
        return language[:16] if language else None

    async def visitor_metadata(self, conversation_id: int, key: str) -> str | None:
        """A text the website passed as `key` in the metadata (rasa-webchat's `customData`) of
        the visitor's newest messages (the 20 newest with metadata), stripped; None if none."""
        query = (
            sa.select(messages.c.payload)
            .where(messages.c.conversation_id == conversation_id)
            .where(messages.c.author == Author.VISITOR.value)
            .where(messages.c.payload.isnot(None))
            .order_by(messages.c.seq.desc())
            .limit(20)
        )
        for (payload,) in (await self.conn.execute(query)).all():
            value = ((payload or {}).get("metadata") or {}).get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    # --- live-chat state ---

    async def change_state(
        self,
        conversation_id: int,
        to: ConversationState,
        *,
        allowed_from: tuple[ConversationState, ...],
    ) -> bool:
        """Move the conversation to `to` if it is in one of `allowed_from`; False if it was not.

        One conditional UPDATE: of two processes trying the same change, exactly one wins."""
        result = await self.conn.execute(
            conversations.update()
            .where(conversations.c.id == conversation_id)
            .where(conversations.c.state.in_([s.value for s in allowed_from]))
            .values(state=to.value, updated_at=self.tx.clock())
        )
        return bool(result.rowcount == 1)

    async def state_of_sender(self, sender_id: str) -> ConversationState | None:
        row = (
            await self.conn.execute(
                sa.select(conversations.c.state).where(conversations.c.sender_id == sender_id)
            )
        ).first()
        return ConversationState(row.state) if row else None

    # --- visitor sessions ---

    async def create_session(self, session_key: str, conversation_id: int) -> LiveChatSession:
        """The session row (created now, or by whoever was first)."""
        now = self.tx.clock()
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    livechat_sessions.insert().values(
                        session_key=session_key,
                        conversation_id=conversation_id,
                        delivered_seq=0,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
        except IntegrityError:  # another tab or process created it first
            pass
        session = await self.session(session_key)
        assert session is not None
        return session

    async def session(self, session_key: str) -> LiveChatSession | None:
        row = (
            await self.conn.execute(
                sa.select(livechat_sessions).where(livechat_sessions.c.session_key == session_key)
            )
        ).first()
        return _session(row) if row else None

    async def touch_session(self, session_key: str) -> None:
        """The visitor is back: its idle time starts again."""
        await self.conn.execute(
            livechat_sessions.update()
            .where(livechat_sessions.c.session_key == session_key)
            .values(last_seen_at=self.tx.clock())
        )

    async def mark_delivered(self, delivered: Mapping[str, int]) -> None:
        """Remember that each session's sockets were sent everything up to its `seq` (a cursor
        never goes back). One statement for them all: the cursors of a busy process arrive
        together."""
        if not delivered:
            return
        now = self.tx.clock()
        await self.conn.execute(
            _MARK_DELIVERED,
            [{"key": key, "seq": seq, "now": now} for key, seq in delivered.items()],
        )

    # --- generated secrets ---

    async def secret(self, name: str, generate: Callable[[], str]) -> str:
        """The secret called `name`, generated and stored (encrypted) by the first process that
        asks; one stored in clear before encryption existed is encrypted now."""
        query = sa.select(generated_secrets.c.value).where(generated_secrets.c.name == name)
        row = (await self.conn.execute(query)).first()
        if row:
            stored = str(row.value)
            if not is_encrypted(stored):
                await self.conn.execute(
                    generated_secrets.update()
                    .where(generated_secrets.c.name == name)
                    .where(generated_secrets.c.value == stored)
                    .values(value=self.tx.secrets.encrypt(stored))
                )
            return self.tx.secrets.decrypt(stored)
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    generated_secrets.insert().values(
                        name=name,
                        value=self.tx.secrets.encrypt(generate()),
                        created_at=self.tx.clock(),
                    )
                )
        except IntegrityError:  # another process stored it first: use theirs
            pass
        return self.tx.secrets.decrypt(str((await self.conn.execute(query)).scalar_one()))
