"""The Settings page's "Send test webhook": one signed POST of a test event, and what the receiver
answered.

`WebhookTester` is the small interface the inbox needs; `HttpWebhookTester` implements it with a
plain aiohttp POST shaped like the notifier's (same body layout, `X-Signature-256`, `webhook-id`,
`webhook-timestamp`). When the notifications work lands, its webhook notifier can implement this
interface instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import aiohttp
import structlog

from handoff_plugin import __version__
from handoff_plugin.settings import Settings
from handoff_plugin.store.db import utc_now

log = structlog.get_logger(__name__)

TEST_EVENT = "webhook.test"
ANSWER_PREVIEW = 500


@dataclass(frozen=True)
class WebhookTestResult:
    url: str
    delivered: bool  # the receiver answered 2xx
    status: int | None  # None: no HTTP answer at all
    reason: str
    answer: str  # the first characters of the receiver's body
    elapsed_ms: int
    signed: bool
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "delivered": self.delivered,
            "status": self.status,
            "reason": self.reason,
            "answer": self.answer,
            "elapsed_ms": self.elapsed_ms,
            "signed": self.signed,
            "error": self.error,
        }


class WebhookTester(Protocol):
    async def send_test(self, settings: Settings, url: str) -> WebhookTestResult: ...


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sample_body(settings: Settings, now: datetime) -> dict[str, Any]:
    """Shaped exactly like an escalation's body, clearly marked as a test."""
    return {
        "event": TEST_EVENT,
        "title": f"{settings.chatbot.name}: TEST event from rasa-handoff (not a real escalation)",
        "text": "This is a test of your webhook. No visitor is waiting.",
        "chatbot": {"id": settings.chatbot.id, "name": settings.chatbot.name},
        "visitor": {
            "id": 0,
            "email": "visitor@example.com",
            "first_name": "Test",
            "last_name": "Visitor",
            "phone": None,
        },
        "conversation": {"id": 0, "last_message": "This is a test message from rasa-handoff."},
        "inbox_url": f"{settings.inbox.public_url}/conversations/0",
        "timestamp": now.isoformat(timespec="seconds"),
    }


class HttpWebhookTester:
    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock

    async def send_test(self, settings: Settings, url: str) -> WebhookTestResult:
        secret = settings.webhook.secret.get_secret_value()
        body = json.dumps(sample_body(settings, self.clock()), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"rasa-handoff/{__version__}",
            "webhook-id": f"msg_test_{uuid.uuid4().hex}",
            "webhook-timestamp": str(int(self.clock().timestamp())),
        }
        if secret:
            headers["X-Signature-256"] = sign(body, secret)
        started = time.monotonic()

        def result(**fields: Any) -> WebhookTestResult:
            elapsed = int((time.monotonic() - started) * 1000)
            return WebhookTestResult(url=url, elapsed_ms=elapsed, signed=bool(secret), **fields)

        timeout = aiohttp.ClientTimeout(total=settings.webhook.timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    raw = await response.content.read(ANSWER_PREVIEW * 4)
                    status = response.status
                    outcome = result(
                        delivered=200 <= status < 300,
                        status=status,
                        reason=response.reason or "",
                        answer=raw.decode("utf-8", errors="replace")[:ANSWER_PREVIEW],
                    )
        except asyncio.TimeoutError:
            outcome = result(
                delivered=False,
                status=None,
                reason="",
                answer="",
                error=f"no answer within {settings.webhook.timeout:g} s (webhook.timeout)",
            )
        except (aiohttp.ClientError, ValueError) as error:
            outcome = result(
                delivered=False,
                status=None,
                reason="",
                answer="",
                error=f"could not reach the receiver: {error}",
            )
        log.info(
            "handoff.webhook.test_sent",
            status=outcome.status,
            delivered=outcome.delivered,
            elapsed_ms=outcome.elapsed_ms,
        )
        return outcome
