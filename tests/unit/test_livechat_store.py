"""The live-chat schema and queries: numbered messages, conditional state changes, secrets."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from handoff_plugin.models import AgentRef, Author, ConversationState
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.livechat import LiveChatQueries
from handoff_plugin.store.tables import metadata


async def test_the_migrations_create_exactly_the_tables_the_code_declares(store: Store) -> None:
    def differences(sync: Any) -> list[Any]:
        # sqlite_sequence is SQLite's own bookkeeping for AUTOINCREMENT tables; messages_fts* is
        # the search index (an FTS5 table and its shadow tables) that Alembic does not manage,
        # ix_messages_text_trgm its PostgreSQL counterpart (pg_trgm, migration 0006).
        unmanaged = ("sqlite_sequence", "ix_messages_text_trgm")
        options = {
            "include_name": lambda name, *_: (
                not (name in unmanaged or str(name).startswith("messages_fts"))
            )
        }
        return compare_metadata(MigrationContext.configure(sync, opts=options), metadata)

    async with store.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_messages_are_numbered_per_conversation_and_read_back_after_a_seq(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        a = await ConversationQueries(tx).ensure_conversation("a", "livechat")
        b = await ConversationQueries(tx).ensure_conversation("b", "rest")
        q = LiveChatQueries(tx)
        await q.append_message(a, Author.VISITOR, "hi", {"metadata": {"language": "de"}})
        await q.append_message(a, Author.BOT, "Hello!", {"buttons": [{"title": "x"}]})
        await q.append_message(b, Author.VISITOR, "other")
        await q.append_message(a, Author.AGENT, "Ann here", agent=AgentRef("7", "Ann"))

    async with store.transaction() as tx:
        q = LiveChatQueries(tx)
        after_one = await q.messages_after(a.id, 1)
        assert [(m.seq, m.author, m.text) for m in after_one] == [
            (2, Author.BOT, "Hello!"),
            (3, Author.AGENT, "Ann here"),
        ]
        assert after_one[0].payload == {"buttons": [{"title": "x"}]}
        assert after_one[1].agent == AgentRef("7", "Ann")
        assert [m.seq for m in await q.messages_after(a.id, 0, until_seq=2)] == [1, 2]
        assert [m.seq for m in await q.messages_after(b.id, 0)] == [1]
        assert await q.last_seq(a.id) == 3
        assert await q.visitor_language(a.id) == "de"
        conversation = await ConversationQueries(tx).conversation(a.id)
        assert conversation is not None and conversation.last_message == "hi"


async def test_concurrent_writers_never_reuse_a_seq(database_url: str) -> None:
    stores = [await open_store(database_url) for _ in range(3)]
    async with stores[0].transaction() as tx:
        conversation = await ConversationQueries(tx).ensure_conversation("busy", "livechat")

    async def write(store: Store, n: int) -> None:
        for i in range(10):
            async with store.transaction() as tx:
                await LiveChatQueries(tx).append_message(conversation, Author.BOT, f"{n}-{i}")

    await asyncio.gather(*(write(s, n) for n, s in enumerate(stores)))
    async with stores[0].transaction() as tx:
        seqs = [m.seq for m in await LiveChatQueries(tx).messages_after(conversation.id, 0)]
    assert seqs == list(range(1, 31))
    for s in stores:
        await s.close()


async def test_a_state_change_happens_once_and_only_from_the_allowed_states(store: Store) -> None:
    async with store.transaction() as tx:
        conversation = await ConversationQueries(tx).ensure_conversation("s", "livechat")
        q = LiveChatQueries(tx)
        startable = (ConversationState.BOT, ConversationState.ESCALATED)
        assert await q.change_state(conversation.id, ConversationState.LIVE, allowed_from=startable)
        assert not await q.change_state(
            conversation.id, ConversationState.LIVE, allowed_from=startable
        )
        assert await q.state_of_sender("s") is ConversationState.LIVE
        assert await q.state_of_sender("nobody") is None


async def test_a_generated_secret_is_made_once_and_then_shared(store: Store) -> None:
    async with store.transaction() as tx:
        first = await LiveChatQueries(tx).secret("x", lambda: "one")
    async with store.transaction() as tx:
        second = await LiveChatQueries(tx).secret("x", lambda: "two")
    assert first == second == "one"
