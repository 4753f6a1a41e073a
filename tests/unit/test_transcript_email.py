"""The visitor's transcript email: localized heading, who said what (agent names), times in the
visitor's time zone when the website passed one (else UTC, and the email says so), the setting."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from handoff_plugin.config.settings import load_settings
from handoff_plugin.config.texts import builtin_defaults
from handoff_plugin.delivery.notifiers import build_notifier
from handoff_plugin.delivery.notifiers.base import Notification
from handoff_plugin.delivery.notifiers.transcript import (
    ConsoleTranscriptNotifier,
    TranscriptNotifier,
    build_transcript_message,
    transcript_notification,
    visitor_timezone,
)
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.models import AgentRef, Author, ChatMessage

ANN = AgentRef("agent-1", "Ann Smith")


def line(seq: int, author: Author, text: str | None, hour: int, minute: int) -> ChatMessage:
    return ChatMessage(
        conversation_id=7,
        seq=seq,
        author=author,
        text=text,
        payload=None,
        agent=ANN if author is Author.AGENT else None,
        channel="livechat",
        created_at=datetime(2026, 12, 5, hour, minute, tzinfo=timezone.utc),
    )


LINES = [
    line(1, Author.VISITOR, "I want to talk to a human", 23, 1),
    line(2, Author.BOT, "What email address can they reach you at?", 23, 1),
    line(3, Author.SYSTEM, "Ann Smith from our team has joined the chat.", 23, 2),
    line(4, Author.AGENT, "Hallo! <b>Wie</b> kann ich helfen?", 23, 3),
    line(5, Author.VISITOR, "Meine Bestellung\nist nicht da", 23, 4),
    line(6, Author.BOT, None, 23, 5),  # buttons only: nothing to read
]


def notification(language: str, zone: str | None) -> Notification:
    return transcript_notification(
        conversation_id=7,
        message_id="msg_1",
        email="visitor@example.com",
        lines=LINES,
        texts=builtin_defaults(language),
        chatbot_name="Shop Bot",
        zone=visitor_timezone(zone),
        ended_at=datetime(2026, 12, 5, 23, 10, tzinfo=timezone.utc),
    )


def test_german_heading_agent_names_and_times_in_the_visitors_time_zone() -> None:
    message = build_transcript_message(notification("de", "Europe/Berlin"), "bot@shop.test")
    assert message["Subject"] == "Dein Chat mit Shop Bot"
    assert message["To"] == "visitor@example.com"
    assert message["From"] == "Shop Bot <bot@shop.test>"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    # 23:01 UTC is 00:01 the next day in Berlin (winter time): the date is the visitor's too.
    assert "Hier ist eine Kopie deines Chats mit Shop Bot vom 2026-12-06." in text
    assert "Alle Uhrzeiten in Europe/Berlin." in text
    assert "[00:01] Du: I want to talk to a human" in text
    assert "[00:01] Shop Bot: What email address can they reach you at?" in text
    assert "[00:02] * Ann Smith from our team has joined the chat." in text
    assert "[00:03] Ann Smith: Hallo! <b>Wie</b> kann ich helfen?" in text
    assert "[00:04] Du: Meine Bestellung\nist nicht da" in text
    assert "[00:05]" not in text  # a line without text is left out
    html = message.get_body(("html",))
    assert html is not None
    page = html.get_content()
    assert "<b>Ann Smith</b>" in page
    assert "Hallo! &lt;b&gt;Wie&lt;/b&gt; kann ich helfen?" in page  # escaped, never HTML
    assert "Meine Bestellung<br>ist nicht da" in page


@pytest.mark.parametrize(
    ("language", "heading", "you"),
    [
        ("en", "Here is a copy of your chat with Shop Bot on 2026-12-05.", "You"),
        ("fr", "Voici une copie de votre conversation avec Shop Bot du 2026-12-05.", "Vous"),
        ("es", "Aquí tienes una copia de tu chat con Shop Bot del 2026-12-05.", "Tú"),
    ],
)
def test_without_a_known_time_zone_times_are_utc_and_the_email_says_so(
    language: str, heading: str, you: str
) -> None:
    for zone in (None, "Mars/Olympus_Mons", "../../etc/passwd", ""):
        body = notification(language, zone).body
        assert body["timezone"] == "UTC"
        assert body["heading"] == heading
        assert "UTC" in body["times"]
        assert body["lines"][0] == {
            "author": "visitor",
            "speaker": you,
            "time": "23:01",
            "text": "I want to talk to a human",
        }


def test_the_notification_survives_the_outbox_row() -> None:
    stored = notification("en", "America/New_York")
    again = Notification.from_payload(stored.to_payload(), stored.message_id)
    assert again.body["lines"][3]["time"] == "18:03"
    assert build_transcript_message(again, "a@b.test")["To"] == "visitor@example.com"


def test_the_setting_is_off_by_default_an_env_var_turns_it_on_and_nonsense_is_refused(
    tmp_path: Path,
) -> None:
    config = tmp_path / "none.yml"
    assert load_settings({}, config_path=config).livechat.transcript_email is False
    on = load_settings({"HANDOFF_LIVECHAT_TRANSCRIPT_EMAIL": "true"}, config_path=config)
    assert on.livechat.transcript_email is True
    with pytest.raises(ConfigurationError, match=r'livechat.transcript_email = "often"'):
        load_settings({"HANDOFF_LIVECHAT_TRANSCRIPT_EMAIL": "often"}, config_path=config)


def test_it_uses_the_email_smtp_server_even_with_team_emails_off(tmp_path: Path) -> None:
    config = tmp_path / "none.yml"
    smtp = {"HANDOFF_EMAIL_ENABLED": "false", "HANDOFF_EMAIL_SMTP_HOST": "mail.test"}
    assert isinstance(
        build_notifier("transcript", load_settings(smtp, config_path=config)), TranscriptNotifier
    )
    assert build_notifier("email", load_settings(smtp, config_path=config)) is None
    console = build_notifier("transcript", load_settings({}, config_path=config))
    assert isinstance(console, ConsoleTranscriptNotifier)
