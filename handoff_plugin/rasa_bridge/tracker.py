"""What an escalation needs, read from a Rasa tracker's events (plain dicts, newest last):
the trigger, the message that asked, the visitor's profile and language, the latest lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from handoff_plugin.escalation.service import EscalationRequest
from handoff_plugin.models import TranscriptLine, Trigger, VisitorProfile

HANDOFF_FORM = "handoff_form"
OFFER_ACTION = "action_offer_handoff"
PROFILE_KEYS = ("email", "first_name", "last_name", "phone")
TRANSCRIPT_LINES = 10
TRANSCRIPT_LINE_CHARS = 500


def _text(value: Any, limit: int = 200) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def profile_from_metadata(metadata: Mapping[str, Any] | None) -> VisitorProfile:
    """The visitor fields a website passes in rasa-webchat's `customData` (message metadata)."""
    metadata = metadata or {}
    return VisitorProfile(**{key: _text(metadata.get(key)) for key in PROFILE_KEYS})


def latest_metadata(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Metadata of the newest user message that carried any (profile, language...)."""
    for event in reversed(events):
        if event.get("event") == "user" and event.get("metadata"):
            return dict(event["metadata"])
    return {}


def transcript_from_events(
    events: Sequence[Mapping[str, Any]], limit: int = TRANSCRIPT_LINES
) -> tuple[TranscriptLine, ...]:
    """The last `limit` visitor and bot lines; a clicked button shows as its title."""
    lines: list[TranscriptLine] = []
    buttons: dict[str, str] = {}
    for event in events:
        text = event.get("text")
        if event.get("event") == "bot":
            data = event.get("data") or {}
            buttons.update(
                (str(b.get("payload")), str(b.get("title")))
                for b in data.get("buttons") or ()
                if isinstance(b, Mapping) and b.get("payload") and b.get("title")
            )
            if isinstance(text, str) and text.strip():
                lines.append(TranscriptLine("bot", text.strip()[:TRANSCRIPT_LINE_CHARS]))
        elif event.get("event") == "user":
            if isinstance(text, str) and text.strip():
                shown = buttons.get(text.strip(), text.strip())
                lines.append(TranscriptLine("visitor", shown[:TRANSCRIPT_LINE_CHARS]))
            buttons = {}  # buttons offered before this message can no longer be clicked
    return tuple(lines[-limit:]) if limit > 0 else ()


def _trigger_and_message(events: Sequence[Mapping[str, Any]]) -> tuple[Trigger, str]:
    """Why the handoff form started: the visitor message that activated it, or, when that
    message accepted the bot's offer, the message the bot did not understand."""
    start = len(events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == HANDOFF_FORM:
            start = index
            break
    before = events[:start]
    users = [i for i, e in enumerate(before) if e.get("event") == "user"]
    if not users:
        return Trigger.INTENT, ""
    asking = before[users[-1]]
    actions = [
        e.get("name")
        for e in before[: users[-1]]
        if e.get("event") == "action" and e.get("name") != "action_listen"
    ]
    if actions and actions[-1] == OFFER_ACTION:
        unclear = [before[i] for i in users[:-1]]
        return Trigger.FALLBACK, (unclear[-1].get("text") or "") if unclear else ""
    text = asking.get("text") or ""
    return (Trigger.PAYLOAD if text.startswith("/") else Trigger.INTENT), text



def request_from_events(
    sender_id: str,
    events: Sequence[Mapping[str, Any]],
    *,
    email: str | None = None,
    channel: str | None = None,
) -> EscalationRequest:
    """Derive trigger and asking message from a Rasa tracker's events (newest last)."""
    user_events = [e for e in events if e.get("event") == "user"]
    trigger, message = _trigger_and_message(events)
    metadata = latest_metadata(events)
    profile = profile_from_metadata(metadata)
    if email:
        profile = VisitorProfile(email, profile.first_name, profile.last_name, profile.phone)
    last = user_events[-1].get("text") if user_events else None
    return EscalationRequest(
        sender_id=sender_id,
        channel=channel or (user_events[-1].get("input_channel") if user_events else None),
        trigger=trigger,
        message=message,
        profile=profile,
        last_message=last,
        language=_text(metadata.get("language"), 16),
        transcript=transcript_from_events(events),
    )


