"""Signing webhook bodies, and verifying them on the receiving side.

rasa-handoff signs every request twice, with the same secret:
- `X-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>` (the original form). A Python
  receiver checks it with `verify(request_body_bytes, secret, request.headers.get("X-Signature-256"))`.
- Standard Webhooks (https://www.standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256
  of "{webhook-id}.{webhook-timestamp}.{body}">`, which also covers the id and the time, so a
  receiver can refuse replays. One `v1,` signature per secret in use (the current one and any
  `webhook.previous_secrets`), space-separated, so a key can be rotated without a gap. The key is
  the secret's UTF-8 bytes, or for a `whsec_<base64>` secret the decoded bytes, as the spec says.
  Check it with `verify(body, secret, headers=request.headers)` or any Standard Webhooks library.
Always verify the raw bytes received, not re-serialized JSON.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "X-Signature-256"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
DEFAULT_TOLERANCE = 5 * 60.0  # seconds a Standard Webhooks timestamp may be off (the spec's)
_PREFIX = "sha256="
_WHSEC = "whsec_"


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def standard_key(secret: str | bytes) -> bytes:
    """The HMAC key of the Standard Webhooks signature: `whsec_<base64>` decoded, else UTF-8."""
    if isinstance(secret, str) and secret.startswith(_WHSEC):
        try:
            return base64.b64decode(secret[len(_WHSEC) :] + "==")
        except (binascii.Error, ValueError):
            pass  # not base64 after all: use it as it is, like any other secret
    return _key(secret)


def sign(body: bytes, secret: str | bytes) -> str:
    """The `X-Signature-256` header value for `body`: `sha256=<hex digest>`."""
    return _PREFIX + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def _standard_digest(message_id: str, timestamp: str, body: bytes, secret: str | bytes) -> bytes:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return hmac.new(standard_key(secret), signed, hashlib.sha256).digest()


def sign_standard(
    message_id: str, timestamp: int, body: bytes, secrets: Iterable[str | bytes]
) -> str:
    """The `webhook-signature` header value: one `v1,<base64>` per secret, space-separated."""
    return " ".join(
        "v1," + base64.b64encode(_standard_digest(message_id, str(timestamp), body, s)).decode()
        for s in secrets
    )


def verify(
    body: bytes,
    secret: str | bytes,
    header: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True if the request was signed with `secret`. Compares in constant time; anything missing
    or malformed, or an empty secret, is False.

    `verify(body, secret, x_signature_256)` checks the original header (body only).
    `verify(body, secret, headers=request.headers)` checks the Standard Webhooks signature, and
    that `webhook-timestamp` is within `tolerance` seconds of `now` (default: the clock), so a
    captured request replayed later is refused. Keep the `webhook-id`s you processed to refuse
    a replay within the window too."""
    if not secret or not isinstance(body, bytes | bytearray):
        return False
    if headers is not None:
        return _verify_standard(bytes(body), secret, headers, tolerance, now)
    if not header:
        return False
    expected = sign(bytes(body), secret)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8"))


def _verify_standard(
    body: bytes,
    secret: str | bytes,
    headers: Mapping[str, str],
    tolerance: float,
    now: float | None,
) -> bool:
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    message_id = lower.get(ID_HEADER, "")
    timestamp = lower.get(TIMESTAMP_HEADER, "")
    signatures = lower.get(STANDARD_SIGNATURE_HEADER, "")
    if not (message_id and timestamp.isdigit() and signatures) or len(timestamp) > 12:
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    expected = _standard_digest(message_id, timestamp, body, secret)
    matched = False
    for candidate in signatures.split(" "):
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        matched |= hmac.compare_digest(expected, given)
    return matched
