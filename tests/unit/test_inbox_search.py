"""The inbox search finds a message by any part of its text, on SQLite and PostgreSQL alike; on
PostgreSQL it reads the pg_trgm index of migration 0006 instead of scanning every message."""

from __future__ import annotations

import pytest

from handoff_plugin.models import Author, VisitorProfile
from handoff_plugin.store import Store
from handoff_plugin.store.queries import inbox
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.inbox import InboxQueries, list_query
from handoff_plugin.store.queries.livechat import LiveChatQueries


async def test_search_finds_conversations_by_a_piece_of_a_message(store: Store) -> None:
    async with store.transaction() as tx:
        refund = await ConversationQueries(tx).ensure_conversation("refund", "rest")
        other = await ConversationQueries(tx).ensure_conversation("other", "rest")
        await LiveChatQueries(tx).append_message(refund, Author.VISITOR, "I want my REFUND, 100%")
        await LiveChatQueries(tx).append_message(other, Author.VISITOR, "what are your hours?")

    async with store.transaction() as tx:
        found = {
            q: [s.id for s in (await InboxQueries(tx).list_conversations(1, "all", q, None, 10))[0]]
            for q in ("refund", "0%", "ours", "nothing like it")
        }
    assert found == {
        "refund": [refund.id],
        "0%": [refund.id],
        "ours": [other.id],
        "nothing like it": [],
    }


async def test_a_narrow_search_from_its_matches_and_a_broad_one_walking_agree(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few matching conversations: the page is read from them; many: the list is walked newest
    first. Both give the same rows in the same order, case ignored, by visitor or message."""
    async with store.transaction() as tx:
        q = ConversationQueries(tx)
        for n in range(6):
            conversation = await q.ensure_conversation(f"v{n}", "rest")
            email = f"ann.{n}@example.com" if n % 2 else f"bob.{n}@example.com"
            await q.save_visitor(conversation, VisitorProfile(email=email, first_name="Ann"))
            text = "my parcel is late" if n < 3 else "hello"
            await LiveChatQueries(tx).append_message(conversation, Author.VISITOR, text)

    async def search(query: str) -> list[str | None]:
        async with store.read() as tx:
            page, _ = await InboxQueries(tx).list_conversations(1, "all", query, None, 10)
        return [s.email for s in page]

    queries = ("ANN.", "Parcel", "ann", "nobody")
    from_matches = [await search(query) for query in queries]
    monkeypatch.setattr(inbox, "SEARCH_FROM_MATCHES", 0)  # every search walks the list
    assert [await search(query) for query in queries] == from_matches
    assert from_matches == [
        ["ann.5@example.com", "ann.3@example.com", "ann.1@example.com"],
        ["bob.2@example.com", "ann.1@example.com", "bob.0@example.com"],
        [f"{'ann' if n % 2 else 'bob'}.{n}@example.com" for n in range(5, -1, -1)],
        [],
    ]


@pytest.mark.slow
async def test_on_postgresql_the_search_reads_the_trigram_index(postgres_url: str) -> None:
    from handoff_plugin.store import open_store

    store = await open_store(postgres_url)
    try:
        async with store.engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO conversations (sender_id, channel, state, last_activity_at,"
                " created_at, updated_at) SELECT 's' || g, 'rest', 'bot', now(), now(), now()"
                " FROM generate_series(1, 2000) g"
            )
            await conn.exec_driver_sql(
                "INSERT INTO messages (conversation_id, seq, author, text, created_at)"
                " SELECT g %% 2000 + 1, g, 'visitor', md5(g::text), now()"
                " FROM generate_series(1, 30000) g"
            )
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql("COMMIT")  # VACUUM runs outside a transaction
            await conn.exec_driver_sql("VACUUM ANALYZE messages")
            # The statement the inbox runs, with the values inlined as PostgreSQL's custom plans see them.
            select = list_query(1, "all", "refund please").limit(21)
            sql = str(select.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(
                row[0]
                for row in (await conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%"))).all()
            )
    finally:
        await store.close()

    assert "Bitmap Index Scan on ix_messages_text_trgm" in plan, plan
    assert "Seq Scan on messages" not in plan, plan
