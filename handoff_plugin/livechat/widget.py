"""rasa-webchat's socket.io protocol: what the widget sends, what it can show.

Inbound: `session_request {session_id}` then `user_uttered {message, customData, session_id}`.
Outbound: `session_confirm {session_id}` and `bot_uttered` payloads. The widget shows a payload
as plain text only when, after it strips `metadata`, exactly `{"text": ...}` is left, so every
extra field this product sends (the message's `seq`, its author) travels in `metadata`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handoff_plugin.models import ChatMessage

SESSION_REQUEST = "session_request"
SESSION_CONFIRM = "session_confirm"
USER_UTTERED = "user_uttered"
BOT_UTTERED = "bot_uttered"
ERROR_EVENT = "livechat_error"  # {code, message[, retry_after]}: a request was refused

MAX_METADATA_BYTES = 16 * 1024
# The parts of a Rasa bot response other than its text, kept with the message.


@dataclass(frozen=True)
class Utterance:
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class ProtocolError:
    code: str
    message: str
    retry_after: float | None = None

    def as_event(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            data["retry_after"] = max(0.1, math.ceil(self.retry_after * 10) / 10)  # never 0
        return data


def parse_user_uttered(data: Any, max_length: int) -> Utterance | ProtocolError:
    """Validate a `user_uttered` event; anything unusable becomes a ProtocolError, never a crash."""
    if not isinstance(data, dict):
        return ProtocolError("invalid_event", "user_uttered expects an object with a `message`")
    message = data.get("message")
    if not isinstance(message, str):
        return ProtocolError("invalid_message", "user_uttered needs a `message` string")
    text = message.strip()
    if not text:
        return ProtocolError("empty_message", "the message is empty")
    if len(text) > max_length:
        return ProtocolError("message_too_long", f"messages are limited to {max_length} characters")
    raw = data.get("customData", data.get("metadata"))
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else None
        except ValueError:
            return ProtocolError("invalid_metadata", "customData is not valid JSON")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return ProtocolError("invalid_metadata", "customData must be an object")
    try:
        size = len(json.dumps(raw))
    except (TypeError, ValueError):
        return ProtocolError("invalid_metadata", "customData must be plain JSON")
    if size > MAX_METADATA_BYTES:
        return ProtocolError(
            "metadata_too_large", f"customData is limited to {MAX_METADATA_BYTES} bytes"
        )
    return Utterance(text, raw)


def _quick_replies(buttons: Any) -> list[dict[str, Any]]:
    return [
        {"content_type": "text", "title": b.get("title", ""), "payload": b.get("payload", "")}
        for b in buttons
        if isinstance(b, Mapping)
    ]


def to_bot_uttered(message: ChatMessage) -> list[dict[str, Any]]:
    """The `bot_uttered` payloads that show `message` in rasa-webchat (shapes as Rasa's own
    socket.io channel sends them), each carrying `metadata.seq`."""
    payload = message.payload or {}
    parts: list[dict[str, Any]] = [
        {"text": part} for part in (message.text or "").strip().split("\n\n") if part
    ]
    buttons = payload.get("quick_replies") or payload.get("buttons")
    if buttons:
        if not parts:
            parts = [{"text": ""}]
        parts[-1]["quick_replies"] = _quick_replies(buttons)
    custom = payload.get("custom")
    if isinstance(custom, Mapping):
        parts.append(dict(custom))
    elif custom is not None:
        parts.append({"custom": custom})
    if payload.get("image"):
        parts.append({"attachment": {"type": "image", "payload": {"src": payload["image"]}}})
    if payload.get("attachment"):
        parts.append({"attachment": payload["attachment"]})
    if payload.get("elements"):  # one carousel (the widget needs the list, not one element)
        carousel = {"template_type": "generic", "elements": list(payload["elements"])}
        parts.append({"attachment": {"type": "template", "payload": carousel}})
    metadata: dict[str, Any] = {"seq": message.seq, "author": message.author.value}
    if message.agent is not None:  # who is talking (the adapter script shows it)
        metadata["agent_name"] = message.agent.name
        if message.agent.avatar_url:
            metadata["agent_avatar_url"] = message.agent.avatar_url
    return [{**part, "metadata": metadata} for part in parts]
