"""Custom actions of the handoff flow: thin adapters from rasa-sdk to the services.

A bot registers them by importing this module from its `actions` package."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from handoff_plugin.addresses import find_email
from handoff_plugin.config.settings import Settings
from handoff_plugin.config.texts import Texts
from handoff_plugin.rasa_bridge.tracker import latest_metadata, request_from_events
from handoff_plugin.services import services

EMAIL_SLOT = "handoff_email"


async def _settings_and_texts(tracker: Tracker) -> tuple[Settings, Texts]:
    settings = await (await services()).settings.current()
    language = latest_metadata(tracker.events).get("language")
    return settings, settings.localization.for_language(language)


class ActionOfferHandoff(Action):
    """The bot is unsure what the visitor meant: offer a person, with yes/no buttons."""

    def name(self) -> str:
        return "action_offer_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings, texts = await _settings_and_texts(tracker)
        if not settings.escalations.enabled:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(
            text=texts.escalation_prompt,
            buttons=[
                {"title": texts.offer_accept_button, "payload": "/affirm"},
                {"title": texts.offer_decline_button, "payload": "/deny"},
            ],
        )
        return []


class ActionHandoffDeclined(Action):
    def name(self) -> str:
        return "action_handoff_declined"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        _, texts = await _settings_and_texts(tracker)
        dispatcher.utter_message(text=texts.offer_declined)
        return []


class ValidateHandoffForm(FormValidationAction):
    """Asks for the email unless the website already sent a valid one; skips all when disabled."""

    def name(self) -> str:
        return "validate_handoff_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        settings, _ = await _settings_and_texts(tracker)
        # With escalations off, or one already open, the form ends at once and
        # action_escalate says so instead of asking for an email it will not use.
        if not settings.escalations.enabled:
            return []
        if await (await services()).escalations.has_open_escalation(tracker.sender_id):
            return []
        return domain_slots

    async def extract_handoff_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(EMAIL_SLOT) or tracker.get_slot("requested_slot") == EMAIL_SLOT:
            return {}
        known = find_email(latest_metadata(tracker.events).get("email"))
        return {EMAIL_SLOT: known} if known else {}

    async def validate_handoff_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        email = find_email(value)
        if email is None:
            _, texts = await _settings_and_texts(tracker)
            dispatcher.utter_message(text=texts.render("invalid_email", value=str(value)[:200]))
        return {EMAIL_SLOT: email}


class ActionAskHandoffEmail(Action):
    def name(self) -> str:
        return "action_ask_handoff_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("requested_slot") == EMAIL_SLOT:
            return []  # asked before: the invalid_email reply already asks to send it again
        _, texts = await _settings_and_texts(tracker)
        dispatcher.utter_message(text=texts.email_prompt)
        return []


class ActionEscalate(Action):
    def name(self) -> str:
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        request = request_from_events(
            tracker.sender_id,
            tracker.events,
            email=tracker.get_slot(EMAIL_SLOT),
            channel=tracker.get_latest_input_channel(),
        )
        outcome = await (await services()).escalations.escalate(request)
        dispatcher.utter_message(text=outcome.visitor_reply)
        # Forget the email so a later handoff in this conversation asks (or confirms) afresh.
        return [SlotSet(EMAIL_SLOT, None)]


class ActionHandoffCancelled(Action):
    def name(self) -> str:
        return "action_handoff_cancelled"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        _, texts = await _settings_and_texts(tracker)
        dispatcher.utter_message(text=texts.cancelled)
        return [ActiveLoop(None), SlotSet(EMAIL_SLOT, None), SlotSet("requested_slot", None)]
