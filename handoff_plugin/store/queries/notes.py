"""Agents' internal notes on a conversation, and the team's canned replies, inside a transaction.

Notes are their own table, not `messages` rows: nothing that reads the transcript for the visitor,
Rasa, Slack or a webhook can come across one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Row

from handoff_plugin.models import AgentRef, CannedReply, InternalNote
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import canned_replies, conversation_notes

n = conversation_notes


def _note(row: Row) -> InternalNote:
    agent = AgentRef(str(row.agent_id) if row.agent_id is not None else "", row.agent_name)
    return InternalNote(row.id, row.conversation_id, agent, row.text, row.created_at)


def _reply(row: Row) -> CannedReply:
    return CannedReply(row.id, row.language, row.shortcut, row.title, row.text, row.updated_at)


class NoteQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    async def add_note(
        self, conversation_id: int, agent_id: int, name: str, text: str
    ) -> InternalNote:
        now = self.tx.clock()
        result = await self.conn.execute(
            n.insert().values(
                conversation_id=conversation_id,
                agent_id=agent_id,
                agent_name=name[:200],
                text=text,
                created_at=now,
            )
        )
        note_id = int(result.inserted_primary_key[0])
        return InternalNote(note_id, conversation_id, AgentRef(str(agent_id), name), text, now)

    async def notes(
        self,
        conversation_id: int,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[InternalNote]:
        """The conversation's notes written in [since, until), oldest first (the newest `limit`)."""
        query = sa.select(n).where(n.c.conversation_id == conversation_id)
        if since is not None:
            query = query.where(n.c.created_at >= since)
        if until is not None:
            query = query.where(n.c.created_at < until)
        query = query.order_by(n.c.created_at.desc(), n.c.id.desc()).limit(limit)
        return [_note(row) for row in reversed((await self.conn.execute(query)).all())]

    # --- canned replies ---

    async def canned_replies(self) -> list[CannedReply]:
        query = sa.select(canned_replies).order_by(
            canned_replies.c.language, canned_replies.c.shortcut
        )
        return [_reply(row) for row in (await self.conn.execute(query)).all()]

    async def canned_reply(self, reply_id: int) -> CannedReply | None:
        query = sa.select(canned_replies).where(canned_replies.c.id == reply_id)
        row = (await self.conn.execute(query)).first()
        return _reply(row) if row else None

    async def canned_reply_by_shortcut(self, language: str, shortcut: str) -> CannedReply | None:
        query = (
            sa.select(canned_replies)
            .where(canned_replies.c.language == language)
            .where(canned_replies.c.shortcut == shortcut)
        )
        row = (await self.conn.execute(query)).first()
        return _reply(row) if row else None

    async def add_canned_reply(
        self, language: str, shortcut: str, title: str, text: str
    ) -> CannedReply:
        now = self.tx.clock()
        result = await self.conn.execute(
            canned_replies.insert().values(
                language=language, shortcut=shortcut, title=title, text=text, updated_at=now
            )
        )
        return CannedReply(
            int(result.inserted_primary_key[0]), language, shortcut, title, text, now
        )

    async def update_canned_reply(
        self, reply_id: int, language: str, shortcut: str, title: str, text: str
    ) -> CannedReply:
        now = self.tx.clock()
        await self.conn.execute(
            canned_replies.update()
            .where(canned_replies.c.id == reply_id)
            .values(language=language, shortcut=shortcut, title=title, text=text, updated_at=now)
        )
        return CannedReply(reply_id, language, shortcut, title, text, now)

    async def delete_canned_reply(self, reply_id: int) -> None:
        await self.conn.execute(canned_replies.delete().where(canned_replies.c.id == reply_id))
