"""Signing webhook bodies, and verifying them on the receiving side.

rasa-handoff sends `X-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`. A Python receiver
checks it with `verify(request_body_bytes, secret, request.headers.get("X-Signature-256"))`, over
the raw bytes it received (not re-serialized JSON).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Signature-256"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
_PREFIX = "sha256="


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(body: bytes, secret: str | bytes) -> str:
    """The `X-Signature-256` header value for `body`: `sha256=<hex digest>`."""
    return _PREFIX + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str | bytes, header: str | None) -> bool:
    """True if `header` is the signature of exactly these bytes with this secret.

    Compares in constant time; a missing or malformed header, or an empty secret, is False."""
    if not header or not secret or not isinstance(body, bytes | bytearray):
        return False
    expected = sign(bytes(body), secret)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8"))
