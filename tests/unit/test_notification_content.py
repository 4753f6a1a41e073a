"""What the notifiers put on the wire, checked without a server."""

from datetime import datetime, timezone

from handoff_plugin.config.settings import build_settings
from handoff_plugin.delivery.notifiers.base import Notification, build_webhook_body
from handoff_plugin.delivery.notifiers.email import header_safe
from handoff_plugin.delivery.notifiers.slack import escape_mrkdwn
from handoff_plugin.delivery.notifiers.webhook import classify
from handoff_plugin.delivery.transports import HttpReply
from handoff_plugin.models import Escalation, TranscriptLine, Trigger, Visitor

NOW = datetime(2026, 2, 9, 12, 0, 0, 123456, tzinfo=timezone.utc)


def escalation() -> Escalation:
    visitor = Visitor(123, "ann@example.com", None, None, None, NOW)
    return Escalation(456, 789, visitor, Trigger.INTENT, "a human please", "ann@example.com", NOW)


def test_the_webhook_body_matches_the_documented_shape() -> None:
    settings = build_settings({"chatbot": {"id": "bot-1", "name": "Bot"}})
    body = build_webhook_body(escalation(), settings)
    assert body == {
        "event": "escalation.created",
        "title": "Bot: Visitor needs human assistance",
        "text": "a human please",
        "chatbot": {"id": "bot-1", "name": "Bot"},
        "visitor": {
            "id": 123,
            "email": "ann@example.com",
            "first_name": None,
            "last_name": None,
            "phone": None,
        },
        "conversation": {"id": 789, "last_message": "ann@example.com"},
        "inbox_url": "http://localhost:5005/webhooks/inbox/conversations/789",
        "timestamp": "2026-02-09T12:00:00+00:00",
    }


def test_a_notification_survives_the_round_trip_through_its_outbox_row() -> None:
    note = Notification({"title": "t"}, "msg_1", (TranscriptLine("visitor", "hi"),), ("a@x.test",))
    assert Notification.from_payload(note.to_payload(), "msg_1") == note


def test_header_values_never_contain_line_breaks() -> None:
    assert header_safe("Ann\r\nBcc: x@y.test\u2028Z\x00") == "Ann Bcc: x@y.test Z"


def test_mrkdwn_escaping_defuses_mentions_and_links() -> None:
    assert escape_mrkdwn("<!here> <@U123> <http://x|y> a&b @channel @Everyone") == (
        "&lt;!here&gt; &lt;@U123&gt; &lt;http://x|y&gt; a&amp;b @\u200bchannel @\u200bEveryone"
    )


def response(status: int, **headers: str) -> HttpReply:
    return HttpReply(status, "", {k.lower(): v for k, v in headers.items()})


def test_webhook_answers_are_classified_as_the_design_says() -> None:
    assert classify(response(204)).outcome == "delivered"
    assert classify(response(410)).outcome == "disabled"
    assert classify(response(429, **{"Retry-After": "7"})).retry_after == 7
    assert [classify(response(s)).outcome for s in (408, 429, 500, 599)] == ["retry"] * 4
    assert [classify(response(s)).outcome for s in (301, 400, 401, 404)] == ["failed"] * 4
