"""Typed queries of inbox agents: accounts, server-side sessions, failed-login counters.

They run inside a `Store.transaction()`; `AgentQueries(tx)` wraps that transaction.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from handoff_plugin.models import Agent, AgentSession, Role
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import (
    agent_sessions,
    agents,
    conversation_reads,
    conversations,
    login_throttle,
    slack_users,
)


def _agent(row: Row) -> Agent:
    return Agent(
        id=row.id,
        email=row.email,
        name=row.name,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        role=row.role,
        avatar_url=row.avatar_url,
    )


class AgentQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    # --- accounts ---

    async def add(
        self, email: str, name: str, password_hash: str, role: Role = "agent"
    ) -> Agent | None:
        """The new agent, or None if one with this email exists."""
        now = self.tx.clock()
        try:
            async with self.conn.begin_nested():
                result = await self.conn.execute(
                    agents.insert().values(
                        email=email,
                        name=name,
                        password_hash=password_hash,
                        role=role,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return None
        return await self.by_id(int(result.inserted_primary_key[0]))

    async def by_id(self, agent_id: int) -> Agent | None:
        row = (await self.conn.execute(sa.select(agents).where(agents.c.id == agent_id))).first()
        return _agent(row) if row else None

    async def by_email(self, email: str) -> Agent | None:
        found = await self.with_hash(email.strip().lower())
        return found[0] if found else None

    async def with_hash(self, email: str) -> tuple[Agent, str] | None:
        row = (await self.conn.execute(sa.select(agents).where(agents.c.email == email))).first()
        return (_agent(row), str(row.password_hash)) if row else None

    async def all(self) -> list[Agent]:
        rows = (await self.conn.execute(sa.select(agents).order_by(agents.c.email))).all()
        return [_agent(row) for row in rows]

    async def admin_ids(self) -> list[int]:
        """The admins' ids, locked until commit (PostgreSQL): two removals at once cannot both
        see another admin left."""
        query = sa.select(agents.c.id).where(agents.c.role == "admin").with_for_update()
        return [int(row.id) for row in (await self.conn.execute(query)).all()]

    async def remove(self, agent_id: int) -> None:
        await self.conn.execute(
            agent_sessions.delete().where(agent_sessions.c.agent_id == agent_id)
        )
        await self.conn.execute(
            conversation_reads.delete().where(conversation_reads.c.agent_id == agent_id)
        )
        await self.conn.execute(  # back to the queue: nobody may be left "handling" a chat
            conversations.update()
            .where(conversations.c.assignee_id == agent_id)
            .values(assignee_id=None, assigned_at=None)
        )
        # Their Slack user no longer answers as anyone.
        await self.conn.execute(slack_users.delete().where(slack_users.c.agent_id == agent_id))
        await self.conn.execute(agents.delete().where(agents.c.id == agent_id))

    async def set_password_hash(self, agent_id: int, password_hash: str) -> None:
        await self.conn.execute(
            agents.update()
            .where(agents.c.id == agent_id)
            .values(password_hash=password_hash, updated_at=self.tx.clock())
        )

    async def set_avatar(self, agent_id: int, avatar_url: str | None) -> None:
        await self.conn.execute(
            agents.update()
            .where(agents.c.id == agent_id)
            .values(avatar_url=avatar_url, updated_at=self.tx.clock())
        )

    async def logged_in(self, agent_id: int) -> None:
        await self.conn.execute(
            agents.update().where(agents.c.id == agent_id).values(last_login_at=self.tx.clock())
        )

    # --- sessions ---

    async def create_session(
        self, token_hash: str, agent_id: int, csrf_token: str, expires_at: datetime
    ) -> None:
        now = self.tx.clock()
        await self.conn.execute(
            agent_sessions.insert().values(
                token_hash=token_hash,
                agent_id=agent_id,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )

    async def session(self, token_hash: str) -> AgentSession | None:
        query = (
            sa.select(
                agents,
                agent_sessions.c.csrf_token,
                agent_sessions.c.last_seen_at.label("session_seen_at"),
                agent_sessions.c.expires_at,
                agent_sessions.c.created_at.label("session_started_at"),
            )
            .join(agents, agents.c.id == agent_sessions.c.agent_id)
            .where(agent_sessions.c.token_hash == token_hash)
        )
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        return AgentSession(
            _agent(row), row.csrf_token, row.session_seen_at, row.expires_at, row.session_started_at
        )

    async def touch_session(self, token_hash: str, expires_at: datetime) -> None:
        await self.conn.execute(
            agent_sessions.update()
            .where(agent_sessions.c.token_hash == token_hash)
            .values(last_seen_at=self.tx.clock(), expires_at=expires_at)
        )

    async def delete_session(self, token_hash: str) -> None:
        await self.conn.execute(
            agent_sessions.delete().where(agent_sessions.c.token_hash == token_hash)
        )

    async def delete_sessions_of(self, agent_id: int) -> int:
        result = await self.conn.execute(
            agent_sessions.delete().where(agent_sessions.c.agent_id == agent_id)
        )
        return int(result.rowcount or 0)

    async def delete_expired_sessions(self) -> int:
        result = await self.conn.execute(
            agent_sessions.delete().where(agent_sessions.c.expires_at < self.tx.clock())
        )
        return int(result.rowcount or 0)

    # --- failed logins ---

    async def throttle(self, key: str) -> Row | None:
        """The key's counter, locked until commit (PostgreSQL) so concurrent failures all count."""
        query = sa.select(login_throttle).where(login_throttle.c.key == key).with_for_update()
        return (await self.conn.execute(query)).first()

    async def locked_throttle(self, key: str, now: datetime) -> Row:
        """The key's counter, created (at zero) if missing, and locked until commit: two
        concurrent first attempts cannot both start from nothing (the second insert waits for
        the first to commit, fails, and then reads and locks the committed row)."""
        row = await self.throttle(key)
        if row is not None:
            return row
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    login_throttle.insert().values(
                        key=key, failures=0, window_started_at=now, blocked_until=None
                    )
                )
        except IntegrityError:
            pass
        row = await self.throttle(key)
        assert row is not None
        return row

    async def save_throttle(
        self, key: str, failures: int, window_started_at: datetime, blocked_until: datetime | None
    ) -> None:
        values = {
            "failures": failures,
            "window_started_at": window_started_at,
            "blocked_until": blocked_until,
        }
        update = login_throttle.update().where(login_throttle.c.key == key).values(**values)
        if (await self.conn.execute(update)).rowcount:
            return
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(login_throttle.insert().values(key=key, **values))
        except IntegrityError:  # another process counted its first failure just now
            await self.conn.execute(update)

    async def clear_throttle(self, key: str) -> None:
        await self.conn.execute(login_throttle.delete().where(login_throttle.c.key == key))
