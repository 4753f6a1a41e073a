"""Every visitor-facing text, per language, with the placeholders each may use."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from pydantic import Field, root_validator, validator

from handoff_plugin.config.builtin_texts import BUILTIN_TEXTS
from handoff_plugin.config.business_hours import Opening
from handoff_plugin.config.section import Invalid as _Invalid
from handoff_plugin.config.section import Section as _Section

# Every visitor-facing text, with the placeholders it may use.
TEXT_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "escalation_prompt": frozenset(),
    "offer_accept_button": frozenset(),
    "offer_decline_button": frozenset(),
    "offer_declined": frozenset(),
    "email_prompt": frozenset(),
    "email_placeholder": frozenset(),
    "invalid_email": frozenset({"value"}),
    "confirmation": frozenset({"email", "response_time", "chatbot_name"}),
    "already_escalated": frozenset({"email", "response_time"}),
    "expected_response_time": frozenset(),
    "cancelled": frozenset(),
    "unavailable": frozenset(),
    "live_chat_started": frozenset({"agent_name"}),
    "live_chat_ended": frozenset({"agent_name", "chatbot_name"}),
    "offline_confirmation": frozenset({"email", "reopens_at", "chatbot_name"}),
    "reopens_at": frozenset({"day", "time", "city"}),
    "weekdays": frozenset(),
    "no_agent_confirmation": frozenset({"email", "response_time", "chatbot_name"}),
    "queue_position": frozenset({"position"}),
    "expected_wait": frozenset({"minutes"}),
    "expected_wait_one": frozenset(),
    "unanswered": frozenset({"email", "chatbot_name"}),
    "idle_closed": frozenset({"chatbot_name"}),
    "csat_question": frozenset(),
    "csat_ratings": frozenset(),
    "csat_thanks": frozenset(),
    "csat_comment_thanks": frozenset(),
    "transcript_subject": frozenset({"chatbot_name"}),
    "transcript_heading": frozenset({"chatbot_name", "date"}),
    "transcript_times": frozenset({"timezone"}),
    "transcript_you": frozenset(),
}


class Texts(_Section):
    escalation_prompt: str = (
        "I'm not sure I understood that. Would you like to talk to a person from our team?"
    )
    offer_accept_button: str = "Yes, a person please"
    offer_decline_button: str = "No, thanks"
    offer_declined: str = "Alright, let's keep going. What else can I help you with?"
    email_prompt: str = (
        "Sure, I'll get a person from our team. What email address can they reach you at?"
    )
    email_placeholder: str = "you@example.com"
    invalid_email: str = (
        '"{value}" doesn\'t look like an email address. Please check it and send it again, '
        'or say "cancel" to keep chatting with me.'
    )
    confirmation: str = (
        "Thanks! I've passed your request to our team. Someone will reply here or at {email} "
        "{response_time}."
    )
    already_escalated: str = (
        "Our team already has your request and will reply here or at {email} {response_time}."
    )
    expected_response_time: str = "within one business day"
    cancelled: str = "No problem, I won't contact the team. What else can I help you with?"
    unavailable: str = (
        "Sorry, talking to a person isn't available right now. I'm happy to keep helping, though."
    )
    live_chat_started: str = "{agent_name} from our team has joined the chat."
    live_chat_ended: str = "{agent_name} has left the chat. You're back with {chatbot_name}."
    offline_confirmation: str = (
        "Thanks! Our team is away right now and back {reopens_at}. They will follow up at "
        "{email}. Meanwhile, {chatbot_name} is here to help."
    )
    reopens_at: str = "on {day} at {time} ({city} time)"
    weekdays: str = "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday"
    no_agent_confirmation: str = (
        "Thanks! I've passed your request to our team. Nobody is online right now, so they will "
        "follow up at {email} {response_time}. Meanwhile, {chatbot_name} is here to help."
    )
    queue_position: str = "You are number {position} in line."
    expected_wait: str = "The expected wait is about {minutes} minutes."
    expected_wait_one: str = "The expected wait is about a minute."
    unanswered: str = (
        "Sorry for the wait! Nobody could answer yet, so our team will follow up at {email}. "
        "Meanwhile, {chatbot_name} is here to help."
    )
    idle_closed: str = (
        "This chat was closed because it was quiet for a while. You're back with "
        "{chatbot_name}; ask for a person again any time."
    )

    csat_question: str = "How did we do? Please rate this chat."
    csat_ratings: str = "Very poor, Poor, Okay, Good, Excellent"
    csat_thanks: str = (
        "Thank you for your rating! If you'd like to tell us more, just write it in your next "
        "message."
    )
    csat_comment_thanks: str = "Thanks, we've passed your comment on to the team."

    # The transcript emailed to the visitor after End Live Chat (livechat.transcript_email).
    transcript_subject: str = "Your chat with {chatbot_name}"
    transcript_heading: str = "Here is a copy of your chat with {chatbot_name} on {date}."
    transcript_times: str = "Times are shown in {timezone}."
    transcript_you: str = "You"

    @validator("csat_ratings")
    def _five_ratings(cls, value: str) -> str:  # noqa: N805
        if len([label for label in value.split(",") if label.strip()]) != 5:
            raise ValueError("must name the five answers from worst to best, separated by commas")
        return value

    def csat_labels(self) -> list[str]:
        """The five answers to the satisfaction question, worst (1) to best (5)."""
        return [label.strip() for label in self.csat_ratings.split(",") if label.strip()]

    @validator("weekdays")
    def _seven_days(cls, value: str) -> str:  # noqa: N805
        if len([day for day in value.split(",") if day.strip()]) != 7:
            raise ValueError("must name the seven days from Monday to Sunday, separated by commas")
        return value

    @root_validator(skip_on_failure=True)
    def _placeholders(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        for key, text in values.items():
            used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
            unknown = used - TEXT_PLACEHOLDERS[key]
            if unknown:
                allowed = ", ".join(f"{{{n}}}" for n in sorted(TEXT_PLACEHOLDERS[key])) or "none"
                raise _Invalid(
                    f"{key} uses the unknown placeholder {{{sorted(unknown)[0]}}}; allowed: {allowed}",
                    key=key,
                )
        return values

    def reopens_at_text(self, opening: Opening) -> str:
        """ "on Monday at 09:00 (Berlin time)", in this language."""
        day = [d.strip() for d in self.weekdays.split(",")][opening.at.weekday()]
        return self.render(
            "reopens_at", day=day, time=opening.at.strftime("%H:%M"), city=opening.city
        )

    def render(self, key: str, **values: Any) -> str:
        template: str = getattr(self, key)
        return template.format(**{name: values.get(name, "") for name in TEXT_PLACEHOLDERS[key]})


class LocalizationSettings(_Section):
    default_language: str = "en"
    # Per language, only the texts that differ from the English defaults.
    texts: dict[str, Texts] = Field(default_factory=lambda: {"en": Texts()})

    @validator("texts", pre=True)
    def _languages(cls, value: Any) -> Any:  # noqa: N805
        if not isinstance(value, Mapping):
            raise ValueError("must map a language code (en, de, ...) to its texts")
        for language in value:
            if not re.fullmatch(r"[a-z]{2,3}([-_][A-Za-z]{2,4})?", str(language)):
                raise ValueError(f"{language!r} is not a language code like en, de or pt-BR")
        return value

    def for_language(self, language: str | None) -> Texts:
        """The visitor's language, then its base (de-AT -> de), the bot's default, then en.

        A language counts if texts are configured for it or rasa-handoff ships them; configured
        texts override the shipped ones key by key."""
        base = re.split(r"[-_]", language or "")[0]
        for candidate in (language, base, self.default_language, "en"):
            if candidate and (candidate in self.texts or candidate in BUILTIN_TEXTS):
                return self._texts(candidate)
        return Texts()

    def _texts(self, language: str) -> Texts:
        configured = self.texts.get(language)
        if language not in BUILTIN_TEXTS:
            return configured or Texts()
        own = configured.dict(exclude_unset=True) if configured else {}
        return Texts(**{**BUILTIN_TEXTS[language], **own})


def builtin_defaults(language: str) -> Texts:
    """The texts rasa-handoff ships for `language` (English for one it has none for)."""
    return Texts(**BUILTIN_TEXTS.get(language, {}))
