"""The engine, migrations and transactions; the typed queries are in `store.queries`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

from handoff_plugin.clock import Clock, utc_now
from handoff_plugin.config.settings import mask_url_password
from handoff_plugin.errors import ConfigurationError, DatabaseUnavailable
from handoff_plugin.store.secret_box import SecretBox, secret_box

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's write lock
READ_ONLY = "handoff_read_only"  # execution option of `Store.read()` connections
_writing: ContextVar[Store | None] = ContextVar("handoff_store_writing", default=None)
T = TypeVar("T")


def _alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _private_database_file(path: Path) -> None:
    """Only the owner may read the database: its directory is made 0700 and the file exists
    0600 before SQLite opens it (SQLite gives its -wal and -shm files the database's mode)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)  # made before this rule (or by another umask): private from now on


def _is_file(path: str) -> bool:
    return bool(path) and path != ":memory:" and not path.startswith("file::memory:")


def _sqlite_events(engine: sa.engine.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers work while one process writes; wait for a lock, don't fail.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # Let SQLAlchemy, not the driver, begin transactions (SAVEPOINT works then).
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")  # a snapshot; WAL readers never wait for writers
            return
        # Take the write lock up front: read-then-write transactions from several
        # processes then queue on busy_timeout instead of failing with "database is locked".
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# At most this many units share one write transaction: a batch holds the write lock (other
# processes wait) and its first unit's caller waits for the last unit to finish.
BATCH_LIMIT = 64
_SAVEPOINT = "SAVEPOINT handoff_unit"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT handoff_unit"
_RELEASE_SAVEPOINT = "RELEASE SAVEPOINT handoff_unit"
READER_THREADS = 2  # read-only units at once (WAL readers never wait for each other)


def _thread_engine(engine: AsyncEngine, connections: int) -> sa.engine.Engine | None:
    """For an SQLite file: a plain (synchronous) engine on it, for `Store.run()`'s threads."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or not _is_file(database):
        return None
    synchronous = sa.create_engine(
        engine.url.set(drivername="sqlite"),
        # One connection per thread, used on those threads, closed there by Store.close().
        poolclass=QueuePool,
        pool_size=connections,
        max_overflow=0,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        future=True,
    )
    _sqlite_events(synchronous)
    return synchronous


class _Unsuspended:
    """A synchronous connection behind the interface the queries await (`execute`,
    `begin_nested`, `dialect`). Nothing awaited really suspends, so a unit of work written
    with the same queries runs to its end in one call (see `_to_the_end`)."""

    def __init__(self, conn: Connection) -> None:
        self.sync = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self.sync.execute(statement, *args, **kwargs)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        with self.sync.begin_nested():
            yield


def _to_the_end(work: Coroutine[Any, Any, T]) -> T:
    try:
        work.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    work.close()
    raise RuntimeError("Store.run(): the unit of work awaited something other than its queries")


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            _private_database_file(Path(path).expanduser())
        # A file database keeps its connections (SQLAlchemy 1.4 would open one per transaction,
        # and the last one closed checkpoints the WAL: ~4 ms per transaction). Their aiosqlite
        # threads keep the process alive until `Store.close()`: servers close it when stopping.
        pool: dict[str, Any] = {"poolclass": AsyncAdaptedQueuePool} if _is_file(path) else {}
        engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **pool)

        _sqlite_events(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


class Store:
    """The database of one process. Services open a `transaction()` (or a `read()`) and call
    typed queries."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock = utc_now, secrets: SecretBox | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        # Encrypts the secrets queries keep (saved settings, generated keys).
        self.secrets = secrets or SecretBox([], missing_reason="this store was opened without one")
        self._reader = engine.execution_options(**{READ_ONLY: True})  # same pool
        # SQLite: one writer at a time per process, queued here rather than in SQLite's busy
        # handler. A connection waiting there holds its mutex, and the garbage collector,
        # finalizing one of its cursors on the event loop's thread, then blocks the loop, so
        # the transaction it waits for can never commit (a stall until busy_timeout, then
        # "database is locked"). Other processes still queue on busy_timeout: their loops run.
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._writer_engine = _thread_engine(engine, 1)
        self._reader_engine = _thread_engine(engine, READER_THREADS)
        self._writer = self._readers = None
        if self._writer_engine is not None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="handoff-store-writer")
            self._readers = ThreadPoolExecutor(
                READER_THREADS, thread_name_prefix="handoff-store-reader"
            )
        self._queued: list[tuple[Callable[[StoreTransaction], Awaitable[Any]], asyncio.Future[Any]]]
        self._queued = []
        self._draining: asyncio.Task[None] | None = None
        self._closed = False

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

    @property
    def closed(self) -> bool:
        """The server is stopping: this store answers nothing more."""
        return self._closed

    def _check_open(self) -> None:
        # After close() the pools would open fresh connections: aiosqlite's are non-daemon
        # threads nobody closes, and the process could then never exit.
        if self._closed:
            raise DatabaseUnavailable("the store is closed (the server is stopping)")

    async def close(self) -> None:
        self._closed = True
        await self.engine.dispose()
        loop = asyncio.get_running_loop()
        # Closing twice is fine (servers, then tests).
        writer, readers, self._writer, self._readers = self._writer, self._readers, None, None
        if writer is not None and self._writer_engine is not None:
            await loop.run_in_executor(writer, self._writer_engine.dispose)
            writer.shutdown(wait=True)
        if readers is not None and self._reader_engine is not None:
            readers.shutdown(wait=True)  # the pending reads first; disposing closes the rest
            self._reader_engine.dispose()

    async def run(
        self, work: Callable[[StoreTransaction], Awaitable[T]], *, read_only: bool = False
    ) -> T:
        """`work(tx)` in a write transaction of its own, committed when this returns. `work`
        may await only the queries it runs in `tx`.

        On an SQLite file, the units of work waiting at one moment run together on the store's
        writer thread, in one transaction with a SAVEPOINT each (see `_run_on_writer`), in one
        trip from the event loop. With one
        trip per statement, every statement of a transaction waited a full loop cycle of other
        visitors' turns while holding the write lock, which capped a process at about half the
        stock channel's turns per second. Elsewhere it is `transaction()`.

        `read_only`: a snapshot that writes nothing, like `read()`; on an SQLite file it runs
        on one of the reader threads in one trip (many reads at once queued for the async
        pool's few connections, each statement another loop cycle)."""
        self._check_open()
        if read_only:
            return await self._read_run(work)
        if self._writer is None:
            async with self.transaction() as tx:
                return await work(tx)
        if _writing.get() is self:
            raise RuntimeError("a store transaction was opened inside another one")
        done: asyncio.Future[tuple[Any, StoreTransaction]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queued.append((work, done))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        result, tx = await done
        for callback in tx.committed_callbacks:
            callback()
        return cast(T, result)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queued:
            batch, self._queued = self._queued[:BATCH_LIMIT], self._queued[BATCH_LIMIT:]
            assert self._write_lock is not None
            async with self._write_lock:
                outcomes = await loop.run_in_executor(
                    self._writer, self._run_on_writer, [work for work, _ in batch]
                )
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                if done.done():  # its caller was cancelled: the work is committed regardless
                    continue
                if isinstance(outcome, BaseException):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)

    def _run_on_writer(
        self, works: list[Callable[[StoreTransaction], Awaitable[Any]]]
    ) -> list[tuple[Any, StoreTransaction] | BaseException]:
        """The units waiting together share one transaction, each in a SAVEPOINT of its own:
        one that fails rolls back alone, and the batch pays for one BEGIN IMMEDIATE and one
        COMMIT. The commit's fsync is most of a small unit's cost (0.3-4 ms here, more when
        the disk is busy), so under load this is what lets many relays and turns share it.
        Nobody hears "committed" before the COMMIT: when it fails, every unit fails."""
        assert self._writer_engine is not None
        outcomes: list[tuple[Any, StoreTransaction] | BaseException] = []
        try:
            conn = self._writer_engine.connect()
        except sa.exc.DBAPIError as exc:
            log.warning("handoff.store.unavailable", error=type(exc).__name__)
            unavailable = DatabaseUnavailable("the database is unavailable; retry in a moment")
            unavailable.__cause__ = exc
            return [unavailable for _ in works]
        with conn:
            batch = conn.begin()
            # The savepoints go straight to the driver: SQLAlchemy's begin_nested() was a fifth
            # of the Python this thread ran per turn, holding the GIL the event loop waits for.
            # A unit's own begin_nested() nests inside; SQLAlchemy needs to know of neither.
            driver = conn.connection.dbapi_connection
            assert driver is not None
            for work in works:
                driver.execute(_SAVEPOINT)
                try:
                    # The queries take an AsyncConnection; _Unsuspended answers the same.
                    unsuspended = cast(AsyncConnection, _Unsuspended(conn))
                    tx = StoreTransaction(unsuspended, self.clock, self.secrets)
                    result = _to_the_end(cast(Coroutine[Any, Any, Any], work(tx)))
                except Exception as exc:  # handed to its caller; the others go on
                    driver.execute(_ROLLBACK_TO_SAVEPOINT)
                    outcomes.append(exc)
                else:
                    outcomes.append((result, tx))
                driver.execute(_RELEASE_SAVEPOINT)
            try:
                batch.commit()
            except Exception as exc:  # nothing of the batch is stored
                return [exc for _ in works]
        return outcomes

    async def _read_run(self, work: Callable[[StoreTransaction], Awaitable[T]]) -> T:
        if self._readers is None:
            async with self.read() as tx:
                return await work(tx)
        assert self._reader_engine is not None
        loop = asyncio.get_running_loop()
        result, _ = await loop.run_in_executor(self._readers, self._run_one, work, True)
        return cast(T, result)

    def _run_one(
        self, work: Callable[[StoreTransaction], Awaitable[Any]], read_only: bool = False
    ) -> tuple[Any, StoreTransaction]:
        engine = self._reader_engine if read_only else self._writer_engine
        assert engine is not None
        try:
            conn = engine.connect()
            if read_only:
                conn = conn.execution_options(**{READ_ONLY: True})
        except sa.exc.DBAPIError as exc:
            log.warning("handoff.store.unavailable", error=type(exc).__name__)
            raise DatabaseUnavailable("the database is unavailable; retry in a moment") from exc
        with conn, conn.begin():
            # The queries take an AsyncConnection; _Unsuspended answers the same calls.
            unsuspended = cast(AsyncConnection, _Unsuspended(conn))
            tx = StoreTransaction(unsuspended, self.clock, self.secrets)
            return _to_the_end(cast(Coroutine[Any, Any, Any], work(tx))), tx

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTransaction]:
        if _writing.get() is self:  # on SQLite it would wait for itself; on any backend a bug
            raise RuntimeError("a store transaction was opened inside another one")
        self._check_open()
        async with self._write_lock or nullcontext():
            token = _writing.set(self)
            try:
                async with self._begin(self.engine) as tx:
                    yield tx
            finally:
                _writing.reset(token)
        for callback in tx.committed_callbacks:
            callback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[StoreTransaction]:
        """A transaction that only reads: on SQLite it takes no write lock, so it never waits
        for (or holds up) a writer. Writing in it may fail with "database is locked": use
        `transaction()` for anything that writes."""
        self._check_open()
        async with self._begin(self._reader) as tx:
            yield tx

    @asynccontextmanager
    async def _begin(self, engine: AsyncEngine) -> AsyncIterator[StoreTransaction]:
        conn = engine.connect()
        try:
            await conn.start()
        except (OSError, sa.exc.DBAPIError) as exc:
            # No connection, so nothing began: callers answer "retry" (the inbox: 503), not 500.
            log.warning("handoff.store.unavailable", error=type(exc).__name__)
            raise DatabaseUnavailable("the database is unavailable; retry in a moment") from exc
        try:
            async with conn.begin():
                yield StoreTransaction(conn, self.clock, self.secrets)
        finally:
            await conn.close()


async def open_store(
    url: str, *, clock: Clock = utc_now, upgrade: bool = True, secret_key: str = ""
) -> Store:
    """The store at `url`; `secret_key` is `security.secret_key` (see store/secret_box.py)."""
    try:
        engine = create_engine(url)
    except Exception as exc:  # bad driver or malformed URL: say which setting
        shown = mask_url_password(url)
        reason = str(exc).replace(url, shown)
        raise ConfigurationError(
            f"handoff: cannot use database.url = {shown!r}: {reason}"
        ) from None
    store = Store(engine, clock, secret_box(url, secret_key))
    if upgrade:
        await store.upgrade()
    return store


class StoreTransaction:
    """One database transaction (committed when the block exits); `XQueries(tx)` run in it."""

    def __init__(self, conn: AsyncConnection, clock: Clock, secrets: SecretBox) -> None:
        self.conn = conn
        self.clock = clock
        self.secrets = secrets
        self.committed_callbacks: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (not if it rolls back)."""
        self.committed_callbacks.append(callback)
