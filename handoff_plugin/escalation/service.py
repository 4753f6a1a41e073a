"""The escalation service: record that a visitor needs a person, once, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

import structlog

from handoff_plugin.config.settings import Settings, SettingsProvider
from handoff_plugin.models import (
    ConversationState,
    Escalation,
    TranscriptLine,
    Trigger,
    Visitor,
    VisitorProfile,
    short_id,
)
from handoff_plugin.routing import desk
from handoff_plugin.store import Store
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.desk import DeskQueries

log = structlog.get_logger(__name__)


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


@dataclass(frozen=True)
class _Recorded:
    """What the escalation's unit of work wrote and found out, for the visitor's reply."""

    escalation: Escalation
    visitor: Visitor
    now: datetime
    is_open: bool
    online: bool
    queue: str


@dataclass
class EscalationService:
    store: Store
    settings: SettingsProvider
    listeners: list[EscalationListener] = field(default_factory=list)

    async def has_open_escalation(self, sender_id: str) -> bool:
        """True while the conversation waits for (or talks to) an agent: don't ask again."""

        async def has_open(tx: StoreTransaction) -> bool:
            conversation = await ConversationQueries(tx).conversation_by_sender(sender_id)
            return (
                conversation is not None
                and await ConversationQueries(tx).open_escalation(conversation.id) is not None
            )

        return await self.store.run(has_open, read_only=True)

    async def escalate(self, request: EscalationRequest) -> EscalationOutcome:
        settings = await self.settings.current()
        texts = settings.localization.for_language(request.language)
        if not settings.escalations.enabled:
            log.info("handoff.escalation.unavailable", sender=short_id(request.sender_id))
            return EscalationOutcome("unavailable", texts.render("unavailable"))

        async def record(tx: StoreTransaction) -> _Recorded | EscalationOutcome:
            conversation = await ConversationQueries(tx).ensure_conversation(
                request.sender_id, request.channel
            )
            if request.last_message:
                await ConversationQueries(tx).record_visitor_message(
                    conversation.id, request.last_message
                )
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
                await ConversationQueries(tx).set_state(
                    conversation.id, ConversationState.ESCALATED
                )
            escalation = replace(escalation, transcript=request.transcript)
            for listener in self.listeners:
                await listener.escalation_created(tx, escalation, settings)
            hours = settings.business_hours.hours()
            now = tx.clock()
            is_open = hours is None or hours.is_open(now)
            online = is_open and await desk.anyone_online(tx, settings)
            queue = ""
            if online:
                position = await DeskQueries(tx).position(escalation.id)
                if position is not None:
                    await DeskQueries(tx).tell_position(
                        escalation.id, position, was=None, throttle=timedelta(0)
                    )
                    queue = desk.queue_text(texts, position, await desk.expected_wait(tx))
            else:  # the confirmation says the team follows up by email: no reminder of it later
                await DeskQueries(tx).tell_unanswered(escalation.id)
            return _Recorded(escalation, visitor, now, is_open, online, queue)

        # One unit of work (Store.run): on SQLite the write lock, shared with the Rasa
        # process's turns, is held for one trip.
        recorded = await self.store.run(record)
        if isinstance(recorded, EscalationOutcome):
            return recorded
        escalation, visitor, now = recorded.escalation, recorded.visitor, recorded.now
        hours = settings.business_hours.hours()
        log.info(
            "handoff.escalation.created",
            escalation_id=escalation.id,
            conversation_id=escalation.conversation_id,
            trigger=escalation.trigger.value,
        )
        # Notifications went out all the same; the visitor learns what to expect of the team.
        if hours is not None and not recorded.is_open:
            reply = texts.render(
                "offline_confirmation",
                email=visitor.email,
                reopens_at=texts.reopens_at_text(hours.next_opening(now)),
                chatbot_name=settings.chatbot.name,
            )
        else:
            reply = texts.render(
                "confirmation" if recorded.online else "no_agent_confirmation",
                email=visitor.email,
                response_time=texts.expected_response_time,
                chatbot_name=settings.chatbot.name,
            )
            if recorded.queue:
                reply = f"{reply} {recorded.queue}"
        return EscalationOutcome("created", reply, escalation)
