"""The Settings page's data: what it shows (secrets only as set / not set) and how a change
from it is checked and saved (`StoredSettings`), field by field, with the reason for a refusal."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from handoff_plugin.config.builtin_texts import BUILTIN_TEXTS
from handoff_plugin.config.settings import Settings, check_texts
from handoff_plugin.config.texts import TEXT_PLACEHOLDERS, Texts, builtin_defaults
from handoff_plugin.errors import ConfigurationError, InvalidInput
from handoff_plugin.inbox.slack_app import (
    connect_available,
    events_url,
    interactions_url,
    redirect_uri,
)
from handoff_plugin.store.queries.settings import Actor
from handoff_plugin.store.saved_settings import StoredSettings

# What the page may change: section -> key -> kind. Everything else (database, SMTP server,
# live-chat secrets...) stays in handoff.yml and env vars.
EDITABLE: dict[str, dict[str, str]] = {
    "escalations": {"enabled": "bool"},
    "chatbot": {"id": "str", "name": "str"},
    "inbox": {"public_url": "str"},
    "email": {"enabled": "bool", "recipients": "str", "round_robin": "bool"},
    "slack": {
        "enabled": "bool",
        "bot_token": "secret",
        "channel": "str",
        "signing_secret": "secret",
        "note_prefix": "str",
        "client_id": "str",
        "client_secret": "secret",
    },
    "webhook": {"enabled": "bool", "url": "str", "secret": "secret"},
    "business_hours": {"enabled": "bool", "timezone": "str", "windows": "str"},
    "presence": {"away_after": "number"},
    "routing": {
        "auto_assign": "bool",
        "max_live_chats": "number",
        "unanswered_after": "number",
        "abandon_after": "number",
    },
    "livechat": {"idle_close_after": "number", "csat": "bool", "transcript_email": "bool"},
}
MAX_TEXT = 2000
LANGUAGE = re.compile(r"[a-z]{2,3}([-_][A-Za-z]{2,4})?")

TEXT_LABELS: dict[str, str] = {
    "escalation_prompt": "Offer of a person when the bot is unsure",
    "offer_accept_button": "Button: accept the offer",
    "offer_decline_button": "Button: decline the offer",
    "offer_declined": "Reply when the offer is declined",
    "email_prompt": "Question for the visitor's email",
    "email_placeholder": "Email placeholder",
    "invalid_email": "Reply to an invalid email",
    "confirmation": "Confirmation of the escalation",
    "already_escalated": "Reply when the team already has the request",
    "expected_response_time": "Expected response time",
    "cancelled": "Reply when the visitor cancels",
    "unavailable": "Reply when escalations are disabled",
    "live_chat_started": "Live chat started (an agent joined)",
    "live_chat_ended": "Live chat ended (back to the bot)",
    "offline_confirmation": "Confirmation outside business hours",
    "reopens_at": "When the team is back (fills {reopens_at})",
    "weekdays": "Weekday names, Monday to Sunday, comma-separated",
    "no_agent_confirmation": "Confirmation when no agent is online",
    "queue_position": "Position in the queue (at escalation and when it changes)",
    "expected_wait": "Expected wait (shown with enough history)",
    "expected_wait_one": "Expected wait when it is about a minute",
    "unanswered": "Nobody answered in time: the team follows up by email",
    "idle_closed": "Live chat closed because the visitor was quiet",
    "csat_question": "Satisfaction question after End Live Chat",
    "csat_ratings": "Its five answers, worst to best, comma-separated",
    "csat_thanks": "Thanks for a rating (invites a comment)",
    "csat_comment_thanks": "Thanks for a comment",
    "transcript_subject": "Subject of the transcript emailed to the visitor",
    "transcript_heading": "Its first line ({date}: the day the chat ended)",
    "transcript_times": "Its note on the time zone of the times shown",
    "transcript_you": "How the visitor's lines are labelled in it",
}
SLACK_UNAVAILABLE = (
    "Save a Slack bot token and a channel first: Connect to Slack does both (with the app's "
    "Client ID and Client Secret saved below); or create a Slack app with the chat:write scope, "
    "install it to your workspace, paste its bot token and invite the bot to the channel."
)


class SettingsRejected(InvalidInput):
    """A change from the Settings page that cannot be saved; `field` names the input."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def settings_view(settings: Settings) -> dict[str, Any]:
    slack_ready = bool(settings.slack.bot_token.get_secret_value() and settings.slack.channel)
    localization = settings.localization
    languages = sorted(
        set(localization.texts) | {"en", localization.default_language} | set(BUILTIN_TEXTS)
    )
    return {
        "escalations": {"enabled": settings.escalations.enabled},
        "chatbot": {"id": settings.chatbot.id, "name": settings.chatbot.name},
        "inbox": {"public_url": settings.inbox.public_url},
        "email": {
            "enabled": settings.email.enabled,
            "recipients": "; ".join(settings.email.recipients),
            "round_robin": settings.email.round_robin,
        },
        "slack": {
            "enabled": settings.slack.enabled,
            "channel": settings.slack.channel,
            "bot_token_set": bool(settings.slack.bot_token.get_secret_value()),
            "available": slack_ready,
            "unavailable_reason": None if slack_ready else SLACK_UNAVAILABLE,
            "signing_secret_set": bool(settings.slack.signing_secret.get_secret_value()),
            "note_prefix": settings.slack.note_prefix,
            "client_id": settings.slack.client_id,
            "client_secret_set": bool(settings.slack.client_secret.get_secret_value()),
            "connect_available": connect_available(settings.slack),
            # What to paste into the Slack app's pages (read-only here).
            "api_url": settings.slack.api_url,
            "redirect_url": redirect_uri(settings.inbox.public_url),
            "events_url": events_url(settings.inbox.public_url),
            "interactions_url": interactions_url(settings.inbox.public_url),
        },
        "webhook": {
            "enabled": settings.webhook.enabled,
            "url": settings.webhook.url,
            "secret_set": bool(settings.webhook.secret.get_secret_value()),
        },
        "business_hours": {
            "enabled": settings.business_hours.enabled,
            "timezone": settings.business_hours.timezone,
            "windows": settings.business_hours.windows,
        },
        "presence": {"away_after": settings.presence.away_after},
        "routing": {
            "auto_assign": settings.routing.auto_assign,
            "max_live_chats": settings.routing.max_live_chats,
            "unanswered_after": settings.routing.unanswered_after,
            "abandon_after": settings.routing.abandon_after,
        },
        "livechat": {
            "idle_close_after": settings.livechat.idle_close_after,
            "csat": settings.livechat.csat,
            "transcript_email": settings.livechat.transcript_email,
        },
        "localization": {
            "default_language": localization.default_language,
            "languages": {
                language: localization.for_language(language).dict() for language in languages
            },
            "defaults": Texts().dict(),
            # What "Reset to default" goes back to, per language (English where none ships).
            "language_defaults": {
                language: builtin_defaults(language).dict() for language in languages
            },
            "keys": list(TEXT_PLACEHOLDERS),
            "labels": TEXT_LABELS,
            "placeholders": {k: sorted(v) for k, v in TEXT_PLACEHOLDERS.items()},
        },
    }


def _plain_changes(body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for section, values in body.items():
        if section == "localization":
            continue
        if section not in EDITABLE:
            raise SettingsRejected(
                f"{section!r} cannot be changed from the inbox; "
                f"allowed: {', '.join([*EDITABLE, 'localization'])}",
                None,
            )
        if not isinstance(values, Mapping):
            raise SettingsRejected(f"{section} must be an object of keys to values", section)
        for key, value in values.items():
            kind = EDITABLE[section].get(key)
            field = f"{section}.{key}"
            if kind is None:
                raise SettingsRejected(
                    f"{field} cannot be changed from the inbox; "
                    f"allowed in {section}: {', '.join(EDITABLE[section])}",
                    field,
                )
            if kind == "secret" and value is None:
                continue  # write-only: not sent means keep the saved one
            if kind == "bool" and not isinstance(value, bool):
                raise SettingsRejected(f"{field} must be true or false", field)
            if kind in ("str", "secret") and not isinstance(value, str):
                raise SettingsRejected(f"{field} must be a string", field)
            if kind == "number":
                value = _number(field, value)
            changes.setdefault(section, {})[key] = (
                value.strip() if isinstance(value, str) else value
            )
    return changes


def _number(field: str, value: object) -> float | int:
    """A number from JSON or from a form's text input ("15", "1.5"); the range is the
    setting's own check."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            raise SettingsRejected(f"{field} must be a number, not {text!r}", field) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise SettingsRejected(f"{field} must be a number", field)
    return int(value) if float(value).is_integer() else float(value)


def _text_changes(body: Mapping[str, Any]) -> tuple[str | None, dict[str, dict[str, Any] | None]]:
    localization = body.get("localization")
    if localization is None:
        return None, {}
    if not isinstance(localization, Mapping):
        raise SettingsRejected("localization must be an object", "localization")
    unknown = set(localization) - {"default_language", "texts"}
    if unknown:
        raise SettingsRejected(
            f"localization.{sorted(unknown)[0]} cannot be changed; "
            "allowed: default_language, texts",
            "localization",
        )
    default_language = localization.get("default_language")
    if default_language is not None and (
        not isinstance(default_language, str) or not LANGUAGE.fullmatch(default_language)
    ):
        raise SettingsRejected(
            f"{default_language!r} is not a language code like en, de or pt-BR",
            "localization.default_language",
        )
    texts = localization.get("texts") or {}
    if not isinstance(texts, Mapping):
        raise SettingsRejected("localization.texts must map languages to texts", "localization")
    result: dict[str, dict[str, Any] | None] = {}
    for language, values in texts.items():
        if not LANGUAGE.fullmatch(str(language)):
            raise SettingsRejected(
                f"{language!r} is not a language code like en, de or pt-BR", "localization.language"
            )
        if values is None:
            result[language] = None
            continue
        if not isinstance(values, Mapping):
            raise SettingsRejected(f"localization.texts.{language} must be an object", None)
        for key, value in values.items():
            field = f"localization.texts.{language}.{key}"
            if key not in TEXT_PLACEHOLDERS:
                raise SettingsRejected(f"{key!r} is not a text of the handoff", field)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise SettingsRejected(
                    f"{key} must not be empty; reset it to use the default", field
                )
            if isinstance(value, str) and len(value) > MAX_TEXT:
                raise SettingsRejected(f"{key} is longer than {MAX_TEXT} characters", field)
        result[language] = {
            k: (v.strip() if isinstance(v, str) else None) for k, v in values.items()
        }
    return default_language, result


def _check_texts(language: str, texts: Mapping[str, str]) -> None:
    try:
        check_texts(language, texts)
    except ConfigurationError as error:
        raise SettingsRejected(f"{language}: {error.allowed}", error.field) from None


async def save_settings(
    provider: StoredSettings, body: object, actor: Actor | None = None
) -> Settings:
    """Apply the page's changes (audited as `actor`'s); SettingsRejected says which field and
    why."""
    if not isinstance(body, Mapping) or not body:
        raise SettingsRejected('send an object of sections to change, e.g. {"email": {...}}', None)
    plain = _plain_changes(body)
    default_language, text_changes = _text_changes(body)

    def change(saved: dict[str, Any]) -> dict[str, Any]:
        for section, values in plain.items():
            saved[section] = {**saved.get(section, {}), **values}
        if default_language is None and not text_changes:
            return saved
        localization = dict(saved.get("localization") or {})
        if default_language is not None:
            localization["default_language"] = default_language
        texts = {k: dict(v) for k, v in (localization.get("texts") or {}).items()}
        for language, edits in text_changes.items():
            if edits is None:
                texts.pop(language, None)
                continue
            mine = texts.setdefault(language, {})
            for key, value in edits.items():
                if value is None:
                    mine.pop(key, None)
                else:
                    mine[key] = value
            _check_texts(language, mine)
        localization["texts"] = texts
        saved["localization"] = localization
        return saved

    sections = sorted({*plain, *(["localization"] if text_changes or default_language else [])})
    try:
        return await provider.update(change, sections=sections, actor=actor)
    except ConfigurationError as error:
        raise SettingsRejected(str(error).replace("handoff: ", ""), error.field) from None
