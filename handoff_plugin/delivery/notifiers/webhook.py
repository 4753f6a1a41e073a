"""The signed webhook: POST the documented JSON body to the configured URL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import structlog

from handoff_plugin import __version__
from handoff_plugin.clock import utc_now
from handoff_plugin.config.settings import WebhookSettings
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification
from handoff_plugin.delivery.signing import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = structlog.get_logger(__name__)

RESPONSE_PREVIEW = 500  # characters of the receiver's answer kept in the error


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After: 30` -> 30.0 (HTTP dates and garbage are ignored)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 24 * 3600 else None


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    reason: str
    headers: dict[str, str]  # names in lower case
    text: str
    request_headers: dict[str, str]


class WebhookNotifier:
    kind = "webhook"

    def __init__(self, settings: WebhookSettings, clock: Callable[[], datetime] = utc_now) -> None:
        self.url = settings.url
        self.secret = settings.secret.get_secret_value()
        self.timeout = settings.timeout
        self.clock = clock

    def headers(self, body: bytes, message_id: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"rasa-handoff/{__version__}",
            ID_HEADER: message_id,
            TIMESTAMP_HEADER: str(int(self.clock().timestamp())),
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        return headers

    async def post(self, body: bytes, message_id: str) -> WebhookResponse:
        """POST `body` once, without following redirects. Network errors propagate."""
        headers = self.headers(body, message_id)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(
                self.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                raw = await response.content.read(RESPONSE_PREVIEW * 4)
                return WebhookResponse(
                    status=response.status,
                    reason=response.reason or "",
                    headers={k.lower(): v for k, v in response.headers.items()},
                    text=raw.decode("utf-8", errors="replace")[:RESPONSE_PREVIEW],
                    request_headers=headers,
                )

    async def send(self, notification: Notification) -> DeliveryResult:
        body = encode_body(notification.body)
        try:
            response = await self.post(body, notification.message_id)
        except asyncio.TimeoutError:
            return DeliveryResult.retry(f"no answer from the webhook within {self.timeout:g} s")
        except aiohttp.ClientError as error:
            return DeliveryResult.retry(f"could not reach the webhook: {error}")
        return classify(response)


def classify(response: WebhookResponse) -> DeliveryResult:
    """2xx delivered; 410 turns the webhook off; 408/429/5xx retried; other answers permanent."""
    status = response.status
    said = f"HTTP {status} {response.reason}".strip()
    if response.text.strip():
        said += f": {response.text.strip()[:200]}"
    if 200 <= status < 300:
        return DeliveryResult.delivered(status)
    if status == 410:
        return DeliveryResult.gone(
            f"{said}. The receiver says this webhook is gone, so the webhook was turned off; "
            "fix HANDOFF_WEBHOOK_URL and turn it on again",
            status,
        )
    if status in (408, 429) or status >= 500:
        return DeliveryResult.retry(
            said, status, retry_after_seconds(response.headers.get("retry-after"))
        )
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        return DeliveryResult.failed(
            f"{said}. Redirects are not followed: set HANDOFF_WEBHOOK_URL to {location}", status
        )
    return DeliveryResult.failed(said, status)
