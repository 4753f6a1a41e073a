"""Typed queries of claiming: who handles a conversation, and the one conditional write that
decides who gets it when two agents reply at the same moment.

They run inside a `Store.transaction()`; `AssignmentQueries(tx)` wraps that transaction.
"""

from __future__ import annotations

import sqlalchemy as sa

from handoff_plugin.models import Assignee, Assignment
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import agents, conversations, inbox_events

c = conversations


class AssignmentQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    async def assignee(self, conversation_id: int) -> Assignee | None:
        query = (
            sa.select(agents.c.id, agents.c.name, agents.c.email)
            .join(c, c.c.assignee_id == agents.c.id)
            .where(c.c.id == conversation_id)
        )
        row = (await self.conn.execute(query)).first()
        return Assignee(row.id, row.name, row.email) if row else None

    async def claim_if_free(self, conversation_id: int, agent_id: int) -> bool:
        """Make `agent_id` the assignee unless another agent is; True if it is now theirs.

        One conditional UPDATE: on SQLite the write lock orders two claims, on PostgreSQL the
        second waits for the first's row lock and then re-checks the condition, so of any number
        of agents claiming at once exactly one wins."""
        result = await self.conn.execute(
            c.update()
            .where(c.c.id == conversation_id)
            .where(sa.or_(c.c.assignee_id.is_(None), c.c.assignee_id == agent_id))
            .values(assignee_id=agent_id, assigned_at=self.tx.clock())
        )
        return bool(result.rowcount)

    async def assign(self, conversation_id: int, agent_id: int | None, *, held_by: object) -> bool:
        """Set the assignee if it is still `held_by` (an agent id, or None: nobody); False if it
        changed meanwhile (someone else claimed, released or transferred first)."""
        holder = c.c.assignee_id.is_(None) if held_by is None else c.c.assignee_id == held_by
        result = await self.conn.execute(
            c.update()
            .where(c.c.id == conversation_id)
            .where(holder)
            .values(
                assignee_id=agent_id, assigned_at=self.tx.clock() if agent_id is not None else None
            )
        )
        return bool(result.rowcount)

    async def latest(self, conversation_id: int) -> Assignment | None:
        """The newest change of who handles the conversation (the inbox's banner shows it)."""
        query = (
            sa.select(inbox_events.c.detail, inbox_events.c.created_at)
            .where(inbox_events.c.conversation_id == conversation_id)
            .where(inbox_events.c.kind == "assignment.changed")
            .order_by(inbox_events.c.id.desc())
            .limit(1)
        )
        row = (await self.conn.execute(query)).first()
        if row is None or not row.detail:
            return None
        return Assignment.from_detail(conversation_id, row.detail, row.created_at)
