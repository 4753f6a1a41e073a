"""What Slack sends, sorted: signatures and their age, thread replies and what is ignored,
button presses, notes; and the thread's first message as it is drawn."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handoff_plugin.config.settings import build_settings
from handoff_plugin.delivery.notifiers.base import Notification
from handoff_plugin.delivery.notifiers.slack import blocks, state_line
from handoff_plugin.delivery.slack_thread import thread_line
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.inbox.slack_requests import (
    ButtonClick,
    Ignored,
    ThreadReply,
    UrlVerification,
    is_note,
    plain_text,
    read_event,
    read_interaction,
    verify,
    without_prefix,
)
from tests.slack_standin import button_click, signed_headers, thread_reply

SECRET = "8f14e45fceea167a5a36dedd4bea2543"
NOW = 1_800_000_000
BODY = b'{"type":"event_callback"}'


def headers(**options: Any) -> dict[str, str]:
    return signed_headers(
        options.pop("secret", SECRET),
        BODY,
        timestamp=options.pop("timestamp", NOW),
        content_type="application/json",
    )


def test_a_request_signed_with_the_secret_moments_ago_is_accepted() -> None:
    assert verify(SECRET, BODY, headers(timestamp=NOW - 299), now=lambda: NOW) is None


@pytest.mark.parametrize(
    ("sent", "refusal"),
    [
        ({}, "unsigned"),
        ({"X-Slack-Request-Timestamp": str(NOW)}, "unsigned"),
        ({"X-Slack-Signature": "v0=abc"}, "unsigned"),
        ({"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=abc"}, "bad timestamp"),
        (headers(secret="another secret"), "bad signature"),
        (headers(timestamp=NOW - 301), "stale"),
        (headers(timestamp=NOW + 301), "stale"),
        ({**headers(), "X-Slack-Signature": "v0=" + "0" * 64}, "bad signature"),
    ],
)
def test_unsigned_wrongly_signed_and_old_requests_are_refused(
    sent: dict[str, str], refusal: str
) -> None:
    assert verify(SECRET, BODY, sent, now=lambda: NOW) == refusal


def test_a_changed_body_is_refused() -> None:
    assert verify(SECRET, BODY + b" ", headers(), now=lambda: NOW) == "bad signature"


def test_a_reply_in_a_thread_is_read_with_slacks_markup_undone() -> None:
    envelope = thread_reply(
        "U1", "C1", "1700000001.000100", "see <https://x.test|our page> &amp; &lt;3"
    )
    item = read_event(envelope)
    assert item == ThreadReply(
        envelope["event_id"], "U1", "C1", "1700000001.000100", "see our page (https://x.test) & <3"
    )


@pytest.mark.parametrize(
    "event",
    [
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "bot_message"},
        {"subtype": "thread_broadcast"},
        {"bot_id": "B1"},
        {"thread_ts": None},  # a message in the channel, not in a thread
        {"text": "   "},
        {"type": "reaction_added"},
    ],
)
def test_edits_deletions_bots_and_other_messages_are_ignored(event: dict[str, Any]) -> None:
    envelope = thread_reply("U1", "C1", "1700000001.000100", "hello")
    envelope["event"].update(event)
    assert isinstance(read_event(envelope), Ignored)


def test_the_thread_start_itself_is_not_a_reply() -> None:
    envelope = thread_reply("U1", "C1", "1700000001.000100", "hello")
    envelope["event"]["ts"] = "1700000001.000100"
    assert isinstance(read_event(envelope), Ignored)


def test_slacks_url_check_is_answered_and_garbage_ignored() -> None:
    assert read_event({"type": "url_verification", "challenge": "abc"}) == UrlVerification("abc")
    assert isinstance(read_event(None), Ignored)
    assert isinstance(read_event([1, 2]), Ignored)


def test_claim_and_end_presses_are_read_and_other_buttons_ignored() -> None:
    claim = read_interaction(button_click("U1", "C1", "17.1", "handoff_claim", "5"))
    assert isinstance(claim, ButtonClick)
    assert (claim.action, claim.user, claim.channel, claim.message_ts) == (
        "claim",
        "U1",
        "C1",
        "17.1",
    )
    end = read_interaction(button_click("U1", "C1", "17.1", "handoff_end", "5"))
    assert isinstance(end, ButtonClick) and end.action == "end"
    opened = read_interaction(button_click("U1", "C1", "17.1", "handoff_open_in_inbox", "5"))
    assert isinstance(opened, Ignored)
    assert isinstance(read_interaction(b"payload=not-json"), Ignored)
    assert isinstance(read_interaction(b"\xff\xfe"), Ignored)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("note: hi", True),
        ("  NOTE: hi", True),
        ("Note:hi", True),
        ("a note: hi", False),
        ("notes", False),
    ],
)
def test_notes_start_with_the_prefix_in_any_case(text: str, note: bool) -> None:
    assert is_note(text, "note:") is note


def test_a_notes_prefix_is_not_kept() -> None:
    assert without_prefix("  NOTE:  be kind", "note:") == "be kind"
    assert plain_text("a &gt; b") == "a > b"


def test_the_note_prefix_must_not_be_empty() -> None:
    with pytest.raises(ConfigurationError) as refused:
        build_settings({"slack": {"note_prefix": "  "}})
    assert "slack.note_prefix" in str(refused.value)
    assert "never reach the visitor" in str(refused.value)


def test_answering_from_slack_needs_slack_on_and_a_signing_secret() -> None:
    on = {"enabled": True, "bot_token": "xoxb-1", "channel": "#support"}
    assert not build_settings({"slack": on}).slack.two_way
    assert build_settings({"slack": {**on, "signing_secret": SECRET}}).slack.two_way
    assert not build_settings({"slack": {"signing_secret": SECRET}}).slack.two_way
    assert SECRET not in repr(build_settings({"slack": {**on, "signing_secret": SECRET}}))


NOTE = Notification(
    body={
        "title": "Bot: Visitor needs human assistance",
        "text": "help <!channel>",
        "chatbot": {"id": "b", "name": "Bot"},
        "visitor": {"id": 1, "email": "v@x.test", "first_name": "<@U1>"},
        "conversation": {"id": 42, "last_message": None},
        "inbox_url": "https://inbox.test/conversations/42",
    },
    message_id="m",
)


def test_the_first_message_shows_the_state_and_the_buttons() -> None:
    drawn = blocks(NOTE, two_way=True, state="live", agent_name="Ann")
    [state] = [b for b in drawn if b.get("block_id") == "handoff_state"]
    assert state["elements"][0]["text"] == "Live with Ann"
    [actions] = [b for b in drawn if b["type"] == "actions"]
    assert [(e["action_id"], e.get("value")) for e in actions["elements"]] == [
        ("handoff_claim", "42"),
        ("handoff_end", "42"),
        ("handoff_open_in_inbox", None),
    ]
    assert "&lt;@U1&gt;" in json.dumps(drawn)  # the visitor's values stay inert
    back = blocks(NOTE, two_way=True, state="bot")
    assert [e["action_id"] for e in back[-1]["elements"]] == ["handoff_open_in_inbox"]


def test_state_lines_and_thread_lines_read_as_people_expect() -> None:
    assert state_line("waiting") == "Waiting for an agent"
    assert state_line("claimed", "Bob") == "Claimed by Bob"
    assert state_line("bot") == "Back to the bot"
    assert thread_line({"author": "visitor", "text": "<!here> hi"}) == "*Visitor:* &lt;!here&gt; hi"
    assert (
        thread_line({"author": "agent", "agent_name": "Ann", "text": "yes"}) == "*Ann (agent):* yes"
    )
    assert thread_line({"author": "system", "text": "Ann joined"}) == "_Ann joined_"
