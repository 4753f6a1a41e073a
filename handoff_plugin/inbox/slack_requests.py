"""What Slack sends to /webhooks/slack/*: verified, then sorted into what rasa-handoff acts on.

Pure functions, no I/O: `verify` checks the signature and age of a request (slack-sdk's
`SignatureVerifier`), `read_event` and `read_interaction` turn an Events API envelope or a Block
Kit `block_actions` payload into a `ThreadReply`, a `ButtonClick` or an `Ignored` with the reason.
Only a plain message in a thread, written by a person, can ever reach a visitor: edits
(`message_changed`), deletions, bot messages and every other subtype are ignored here.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from handoff_plugin.delivery.notifiers.slack import CLAIM_ACTION, END_ACTION

MAX_BODY = 256 * 1024  # bytes: Slack's events are a few KB; anything bigger is not Slack
MAX_AGE = 5 * 60  # seconds a signed request stays acceptable (replays are refused after)


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    now: Callable[[], float] = time.time,
) -> str | None:
    """None if Slack signed `body` with `secret` less than 5 minutes ago; else why not."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("x-slack-request-timestamp")
    signature = lowered.get("x-slack-signature")
    if not timestamp or not signature:
        return "unsigned"
    try:
        age = abs(now() - int(timestamp))
    except ValueError:
        return "bad timestamp"
    if age > MAX_AGE:
        return "stale"
    if not SignatureVerifier(secret, _Clock(now)).is_valid(body, timestamp, signature):
        return "bad signature"
    return None


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class UrlVerification:
    challenge: str


@dataclass(frozen=True)
class ThreadReply:
    """A person wrote `text` in the thread that starts at `thread_ts`."""

    event_id: str
    user: str
    channel: str
    thread_ts: str
    text: str


@dataclass(frozen=True)
class ButtonClick:
    """`user` pressed Claim or End Live Chat on the message `message_ts`."""

    action: str  # "claim" | "end"
    user: str
    channel: str
    message_ts: str
    trigger_id: str


_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>]+)>")


def plain_text(text: str) -> str:
    """Slack's message markup as the visitor should read it: `<url|label>` -> label (url),
    `<url>` -> url, `&lt;` -> `<`."""

    def link(match: re.Match[str]) -> str:
        if match.group(3) is not None:
            return match.group(3)
        target, label = match.group(1), match.group(2)
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_LINK.sub(link, text))


def is_note(text: str, prefix: str) -> bool:
    """An internal note: starts with `prefix` (any case) after leading whitespace."""
    return text.lstrip().lower().startswith(prefix.strip().lower())


def without_prefix(text: str, prefix: str) -> str:
    return text.lstrip()[len(prefix.strip()) :].strip()


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def read_event(envelope: Any) -> ThreadReply | UrlVerification | Ignored:
    """An Events API request: the URL check, a reply in a thread, or something ignored."""
    if not isinstance(envelope, dict):
        return Ignored("not a JSON object")
    if envelope.get("type") == "url_verification":
        return UrlVerification(str(envelope.get("challenge") or ""))
    if envelope.get("type") != "event_callback":
        return Ignored(f"type {envelope.get('type')!r}")
    event = envelope.get("event")
    if not isinstance(event, dict) or event.get("type") != "message":
        return Ignored("not a message")
    if event.get("subtype"):  # message_changed, message_deleted, bot_message, file_share, ...
        return Ignored(f"subtype {event.get('subtype')!r}")
    if event.get("bot_id") or event.get("bot_profile"):
        return Ignored("written by a bot")
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    if not thread_ts or thread_ts == ts:
        return Ignored("not a reply in a thread")
    user, channel, text = event.get("user"), event.get("channel"), event.get("text")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(text, str)):
        return Ignored("no user, channel or text")
    if not text.strip():
        return Ignored("empty")
    event_id = str(envelope.get("event_id") or f"{channel}:{ts}")
    return ThreadReply(event_id, user, channel, str(thread_ts), plain_text(text))


def read_interaction(body: bytes) -> ButtonClick | Ignored:
    """A Block Kit request (form-encoded `payload`): Claim or End Live Chat pressed, or not."""
    try:
        payload = json.loads(parse_qs(body.decode("utf-8")).get("payload", [""])[0])
    except (UnicodeDecodeError, ValueError):
        return Ignored("no JSON payload")
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return Ignored("not a button")
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    kind = {CLAIM_ACTION: "claim", END_ACTION: "end"}.get(str(action.get("action_id")))
    if kind is None:
        return Ignored(f"action {action.get('action_id')!r}")
    user = (payload.get("user") or {}).get("id")
    container = payload.get("container") or {}
    channel = container.get("channel_id") or (payload.get("channel") or {}).get("id")
    message_ts = container.get("message_ts") or (payload.get("message") or {}).get("ts")
    if not (user and channel and message_ts):
        return Ignored("no user, channel or message")
    trigger = str(payload.get("trigger_id") or f"{channel}:{message_ts}:{action.get('action_ts')}")
    return ButtonClick(kind, str(user), str(channel), str(message_ts), trigger)
