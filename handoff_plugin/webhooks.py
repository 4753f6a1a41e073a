"""Verifying rasa-handoff's webhook signatures on the receiving side (the documented import path).

The implementation lives in `handoff_plugin.delivery.signing`."""

from handoff_plugin.delivery.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify,
)

__all__ = ["ID_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "verify"]
