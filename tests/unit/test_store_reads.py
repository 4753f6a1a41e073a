"""Reads that take no write lock, and saved settings reused for about a second per message."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import pytest
import sqlalchemy as sa

from handoff_plugin.store import Store, engine, open_store
from handoff_plugin.store.queries.settings import SettingsQueries
from handoff_plugin.store.saved_settings import StoredSettings


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_read_goes_ahead_while_another_process_is_writing(
    store: Store, database_url: str
) -> None:
    other = await open_store(database_url, upgrade=False)  # another process's connections
    try:
        async with other.transaction() as writing:  # holds the write lock until the block ends
            await SettingsQueries(writing).save_settings({"chatbot": {"name": "Shop"}})
            async with store.read() as tx:  # would wait 30 s for the lock if it took it
                assert await asyncio.wait_for(SettingsQueries(tx).saved_settings(), 10) == {}
        async with store.read() as tx:
            assert await SettingsQueries(tx).saved_settings() == {"chatbot": {"name": "Shop"}}
    finally:
        await other.close()


async def test_a_change_saved_elsewhere_reaches_the_per_message_checks_within_a_second(
    store: Store, database_url: str
) -> None:
    base = [{"database": {"url": database_url}}]
    monotonic = FakeMonotonic()
    here = StoredSettings(store, base, max_age=1.0, monotonic=monotonic)
    elsewhere = StoredSettings(store, base)
    assert (await here.recent()).livechat.max_message_length == 2000
    await elsewhere.save({"livechat": {"max_message_length": 50}})

    monotonic.now += 0.5
    assert (await here.recent()).livechat.max_message_length == 2000  # reused, not re-read
    assert (await here.current()).livechat.max_message_length == 50  # operations read fresh
    await elsewhere.save({"livechat": {"max_message_length": 60}})
    monotonic.now += 1.0
    assert (await here.recent()).livechat.max_message_length == 60


async def test_a_change_saved_in_this_process_applies_at_once(
    store: Store, database_url: str
) -> None:
    here = StoredSettings(store, [{"database": {"url": database_url}}], monotonic=FakeMonotonic())
    await here.recent()
    await here.save({"livechat": {"max_message_length": 50}})
    assert (await here.recent()).livechat.max_message_length == 50


async def test_writers_of_one_process_take_turns_without_stalling_the_event_loop(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by the inbox fuzzer: a connection waiting in SQLite's busy handler holds its mutex;
    # the garbage collector, finalizing one of its cursors on the loop's thread (one a failed
    # statement left behind), blocked the loop, so the writer it waited for never committed.
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 2000)  # a stall fails in 2 s, not 30
    store = await open_store(database_url)
    finished: list[int] = []

    async def writer(n: int) -> None:
        async with store.transaction() as tx:
            with contextlib.suppress(sa.exc.OperationalError):  # leaves an unclosed cursor
                await tx.conn.execute(sa.text("SELECT * FROM no_such_table"))
            await SettingsQueries(tx).save_settings({"chatbot": {"name": f"Shop {n}"}})
            await asyncio.sleep(0)  # the others start their transactions meanwhile
            if n % 5 == 0:  # a full collection finds the cursor (about a second in this process)
                gc.collect()
        finished.append(n)

    try:
        await asyncio.gather(*(writer(n) for n in range(40)))  # a stall: "database is locked"
        async with store.read() as tx:
            saved = await SettingsQueries(tx).saved_settings()
    finally:
        await store.close()

    assert sorted(finished) == list(range(40))
    assert saved["chatbot"]["name"] == f"Shop {finished[-1]}"


async def test_a_transaction_opened_inside_another_is_refused_not_left_waiting(
    store: Store,
) -> None:
    async with store.transaction():
        with pytest.raises(RuntimeError, match="inside another"):
            async with store.transaction():
                pass
