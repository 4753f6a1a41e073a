"""Engine set-up, migrations, and the typed queries the services run inside one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from handoff_plugin.errors import ConfigurationError
from handoff_plugin.models import (
    Conversation,
    ConversationState,
    Escalation,
    Trigger,
    Visitor,
    VisitorProfile,
)
from handoff_plugin.store.tables import conversations, escalations, settings_overrides, visitors

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers work while one process writes; wait for a lock, don't fail.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # Let SQLAlchemy, not the driver, begin transactions (SAVEPOINT works then).
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front: read-then-write transactions from several
            # processes then queue on busy_timeout instead of failing with "database is locked".
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_pre_ping=True)


class Store:
    """The database of one process. Services open a `transaction()` and call typed queries."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration (safe to call on every start)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))

    async def schema_is_current(self) -> bool:
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()

        def current(sync: Connection) -> str | None:
            return MigrationContext.configure(sync).get_current_revision()

        async with self.engine.connect() as conn:
            return await conn.run_sync(current) == head

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTransaction]:
        async with self.engine.begin() as conn:
            tx = StoreTransaction(conn, self.clock)
            yield tx
        for callback in tx.committed_callbacks:
            callback()


async def open_store(url: str, *, clock: Clock = utc_now, upgrade: bool = True) -> Store:
    try:
        store = Store(create_engine(url), clock)
    except Exception as exc:  # bad driver or malformed URL: say which setting
        raise ConfigurationError(f"handoff: cannot use database.url = {url!r}: {exc}") from exc
    if upgrade:
        await store.upgrade()
    return store


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
    )


class StoreTransaction:
    """Queries that run inside one database transaction (committed when the block exits)."""

    def __init__(self, conn: AsyncConnection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self.committed_callbacks: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (not if it rolls back)."""
        self.committed_callbacks.append(callback)

    async def conversation_by_sender(self, sender_id: str) -> Conversation | None:
        row = (
            await self.conn.execute(
                sa.select(conversations).where(conversations.c.sender_id == sender_id)
            )
        ).first()
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

    async def saved_settings(self) -> dict[str, Any]:
        row = (
            await self.conn.execute(
                sa.select(settings_overrides.c.data).where(settings_overrides.c.id == 1)
            )
        ).first()
        return dict(row.data) if row else {}

    async def save_settings(self, data: dict[str, Any]) -> None:
        values = {"data": data, "updated_at": self.clock()}
        updated = await self.conn.execute(
            settings_overrides.update().where(settings_overrides.c.id == 1).values(**values)
        )
        if updated.rowcount == 0:
            await self.conn.execute(settings_overrides.insert().values(id=1, **values))
