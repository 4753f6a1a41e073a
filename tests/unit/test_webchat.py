"""rasa-webchat's protocol: what the widget may send, and what it is sent."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from handoff_plugin.livechat.widget import (
    ProtocolError,
    Utterance,
    parse_user_uttered,
    to_bot_uttered,
)
from handoff_plugin.models import AgentRef, Author, ChatMessage, split_bot_response


def message(text: str | None, payload: dict[str, Any] | None = None, **kw: Any) -> ChatMessage:
    values: dict[str, Any] = {
        "conversation_id": 1,
        "seq": 7,
        "author": Author.BOT,
        "text": text,
        "payload": payload,
        "agent": None,
        "channel": "livechat",
        "created_at": datetime(2026, 2, 9, tzinfo=timezone.utc),
    }
    values.update(kw)
    return ChatMessage(**values)


def test_a_widget_message_with_custom_data_is_accepted() -> None:
    parsed = parse_user_uttered(
        {"message": " hi ", "customData": {"email": "a@b.c"}, "session_id": "ignored"}, 100
    )
    assert parsed == Utterance("hi", {"email": "a@b.c"})


def test_metadata_may_come_as_rasa_socketio_metadata_or_a_json_string() -> None:
    assert parse_user_uttered({"message": "x", "metadata": {"a": 1}}, 10) == Utterance(
        "x", {"a": 1}
    )
    assert parse_user_uttered({"message": "x", "customData": '{"a": 1}'}, 10) == Utterance(
        "x", {"a": 1}
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("hello", "invalid_event"),
        (None, "invalid_event"),
        ({}, "invalid_message"),
        ({"text": "hi"}, "invalid_message"),
        ({"message": 42}, "invalid_message"),
        ({"message": ["hi"]}, "invalid_message"),
        ({"message": "   "}, "empty_message"),
        ({"message": "x" * 11}, "message_too_long"),
        ({"message": "x", "customData": [1]}, "invalid_metadata"),
        ({"message": "x", "customData": "{not json"}, "invalid_metadata"),
        ({"message": "x", "customData": {"blob": "y" * 20000}}, "metadata_too_large"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(data: Any, code: str) -> None:
    parsed = parse_user_uttered(data, 10)
    assert isinstance(parsed, ProtocolError)
    assert parsed.code == code
    assert parsed.as_event()["message"]


def test_plain_text_is_shown_by_the_widget_with_extra_data_only_in_metadata() -> None:
    payloads = to_bot_uttered(message("Hello!"))
    assert payloads == [{"text": "Hello!", "metadata": {"seq": 7, "author": "bot"}}]


def test_paragraphs_become_separate_bubbles_like_rasas_socketio_channel() -> None:
    assert [p["text"] for p in to_bot_uttered(message("One.\n\nTwo."))] == ["One.", "Two."]


def test_buttons_become_quick_replies_on_the_last_bubble() -> None:
    buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    payloads = to_bot_uttered(message("Sure?", {"buttons": buttons}))
    assert payloads[0]["quick_replies"] == [
        {"content_type": "text", "title": "Yes", "payload": "/affirm"},
        {"content_type": "text", "title": "No", "payload": "/deny"},
    ]


def test_images_custom_payloads_and_carousels_use_the_widgets_shapes() -> None:
    rich = {
        "image": "https://x.test/a.png",
        "custom": {"kind": "card", "id": 1},
        "elements": [{"title": "A"}, {"title": "B"}],
    }
    payloads = to_bot_uttered(message(None, rich))
    assert {"kind": "card", "id": 1}.items() <= payloads[0].items()
    assert payloads[1]["attachment"] == {
        "type": "image",
        "payload": {"src": "https://x.test/a.png"},
    }
    assert payloads[2]["attachment"]["payload"] == {
        "template_type": "generic",
        "elements": [{"title": "A"}, {"title": "B"}],
    }


def test_an_agents_message_names_the_agent_in_metadata() -> None:
    payloads = to_bot_uttered(
        message("Hi, Ann here", author=Author.AGENT, agent=AgentRef("1", "Ann"))
    )
    assert payloads == [
        {"text": "Hi, Ann here", "metadata": {"seq": 7, "author": "agent", "agent_name": "Ann"}}
    ]


def test_a_rasa_response_keeps_only_what_the_visitor_sees() -> None:
    response = {
        "text": "Hi",
        "buttons": [{"title": "t", "payload": "/p"}],
        "timestamp": 1.0,
        "utter_action": "utter_greet",
        "image": None,
    }
    assert split_bot_response(response) == ("Hi", {"buttons": [{"title": "t", "payload": "/p"}]})


def test_a_throttled_visitor_is_told_a_positive_wait_rounded_up() -> None:
    assert (
        ProtocolError("rate_limited", "slow down", retry_after=0.04).as_event()["retry_after"]
        == 0.1
    )
    assert (
        ProtocolError("rate_limited", "slow down", retry_after=1.21).as_event()["retry_after"]
        == 1.3
    )
