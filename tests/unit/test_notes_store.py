"""The notes and canned-reply tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from handoff_plugin.store import Store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.notes import NoteQueries
from tests.conftest import FakeClock


async def test_notes_are_read_back_oldest_first_within_a_window(
    store: Store, clock: FakeClock
) -> None:
    async with store.transaction() as tx:
        chat = await ConversationQueries(tx).ensure_conversation("zoe", "livechat")
        other = await ConversationQueries(tx).ensure_conversation("max", "livechat")
    moments = []
    for text in ("first", "second", "third"):
        async with store.transaction() as tx:
            note = await NoteQueries(tx).add_note(chat.id, 1, "Ann", text)
            await NoteQueries(tx).add_note(other.id, 1, "Ann", "elsewhere")
        moments.append(note.created_at)
        clock.advance(60)

    async with store.transaction() as tx:
        q = NoteQueries(tx)
        assert [n.text for n in await q.notes(chat.id)] == ["first", "second", "third"]
        assert [n.text for n in await q.notes(chat.id, since=moments[1])] == ["second", "third"]
        assert [n.text for n in await q.notes(chat.id, until=moments[1])] == ["first"]
        assert [n.text for n in await q.notes(chat.id, limit=2)] == ["second", "third"]
        assert (await q.notes(chat.id))[0].agent.name == "Ann"


async def test_a_shortcut_is_unique_per_language(store: Store) -> None:
    async with store.transaction() as tx:
        q = NoteQueries(tx)
        hello = await q.add_canned_reply("en", "hello", "Greeting", "Hi!")
        await q.add_canned_reply("de", "hello", "Begrüßung", "Hallo!")
        await q.update_canned_reply(hello.id, "en", "hello", "Greeting", "Hi there!")
    async with store.transaction() as tx:
        q = NoteQueries(tx)
        assert [(r.language, r.text) for r in await q.canned_replies()] == [
            ("de", "Hallo!"),
            ("en", "Hi there!"),
        ]
        assert (await q.canned_reply_by_shortcut("de", "hello")) is not None
    with pytest.raises(IntegrityError):
        async with store.transaction() as tx:
            await NoteQueries(tx).add_canned_reply("en", "hello", "Again", "Hi again!")
