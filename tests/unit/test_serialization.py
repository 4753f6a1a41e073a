"""One JSON shape per value object (API, broker, SSE stream) and one way to name a visitor."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from handoff_plugin.inbox.stream import event_data
from handoff_plugin.livechat.broker import ConversationEvent
from handoff_plugin.models import (
    Agent,
    AgentRef,
    Author,
    ChatMessage,
    ConversationState,
    ConversationSummary,
    Visitor,
    visitor_display_name,
)

NOON = datetime(2026, 2, 9, 12, 0, tzinfo=timezone.utc)
BERLIN = timezone(timedelta(hours=1))


def message(**changes: object) -> ChatMessage:
    fields: dict[str, object] = {
        "conversation_id": 7,
        "seq": 3,
        "author": Author.AGENT,
        "text": "Hi, Ann here.",
        "payload": {"buttons": [{"title": "Yes", "payload": "/affirm"}]},
        "agent": AgentRef("1", "Ann"),
        "channel": "livechat",
        "created_at": NOON,
    }
    fields.update(changes)
    return ChatMessage(**fields)  # type: ignore[arg-type]


def visitor(**changes: object) -> Visitor:
    fields: dict[str, object] = {
        "id": 5,
        "email": None,
        "first_name": None,
        "last_name": None,
        "phone": None,
        "created_at": NOON.astimezone(BERLIN),
    }
    fields.update(changes)
    return Visitor(**fields)  # type: ignore[arg-type]


def test_a_message_has_one_json_shape_with_an_iso_time_and_the_agent_who_wrote_it() -> None:
    assert message().as_json() == {
        "conversation_id": 7,
        "seq": 3,
        "author": "agent",
        "text": "Hi, Ann here.",
        "payload": {"buttons": [{"title": "Yes", "payload": "/affirm"}]},
        "agent": {"id": "1", "name": "Ann"},
        "channel": "livechat",
        "created_at": "2026-02-09T12:00:00+00:00",
    }


def test_a_visitor_message_has_null_for_what_is_unknown_and_survives_a_round_trip() -> None:
    plain = message(author=Author.VISITOR, text=None, payload=None, agent=None, channel=None)
    data = plain.as_json()
    assert (data["text"], data["payload"], data["agent"], data["channel"]) == (None,) * 4
    assert ChatMessage.from_json(json.loads(json.dumps(data))) == plain


def test_the_broker_and_the_agents_stream_carry_the_same_message_json() -> None:
    event = ConversationEvent("message.created", 7, "zoe", message=message())
    assert event.as_dict()["message"] == message().as_json()
    assert ConversationEvent.from_dict(json.loads(json.dumps(event.as_dict()))) == event
    assert event_data(event) == ("message", message().as_json())


def test_a_state_change_names_the_agent_as_messages_do() -> None:
    event = ConversationEvent(
        "state.changed", 7, "zoe", state=ConversationState.LIVE, agent=AgentRef("1", "Ann")
    )
    assert event_data(event) == (
        "state",
        {"conversation_id": 7, "state": "live", "agent": {"id": "1", "name": "Ann"}},
    )
    assert ConversationEvent.from_dict(event.as_dict()) == event


def test_a_visitor_json_keeps_its_offset_and_has_null_for_unknown_fields() -> None:
    assert visitor().as_json() == {
        "id": 5,
        "email": None,
        "first_name": None,
        "last_name": None,
        "name": None,
        "phone": None,
        "created_at": "2026-02-09T13:00:00+01:00",
    }
    named = visitor(first_name="Zoe", last_name="Quinn", email="zoe@example.com", phone="+49 30 1")
    assert (named.as_json()["name"], named.as_json()["phone"]) == ("Zoe Quinn", "+49 30 1")


def test_an_agent_json_shows_id_email_name_and_role_and_never_more() -> None:
    agent = Agent(1, "ann@example.com", "Ann", NOON, None, role="admin")
    assert agent.as_json() == {"id": 1, "email": "ann@example.com", "name": "Ann", "role": "admin"}
    assert agent.ref.as_json() == {"id": "1", "name": "Ann"}


def test_a_visitor_is_named_by_name_then_email_then_visitor_number() -> None:
    assert (
        visitor(first_name="Zoe", last_name="Quinn", email="z@x.test").display_name == "Zoe Quinn"
    )
    assert visitor(last_name="Quinn").display_name == "Quinn"
    assert visitor(email="z@x.test").display_name == "z@x.test"
    assert visitor().display_name == "Visitor #5"


def test_the_conversation_list_names_a_visitor_by_the_visitor_number_not_the_conversation() -> None:
    def summary(visitor_id: int | None) -> ConversationSummary:
        return ConversationSummary(
            id=9, state=ConversationState.BOT, channel="rest", visitor_id=visitor_id, email=None,
            first_name=None, last_name=None, last_message=None, last_activity_at=NOON, unread=False,
        )  # fmt: skip

    assert summary(5).display_name == visitor().display_name == "Visitor #5"
    assert summary(None).display_name == "Visitor (conversation #9)"
    assert visitor_display_name(conversation_id=9) == "Visitor (conversation #9)"
    assert visitor_display_name() == "Visitor"
