"""Notifiers: one module per channel (`email`, `slack`, `webhook`) behind the `Notifier` interface."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from handoff_plugin.clock import utc_now
from handoff_plugin.config.settings import Settings
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification, Notifier, Outcome
from handoff_plugin.delivery.notifiers.email import ConsoleEmailNotifier, EmailNotifier
from handoff_plugin.delivery.notifiers.slack import SlackNotifier
from handoff_plugin.delivery.notifiers.transcript import (
    TRANSCRIPT_KIND,
    ConsoleTranscriptNotifier,
    TranscriptNotifier,
)
from handoff_plugin.delivery.notifiers.webhook import WebhookNotifier

KINDS = ("email", "slack", "webhook")

__all__ = [
    "KINDS",
    "DeliveryResult",
    "Notification",
    "Notifier",
    "Outcome",
    "build_notifier",
    "enabled_kinds",
]


def enabled_kinds(settings: Settings) -> list[str]:
    """The notifiers turned on in these settings, in a fixed order."""
    return [kind for kind in KINDS if getattr(settings, kind).enabled]


def build_notifier(
    kind: str, settings: Settings, clock: Callable[[], datetime] = utc_now
) -> Notifier | None:
    """The notifier for `kind` configured by `settings`, or None if it is turned off.

    A visitor's transcript (queued only while `livechat.transcript_email` was on) is always
    sent, through the email section's SMTP server even with team emails (`email.enabled`) off:
    the visitor was promised it when the live chat ended."""
    if kind == TRANSCRIPT_KIND:
        if not settings.email.smtp_host:
            return ConsoleTranscriptNotifier(settings.email)
        return TranscriptNotifier(settings.email)
    if kind not in enabled_kinds(settings):
        return None
    if kind == "email":
        if not settings.email.smtp_host:
            return ConsoleEmailNotifier(settings.email)
        return EmailNotifier(settings.email)
    if kind == "slack":
        return SlackNotifier(settings.slack)
    return WebhookNotifier(settings.webhook, clock)
