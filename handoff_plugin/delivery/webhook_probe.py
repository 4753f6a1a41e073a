"""A clearly marked test event for the configured webhook: `handoff webhook test` and the inbox's
"Send test webhook" both send it through the real `WebhookNotifier` and report what happened."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import structlog
from pydantic import SecretStr

from handoff_plugin.clock import utc_now
from handoff_plugin.config.settings import Settings
from handoff_plugin.delivery.notifiers.base import build_webhook_body
from handoff_plugin.delivery.notifiers.webhook import WebhookNotifier, classify, encode_body
from handoff_plugin.delivery.outbound import AddressRefused
from handoff_plugin.delivery.outbox import new_message_id
from handoff_plugin.delivery.transports import HttpTransport, TransportError
from handoff_plugin.models import Escalation, Trigger, Visitor

log = structlog.get_logger(__name__)

TEST_EVENT = "webhook.test"

# What a real escalation would do after the receiver's answer, in words.
MEANING = {
    "delivered": "a real escalation would count as delivered",
    "retry": "a real escalation would be retried later",
    "failed": "a real escalation would NOT be retried",
    "disabled": "a real escalation would turn the webhook off",
}
NO_SECRET = "no signing secret is set (webhook.secret)"
OTHER_URL = (
    "this URL is not the saved webhook.url, and test events to other URLs are never signed "
    "with the saved secret; save the URL first to test signed requests"
)


def sample_body(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """A body shaped exactly like a real escalation's, clearly marked as a test."""
    now = now or utc_now()
    visitor = Visitor(0, "visitor@example.com", "Test", "Visitor", None, now)
    escalation = Escalation(
        0, 0, visitor, Trigger.INTENT, "", "This is a test message from rasa-handoff.", now
    )
    body = build_webhook_body(escalation, settings)
    body["event"] = TEST_EVENT
    body["title"] = f"{settings.chatbot.name}: TEST event from rasa-handoff (not a real escalation)"
    body["text"] = "This is a test of your webhook. No visitor is waiting."
    return body


@dataclass(frozen=True)
class WebhookTestResult:
    url: str
    message_id: str
    body: str  # the exact JSON sent
    signed: bool
    delivered: bool  # the receiver answered 2xx
    status: int | None  # None: no HTTP answer at all
    reason: str
    answer: str  # the first characters of the receiver's body
    elapsed_ms: int
    meaning: str
    error: str | None = None
    unsigned_reason: str | None = None  # why `signed` is false

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def send_test_webhook(
    settings: Settings, url: str | None = None, transport: HttpTransport | None = None
) -> WebhookTestResult:
    """POST the test event once to `url` (default: webhook.url); network errors are reported.

    Only the saved URL gets the saved secret's signature: a signed request to any URL an admin
    types would hand out signatures a real receiver accepts, to a place that is not it."""
    target = url or settings.webhook.url
    update: dict[str, Any] = {"url": target}
    unsigned = None if settings.webhook.secret.get_secret_value() else NO_SECRET
    if target != settings.webhook.url:
        update.update(secret=SecretStr(""), previous_secrets=SecretStr(""))
        unsigned = OTHER_URL
    notifier = WebhookNotifier(settings.webhook.copy(update=update), transport=transport)
    body = encode_body(sample_body(settings))
    message_id = new_message_id()
    started = time.monotonic()

    def result(**fields: Any) -> WebhookTestResult:
        return WebhookTestResult(
            url=notifier.url,
            message_id=message_id,
            body=body.decode("utf-8"),
            signed=bool(notifier.secret),
            unsigned_reason=unsigned,
            elapsed_ms=int((time.monotonic() - started) * 1000),
            **fields,
        )

    try:
        response = await notifier.post(body, message_id)
    except AddressRefused as exc:
        outcome = result(
            delivered=False, status=None, reason="", answer="", meaning="", error=str(exc)
        )
    except TransportError as exc:
        error = (
            f"no answer within {notifier.timeout:g} s (webhook.timeout)"
            if exc.timed_out
            else f"could not reach the receiver: {exc}"
        )
        outcome = result(
            delivered=False, status=None, reason="", answer="", meaning="", error=error
        )
    else:
        classified = classify(response)
        meaning = MEANING[classified.outcome.value]
        outcome = result(
            delivered=classified.outcome.value == "delivered",
            status=response.status,
            reason=response.reason,
            answer=response.text,
            meaning=meaning + (f": {classified.detail}" if classified.detail else ""),
        )
    log.info(
        "handoff.webhook.test_sent",
        status=outcome.status,
        delivered=outcome.delivered,
        elapsed_ms=outcome.elapsed_ms,
    )
    return outcome
