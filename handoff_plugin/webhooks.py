"""Verifying rasa-handoff's webhook signatures on the receiving side (the documented import path).

`verify(body, secret, x_signature_256)` checks `X-Signature-256`; `verify(body, secret,
headers=request.headers, tolerance=300)` checks the Standard Webhooks `webhook-signature` and
refuses stale timestamps. The implementation lives in `handoff_plugin.delivery.signing`."""

from handoff_plugin.delivery.signing import (
    DEFAULT_TOLERANCE,
    ID_HEADER,
    SIGNATURE_HEADER,
    STANDARD_SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    sign_standard,
    verify,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "STANDARD_SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign",
    "sign_standard",
    "verify",
]
