"""What every notifier shares: the `Notifier` interface, its result, and the notification itself.

A `Notification` is a snapshot taken in the escalation's transaction and stored in the outbox row,
so every retry sends the same thing. Its `body` is the documented webhook body (DESIGN.md), which
the email and Slack notifiers read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from handoff_plugin.config.settings import Settings
from handoff_plugin.models import Escalation, TranscriptLine, visitor_display_name

ESCALATION_CREATED = "escalation.created"


def inbox_url(settings: Settings, conversation_id: int) -> str:
    return f"{settings.inbox.public_url}/conversations/{conversation_id}"


def title(settings: Settings) -> str:
    return f"{settings.chatbot.name}: Visitor needs human assistance"


def build_webhook_body(escalation: Escalation, settings: Settings) -> dict[str, Any]:
    """The documented webhook body, field for field and type for type (ids are integers)."""
    visitor = escalation.visitor
    return {
        "event": ESCALATION_CREATED,
        "title": title(settings),
        "text": escalation.message,
        "chatbot": {"id": settings.chatbot.id, "name": settings.chatbot.name},
        "visitor": {
            "id": int(visitor.id),
            "email": visitor.email,
            "first_name": visitor.first_name,
            "last_name": visitor.last_name,
            "phone": visitor.phone,
        },
        "conversation": {
            "id": int(escalation.conversation_id),
            "last_message": escalation.last_message,
        },
        "inbox_url": inbox_url(settings, escalation.conversation_id),
        "timestamp": escalation.created_at.isoformat(timespec="seconds"),
    }


@dataclass(frozen=True)
class Notification:
    """One notification about one escalation, as stored in its outbox row."""

    body: dict[str, Any]  # the documented webhook body
    message_id: str  # stable across retries: `webhook-id`, the email's Message-ID
    transcript: tuple[TranscriptLine, ...] = ()
    recipients: tuple[str, ...] = ()  # email only: the address(es) this delivery goes to

    def to_payload(self) -> dict[str, Any]:
        """What the outbox row stores (the message id has a column of its own)."""
        return {
            "body": self.body,
            "transcript": [{"speaker": t.speaker, "text": t.text} for t in self.transcript],
            "recipients": list(self.recipients),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any], message_id: str) -> Notification:
        return cls(
            body=dict(payload["body"]),
            message_id=message_id,
            transcript=tuple(
                TranscriptLine(line["speaker"], line["text"])
                for line in payload.get("transcript") or ()
            ),
            recipients=tuple(payload.get("recipients") or ()),
        )

    # Typed views of the body, for the email and Slack messages.
    @property
    def title(self) -> str:
        return str(self.body["title"])

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def chatbot_name(self) -> str:
        return str(self.body["chatbot"]["name"])

    @property
    def visitor(self) -> dict[str, Any]:
        return dict(self.body["visitor"])

    @property
    def visitor_name(self) -> str:
        visitor = self.visitor
        return visitor_display_name(
            visitor_id=visitor.get("id"),
            email=visitor.get("email"),
            first_name=visitor.get("first_name"),
            last_name=visitor.get("last_name"),
        )

    @property
    def conversation_id(self) -> int:
        return int(self.body["conversation"]["id"])

    @property
    def last_message(self) -> str | None:
        value = self.body["conversation"].get("last_message")
        return str(value) if value is not None else None

    @property
    def inbox_url(self) -> str:
        return str(self.body["inbox_url"])


class Outcome(str, Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: try again later
    FAILED = "failed"  # permanent: retrying cannot help
    DISABLED = "disabled"  # the receiver is gone (webhook 410): turn this notifier off


@dataclass(frozen=True)
class DeliveryResult:
    """How one attempt went. `detail` is safe to store and log (no secrets, no message bodies)."""

    outcome: Outcome
    detail: str | None = None
    response_code: int | None = None
    retry_after: float | None = None  # the receiver asked us to wait at least this long
    # What the receiver said the delivery is called there (Slack: the message's channel and
    # ts), recorded with the delivery so later messages can refer to it.
    receipt: Mapping[str, str] | None = None

    @classmethod
    def delivered(
        cls,
        response_code: int | None = None,
        detail: str | None = None,
        receipt: Mapping[str, str] | None = None,
    ) -> DeliveryResult:
        return cls(Outcome.DELIVERED, detail, response_code, receipt=receipt)

    @classmethod
    def retry(
        cls, detail: str, response_code: int | None = None, retry_after: float | None = None
    ) -> DeliveryResult:
        return cls(Outcome.RETRY, detail, response_code, retry_after)

    @classmethod
    def failed(cls, detail: str, response_code: int | None = None) -> DeliveryResult:
        return cls(Outcome.FAILED, detail, response_code)

    @classmethod
    def gone(cls, detail: str, response_code: int | None = None) -> DeliveryResult:
        return cls(Outcome.DISABLED, detail, response_code)


class Notifier(Protocol):
    """Sends one notification somewhere.

    Every failure comes back the same way, as a `DeliveryResult` (retry / failed / disabled) the
    dispatcher records: a notifier catches its transport's errors and classifies them. Anything
    that escapes `send` is a bug; the dispatcher logs it and retries."""

    kind: str

    async def send(self, notification: Notification) -> DeliveryResult: ...
