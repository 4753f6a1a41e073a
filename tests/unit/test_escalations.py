from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from handoff_plugin.config.settings import Settings, StaticSettings
from handoff_plugin.escalation.service import EscalationRequest, EscalationService
from handoff_plugin.models import ConversationState, Trigger, VisitorProfile
from handoff_plugin.rasa_bridge.tracker import request_from_events
from handoff_plugin.store import Store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.tables import escalations, visitors


def request(sender: str = "visitor-1", **overrides: Any) -> EscalationRequest:
    values: dict[str, Any] = {
        "sender_id": sender,
        "channel": "rest",
        "trigger": Trigger.INTENT,
        "message": "I want to talk to a human",
        "profile": VisitorProfile(email="ann@example.com", first_name="Ann"),
        "last_message": "ann@example.com",
    }
    values.update(overrides)
    return EscalationRequest(**values)


async def rows(store: Store, table: sa.Table) -> list[Any]:
    async with store.transaction() as tx:
        return list((await tx.conn.execute(sa.select(table))).all())


async def test_an_escalation_is_stored_with_visitor_and_conversation(
    store: Store, settings_provider: StaticSettings
) -> None:
    outcome = await EscalationService(store, settings_provider).escalate(request())

    assert outcome.status == "created"
    assert "ann@example.com" in outcome.visitor_reply
    assert "within one business day" in outcome.visitor_reply
    assert outcome.escalation is not None
    assert outcome.escalation.visitor.email == "ann@example.com"
    assert outcome.escalation.trigger is Trigger.INTENT
    assert outcome.escalation.message == "I want to talk to a human"
    async with store.transaction() as tx:
        conversation = await ConversationQueries(tx).conversation_by_sender("visitor-1")
    assert conversation is not None
    assert conversation.state is ConversationState.ESCALATED
    assert conversation.last_message == "ann@example.com"
    assert isinstance(conversation.id, int)


async def test_a_second_escalation_while_one_is_open_is_not_duplicated(
    store: Store, settings_provider: StaticSettings
) -> None:
    service = EscalationService(store, settings_provider)
    first = await service.escalate(request())
    second = await service.escalate(request(message="HUMAN NOW"))

    assert second.status == "already_open"
    assert second.escalation is not None and first.escalation is not None
    assert second.escalation.id == first.escalation.id
    assert "already has your request" in second.visitor_reply
    assert len(await rows(store, escalations)) == 1


async def test_after_the_escalation_is_closed_a_new_one_is_recorded(
    store: Store, settings_provider: StaticSettings
) -> None:
    service = EscalationService(store, settings_provider)
    first = await service.escalate(request())
    assert first.escalation is not None
    async with store.transaction() as tx:
        await ConversationQueries(tx).close_open_escalation(first.escalation.conversation_id)
    again = await service.escalate(request())
    assert again.status == "created"
    assert len(await rows(store, escalations)) == 2


async def test_disabled_escalations_record_nothing_and_say_unavailable(
    store: Store, make_settings: Callable[..., Settings]
) -> None:
    provider = StaticSettings(make_settings(escalations={"enabled": False}))
    outcome = await EscalationService(store, provider).escalate(request())
    assert outcome.status == "unavailable"
    assert "isn't available" in outcome.visitor_reply
    assert await rows(store, escalations) == []
    assert await rows(store, visitors) == []


async def test_the_same_email_in_a_new_conversation_is_the_same_visitor(
    store: Store, settings_provider: StaticSettings
) -> None:
    service = EscalationService(store, settings_provider)
    await service.escalate(request("tab-1"))
    await service.escalate(request("tab-2", profile=VisitorProfile(email="ANN@example.com")))
    assert len(await rows(store, visitors)) == 1
    assert len(await rows(store, escalations)) == 2


async def test_the_confirmation_is_localized(
    store: Store, make_settings: Callable[..., Settings]
) -> None:
    texts = {
        "de": {
            # Nobody is online in this store: the no-agent confirmation is the one shown.
            "no_agent_confirmation": "Danke! Wir melden uns unter {email} {response_time}.",
            "expected_response_time": "innerhalb eines Werktags",
        }
    }
    provider = StaticSettings(make_settings(localization={"texts": {"en": {}, **texts}}))
    outcome = await EscalationService(store, provider).escalate(request(language="de"))
    assert outcome.visitor_reply == (
        "Danke! Wir melden uns unter ann@example.com innerhalb eines Werktags."
    )


class RecordingListener:
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def escalation_created(self, tx: Any, escalation: Any, settings: Settings) -> None:
        self.seen.append(escalation.id)


async def test_listeners_run_once_per_new_escalation(
    store: Store, settings_provider: StaticSettings
) -> None:
    listener = RecordingListener()
    service = EscalationService(store, settings_provider, [listener])
    await service.escalate(request())
    await service.escalate(request())
    assert len(listener.seen) == 1


def user(text: str, intent: str, **extra: Any) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, **extra}


def test_request_from_events_finds_the_message_that_asked_for_a_person() -> None:
    events = [
        user("hello", "greet", input_channel="socketio"),
        {"event": "bot", "text": "Hi!"},
        user(
            "can I talk to a real person",
            "human_handoff",
            metadata={"email": "bo@example.com", "first_name": "Bo", "language": "de"},
        ),
        {"event": "action", "name": "handoff_form"},
        {"event": "active_loop", "name": "handoff_form"},
        {"event": "action", "name": "action_listen"},
        # The email answer may itself be classified as human_handoff: it is not the request.
        user("bo@example.com", "human_handoff", input_channel="socketio"),
    ]
    req = request_from_events("s1", events, email="bo@example.com")
    assert req.trigger is Trigger.INTENT
    assert req.message == "can I talk to a real person"
    assert req.last_message == "bo@example.com"
    assert req.channel == "socketio"
    assert req.profile == VisitorProfile(email="bo@example.com", first_name="Bo")
    assert req.language == "de"


def test_request_from_events_after_an_offer_is_a_fallback_with_the_unclear_message() -> None:
    events = [
        user("my flux capacitor is wobbly", "nlu_fallback"),
        {"event": "action", "name": "action_offer_handoff"},
        {"event": "action", "name": "action_listen"},
        user("/affirm", "affirm"),
        {"event": "action", "name": "handoff_form"},
        {"event": "active_loop", "name": "handoff_form"},
        user("eve@example.com", "human_handoff"),
    ]
    req = request_from_events("s1", events)
    assert req.trigger is Trigger.FALLBACK
    assert req.message == "my flux capacitor is wobbly"


def test_request_from_a_website_payload_is_a_payload_trigger() -> None:
    req = request_from_events("s1", [user("/human_handoff", "human_handoff")])
    assert req.trigger is Trigger.PAYLOAD
