"""The signed webhook: POST the documented JSON body to the configured URL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from handoff_plugin import __version__
from handoff_plugin.clock import utc_now
from handoff_plugin.config.settings import WebhookSettings
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification
from handoff_plugin.delivery.outbound import AddressRefused, GuardedTransport
from handoff_plugin.delivery.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    STANDARD_SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    sign_standard,
)
from handoff_plugin.delivery.transports import (
    AiohttpTransport,
    HttpReply,
    HttpTransport,
    TransportError,
)


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookNotifier:
    kind = "webhook"

    def __init__(
        self,
        settings: WebhookSettings,
        clock: Callable[[], datetime] = utc_now,
        transport: HttpTransport | None = None,
    ) -> None:
        self.url = settings.url
        self.secrets = settings.signing_secrets()
        self.timeout = settings.timeout
        self.clock = clock
        # The default refuses non-public addresses; an injected transport is the test's business.
        self.transport = transport or GuardedTransport(
            AiohttpTransport(), allow_private=settings.allow_private_addresses
        )

    @property
    def secret(self) -> str:
        return self.secrets[0] if self.secrets else ""

    def headers(self, body: bytes, message_id: str) -> dict[str, str]:
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"rasa-handoff/{__version__}",
            ID_HEADER: message_id,
            TIMESTAMP_HEADER: str(timestamp),
        }
        if self.secrets:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
            headers[STANDARD_SIGNATURE_HEADER] = sign_standard(
                message_id, timestamp, body, self.secrets
            )
        return headers

    async def post(self, body: bytes, message_id: str) -> HttpReply:
        """POST `body` once, signed. Raises `TransportError` when nothing answered, and
        `AddressRefused` (before connecting) when the URL's host is not a public address."""
        return await self.transport.post(
            self.url, body=body, headers=self.headers(body, message_id), timeout=self.timeout
        )

    async def send(self, notification: Notification) -> DeliveryResult:
        try:
            reply = await self.post(encode_body(notification.body), notification.message_id)
        except AddressRefused as error:
            return DeliveryResult.failed(str(error))
        except TransportError as error:
            if error.timed_out:
                return DeliveryResult.retry(f"no answer from the webhook within {self.timeout:g} s")
            return DeliveryResult.retry(f"could not reach the webhook: {error}")
        return classify(reply)


def classify(response: HttpReply) -> DeliveryResult:
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
        return DeliveryResult.retry(said, status, response.retry_after)
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        return DeliveryResult.failed(
            f"{said}. Redirects are not followed: set HANDOFF_WEBHOOK_URL to {location}", status
        )
    return DeliveryResult.failed(said, status)
