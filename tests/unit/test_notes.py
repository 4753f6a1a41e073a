"""Internal notes: what counts as a note, and that a note survives the trip between replicas."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from handoff_plugin.errors import InvalidInput
from handoff_plugin.inbox.feed import as_broker_event
from handoff_plugin.inbox.notes import MAX_NOTE_LENGTH, note_text
from handoff_plugin.inbox.stream import event_data
from handoff_plugin.livechat.broker import ConversationEvent
from handoff_plugin.models import AgentRef, InboxEvent, InternalNote

NOTE = InternalNote(
    7, 3, AgentRef("1", "Ann"), "VIP", datetime(2026, 2, 9, 12, tzinfo=timezone.utc)
)


def test_a_note_is_trimmed_text_of_bounded_length() -> None:
    assert note_text("  call back at 5 \n") == "call back at 5"
    assert note_text("x" * MAX_NOTE_LENGTH) == "x" * MAX_NOTE_LENGTH
    for bad in ("", "  \n", None, 5, "x" * (MAX_NOTE_LENGTH + 1)):
        with pytest.raises(InvalidInput):
            note_text(bad)


def test_a_note_event_crosses_replicas_whole_and_reaches_agents_as_a_note() -> None:
    event = ConversationEvent("note.created", 3, "zoe", note=NOTE)
    again = ConversationEvent.from_dict(event.as_dict())
    assert again == event
    assert event_data(again) == ("note", NOTE.as_json())


def test_a_note_event_without_its_note_makes_the_page_reload() -> None:
    row = InboxEvent(1, "note.created", 3, "zoe", None, None, "elsewhere", NOTE.created_at)
    assert event_data(as_broker_event(row)) == ("resync", {})
    with_note = InboxEvent(
        2, "note.created", 3, "zoe", None, None, "elsewhere", NOTE.created_at, NOTE.as_json()
    )
    assert event_data(as_broker_event(with_note)) == ("note", NOTE.as_json())
