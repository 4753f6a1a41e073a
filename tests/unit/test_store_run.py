"""`Store.run()`: a unit of work in a transaction of its own. On an SQLite file the units waiting
at one moment go to the writer thread together; each still commits or rolls back alone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from handoff_plugin.errors import DatabaseUnavailable
from handoff_plugin.models import Author, ChatMessage, Conversation
from handoff_plugin.store import Store, StoreTransaction, open_store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.livechat import LiveChatQueries


def visitor_says(sender_id: str, text: str) -> Any:
    async def work(tx: StoreTransaction) -> tuple[Conversation, ChatMessage]:
        conversation = await ConversationQueries(tx).ensure_conversation(sender_id, "livechat")
        message = await LiveChatQueries(tx).append_message(conversation, Author.VISITOR, text)
        return conversation, message

    return work


async def texts_of(store: Store, sender_id: str) -> list[str | None]:
    async with store.read() as tx:
        conversation = await ConversationQueries(tx).conversation_by_sender(sender_id)
        assert conversation is not None
        return [m.text for m in await LiveChatQueries(tx).messages_after(conversation.id, 0)]


async def test_units_of_work_at_once_all_commit_each_numbered_once(store: Store) -> None:
    results = await asyncio.gather(
        *(store.run(visitor_says("ann", f"message {n}")) for n in range(30))
    )
    assert sorted(message.seq for _, message in results) == list(range(1, 31))
    assert len({conversation.id for conversation, _ in results}) == 1
    assert sorted(await texts_of(store, "ann")) == sorted(f"message {n}" for n in range(30))


async def test_a_failing_unit_rolls_back_alone_and_its_caller_gets_the_error(store: Store) -> None:
    async def fails(tx: StoreTransaction) -> None:
        await visitor_says("bob", "never kept")(tx)
        raise ValueError("refused after writing")

    outcomes = await asyncio.gather(
        store.run(visitor_says("bob", "first")),
        store.run(fails),
        store.run(visitor_says("bob", "second")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "refused after writing"
    # Only the failed unit is gone; concurrent units commit in any order on PostgreSQL.
    assert sorted(await texts_of(store, "bob")) == ["first", "second"]


async def test_a_unit_that_rolls_back_a_savepoint_of_its_own_keeps_the_rest_of_its_work(
    store: Store,
) -> None:
    async def recovers(tx: StoreTransaction) -> None:
        await visitor_says("dee", "kept")(tx)
        try:
            async with tx.conn.begin_nested():
                await visitor_says("dee", "undone")(tx)
                raise ValueError("inner")
        except ValueError:
            pass
        await visitor_says("dee", "kept too")(tx)

    async def fails(tx: StoreTransaction) -> None:
        await visitor_says("dee", "never kept")(tx)
        raise ValueError("outer")

    outcomes = await asyncio.gather(
        store.run(recovers),
        store.run(fails),
        store.run(visitor_says("dee", "other")),
        return_exceptions=True,
    )
    assert outcomes[0] is None
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "outer"
    assert sorted(await texts_of(store, "dee")) == ["kept", "kept too", "other"]


async def test_after_commit_callbacks_run_once_committed_and_not_after_a_rollback(
    store: Store,
) -> None:
    called: list[str] = []

    async def commits(tx: StoreTransaction) -> None:
        await visitor_says("cy", "hello")(tx)
        tx.after_commit(lambda: called.append("committed"))

    async def rolls_back(tx: StoreTransaction) -> None:
        tx.after_commit(lambda: called.append("rolled back"))
        raise LookupError("no")

    await store.run(commits)
    with pytest.raises(LookupError):
        await store.run(rolls_back)
    assert called == ["committed"]


async def test_two_processes_creating_one_conversation_at_once_agree_on_it(
    store: Store, database_url: str
) -> None:
    other = await open_store(database_url, upgrade=False)  # another process, the same database
    try:
        here, there = await asyncio.gather(
            store.run(visitor_says("dee", "from here")),
            other.run(visitor_says("dee", "from there")),
        )
    finally:
        await other.close()
    assert here[0].id == there[0].id
    assert sorted(await texts_of(store, "dee")) == ["from here", "from there"]


async def test_on_sqlite_waiting_units_share_a_trip_to_the_writer_thread(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/handoff.db")
    trips: list[int] = []
    run_on_writer = store._run_on_writer

    def counted(works: list[Any]) -> list[Any]:
        trips.append(len(works))
        return run_on_writer(works)

    store._run_on_writer = counted  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(store.run(visitor_says(f"v{n}", "hi")) for n in range(40)))
    finally:
        await store.close()
    assert sum(trips) == 40
    assert len(trips) < 40  # at least one trip carried several units of work


async def test_on_sqlite_units_waiting_together_share_one_commit(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/handoff.db")
    commits: list[int] = []
    assert store._writer_engine is not None
    sa.event.listen(store._writer_engine, "commit", lambda _conn: commits.append(1))
    try:
        await asyncio.gather(*(store.run(visitor_says(f"w{n}", "hi")) for n in range(40)))
        assert [await texts_of(store, f"w{n}") for n in range(40)] == [["hi"]] * 40
    finally:
        await store.close()
    assert 1 <= len(commits) < 40


async def test_on_sqlite_when_a_batchs_commit_fails_every_unit_in_it_fails_and_none_is_stored(
    tmp_path: Path,
) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/handoff.db")
    trips: list[int] = []
    run_on_writer = store._run_on_writer

    def counted(works: list[Any]) -> list[Any]:
        trips.append(len(works))
        return run_on_writer(works)

    store._run_on_writer = counted  # type: ignore[method-assign]

    async def breaks_the_commit(tx: StoreTransaction) -> None:
        # A foreign key checked only at COMMIT: the batch's commit itself fails.
        await tx.conn.execute(sa.text("PRAGMA defer_foreign_keys=ON"))
        await tx.conn.execute(
            sa.text(
                "INSERT INTO escalations (conversation_id, visitor_id, trigger, message, "
                "created_at) VALUES (999, 999, 'intent', 'x', '2026-01-01 00:00:00')"
            )
        )

    gate = asyncio.Event()

    async def after_gate(work: Any) -> Any:
        await gate.wait()
        return await store.run(work)

    try:
        await store.run(visitor_says("before", "kept"))  # the store writes at all
        works = [visitor_says(f"x{n}", "lost") for n in range(5)] + [breaks_the_commit]
        pending = asyncio.gather(*map(after_gate, works), return_exceptions=True)
        await asyncio.sleep(0)  # every unit waits at the gate, then all queue at once
        gate.set()
        outcomes = await pending
        assert trips == [1, 6]  # the five visitors' units shared the failing unit's batch
        assert all("FOREIGN KEY" in str(outcome) for outcome in outcomes), outcomes
        assert await texts_of(store, "before") == ["kept"]
        async with store.read() as tx:
            lost = await tx.conn.execute(sa.text("SELECT count(*) FROM messages WHERE text='lost'"))
            assert lost.scalar_one() == 0
    finally:
        await store.close()


async def test_on_sqlite_a_unit_that_awaits_anything_but_its_queries_is_refused(
    tmp_path: Path,
) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/handoff.db")

    async def waits(tx: StoreTransaction) -> None:
        await visitor_says("eve", "kept?")(tx)
        await asyncio.sleep(0)  # not a query: it would run on the writer thread, off the loop

    try:
        with pytest.raises(RuntimeError, match="awaited something other than its queries"):
            await store.run(waits)
        async with store.read() as tx:  # and nothing of it was kept
            assert await ConversationQueries(tx).conversation_by_sender("eve") is None
    finally:
        await store.close()


async def test_a_unit_of_work_inside_a_transaction_is_refused_not_left_waiting(
    store: Store,
) -> None:
    async with store.transaction():
        with pytest.raises(RuntimeError, match="inside another one"):
            await asyncio.wait_for(store.run(visitor_says("fay", "nested")), 10)


async def test_a_store_closed_twice_stays_closed_quietly(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/handoff.db")
    await store.run(visitor_says("gil", "hello"))
    await store.close()
    await store.close()  # the server's stop, then its owner's: no error


async def test_a_read_only_unit_sees_what_committed_and_runs_while_a_writer_holds_the_lock(
    store: Store,
) -> None:
    await store.run(visitor_says("hal", "before"))

    async def texts(tx: StoreTransaction) -> list[str | None]:
        conversation = await ConversationQueries(tx).conversation_by_sender("hal")
        assert conversation is not None
        return [m.text for m in await LiveChatQueries(tx).messages_after(conversation.id, 0)]

    async with store.transaction() as tx:  # a write in progress: readers do not wait for it
        await visitor_says("hal", "uncommitted")(tx)
        seen = await asyncio.wait_for(store.run(texts, read_only=True), 10)
    assert seen == ["before"]
    assert await store.run(texts, read_only=True) == ["before", "uncommitted"]


async def test_on_sqlite_a_read_only_unit_that_awaits_anything_else_is_refused(
    tmp_path: Path,
) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/handoff.db")

    async def waits(tx: StoreTransaction) -> None:
        await ConversationQueries(tx).conversation_by_sender("ida")
        await asyncio.sleep(0)

    try:
        with pytest.raises(RuntimeError, match="awaited something other than its queries"):
            await store.run(waits, read_only=True)
    finally:
        await store.close()
    with pytest.raises(DatabaseUnavailable, match="closed"):
        await store.run(waits, read_only=True)
