"""The escalation service: record that a visitor needs a person, once, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import structlog

from handoff_plugin.config.settings import Settings, SettingsProvider
from handoff_plugin.models import (
    ConversationState,
    Escalation,
    TranscriptLine,
    Trigger,
    VisitorProfile,
)
from handoff_plugin.store import Store
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.queries.conversations import ConversationQueries

log = structlog.get_logger(__name__)

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


@dataclass(frozen=True)
class EscalationRequest:
    sender_id: str
    channel: str | None
    trigger: Trigger
    message: str  # the visitor message that asked for a person (or that the bot did not get)
    profile: VisitorProfile = VisitorProfile()
    last_message: str | None = None
    language: str | None = None
    transcript: tuple[TranscriptLine, ...] = ()  # the latest lines, for the notifications

    @classmethod
    def from_events(
        cls,
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
        return cls(
            sender_id=sender_id,
            channel=channel or (user_events[-1].get("input_channel") if user_events else None),
            trigger=trigger,
            message=message,
            profile=profile,
            last_message=last,
            language=_text(metadata.get("language"), 16),
            transcript=transcript_from_events(events),
        )


@dataclass(frozen=True)
class EscalationOutcome:
    status: Literal["created", "already_open", "unavailable"]
    visitor_reply: str
    escalation: Escalation | None = None


class EscalationListener(Protocol):
    """Runs inside the escalation's transaction, e.g. to write one outbox row per notifier."""

    async def escalation_created(
        self, tx: StoreTransaction, escalation: Escalation, settings: Settings
    ) -> None: ...


@dataclass
class EscalationService:
    store: Store
    settings: SettingsProvider
    listeners: list[EscalationListener] = field(default_factory=list)

    async def has_open_escalation(self, sender_id: str) -> bool:
        """True while the conversation waits for (or talks to) an agent: don't ask again."""
        async with self.store.transaction() as tx:
            conversation = await ConversationQueries(tx).conversation_by_sender(sender_id)
            return (
                conversation is not None and await ConversationQueries(tx).open_escalation(conversation.id) is not None
            )

    async def escalate(self, request: EscalationRequest) -> EscalationOutcome:
        settings = await self.settings.current()
        texts = settings.localization.for_language(request.language)
        if not settings.escalations.enabled:
            log.info("handoff.escalation.unavailable", sender_id=request.sender_id)
            return EscalationOutcome("unavailable", texts.render("unavailable"))

        async with self.store.transaction() as tx:
            conversation = await ConversationQueries(tx).ensure_conversation(request.sender_id, request.channel)
            if request.last_message:
                await ConversationQueries(tx).record_visitor_message(conversation.id, request.last_message)
            visitor = await ConversationQueries(tx).save_visitor(conversation, request.profile)
            escalation = await ConversationQueries(tx).create_escalation(
                conversation,
                visitor,
                request.trigger,
                request.message or request.last_message or "",
            )
            if escalation is None:
                existing = await ConversationQueries(tx).open_escalation(conversation.id)
                log.info(
                    "handoff.escalation.already_open",
                    conversation_id=conversation.id,
                    escalation_id=existing.id if existing else None,
                )
                reply = texts.render(
                    "already_escalated",
                    email=visitor.email,
                    response_time=texts.expected_response_time,
                )
                return EscalationOutcome("already_open", reply, existing)
            if conversation.state is ConversationState.BOT:
                await ConversationQueries(tx).set_state(conversation.id, ConversationState.ESCALATED)
            escalation = replace(escalation, transcript=request.transcript)
            for listener in self.listeners:
                await listener.escalation_created(tx, escalation, settings)

        log.info(
            "handoff.escalation.created",
            escalation_id=escalation.id,
            conversation_id=escalation.conversation_id,
            trigger=escalation.trigger.value,
        )
        reply = texts.render(
            "confirmation",
            email=visitor.email,
            response_time=texts.expected_response_time,
            chatbot_name=settings.chatbot.name,
        )
        return EscalationOutcome("created", reply, escalation)
