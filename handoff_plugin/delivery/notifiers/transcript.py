"""The visitor's copy of a live chat, emailed at End Live Chat (`livechat.transcript_email`).

`transcript_notification` takes the snapshot inside the transaction that ends the live chat: the
lines, their speakers (the agent's name, the bot's, "You") and times already in the visitor's
time zone, and the localized texts, so every retry sends the same email. `TranscriptNotifier`
sends it through the email section's SMTP server (`email.smtp_*`, `email.from`), whether or not
team email notifications (`email.enabled`) are on; with no SMTP host it prints it instead, as the
email notifier does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handoff_plugin.clock import utc_now
from handoff_plugin.config.texts import Texts
from handoff_plugin.delivery.notifiers.base import Notification
from handoff_plugin.delivery.notifiers.email import (
    TEMPLATE_ENV,
    ConsoleEmailNotifier,
    EmailNotifier,
    header_safe,
)
from handoff_plugin.models import Author, ChatMessage

TRANSCRIPT_KIND = "transcript"
EVENT = "livechat.transcript"
# The newest lines a transcript keeps (a chat longer than this is rare; the inbox has it all).
MAX_LINES = 500


def visitor_timezone(value: object) -> ZoneInfo | None:
    """The IANA time zone the website passed (`timezone` metadata), or None if unknown/invalid."""
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 64:
        return None
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _speaker(message: ChatMessage, texts: Texts, chatbot_name: str) -> str:
    if message.author is Author.VISITOR:
        return texts.render("transcript_you")
    if message.author is Author.AGENT:
        return message.agent.name if message.agent is not None else chatbot_name
    if message.author is Author.BOT:
        return chatbot_name
    return ""  # a notice of the desk ("Ann has joined the chat"), shown without a speaker


def transcript_notification(
    *,
    conversation_id: int,
    message_id: str,
    email: str,
    lines: Sequence[ChatMessage],
    texts: Texts,
    chatbot_name: str,
    zone: ZoneInfo | None,
    ended_at: datetime,
) -> Notification:
    """The transcript email as the outbox stores it; `zone` None: times in UTC, and it says so."""
    tz: Any = zone or timezone.utc
    zone_name = zone.key if zone is not None else "UTC"
    shown = [line for line in lines if line.text and line.text.strip()][-MAX_LINES:]
    body = {
        "event": EVENT,
        "chatbot": {"name": chatbot_name},
        "conversation": {"id": int(conversation_id)},
        "subject": texts.render("transcript_subject", chatbot_name=chatbot_name),
        "heading": texts.render(
            "transcript_heading",
            chatbot_name=chatbot_name,
            date=ended_at.astimezone(tz).strftime("%Y-%m-%d"),
        ),
        "times": texts.render("transcript_times", timezone=zone_name),
        "timezone": zone_name,
        "lines": [
            {
                "author": line.author.value,
                "speaker": _speaker(line, texts, chatbot_name),
                "time": line.created_at.astimezone(tz).strftime("%H:%M"),
                "text": line.text,
            }
            for line in shown
        ],
    }
    return Notification(body=body, message_id=message_id, recipients=(email,))


def _context(notification: Notification) -> dict[str, Any]:
    body = notification.body
    return {
        "heading": str(body["heading"]),
        "times": str(body["times"]),
        "lines": list(body["lines"]),
        "chatbot_name": notification.chatbot_name,
    }


def plain_text(notification: Notification) -> str:
    return TEMPLATE_ENV.get_template("transcript.txt").render(_context(notification))


def html_text(notification: Notification) -> str:
    return TEMPLATE_ENV.get_template("transcript.html").render(_context(notification))


def build_transcript_message(notification: Notification, from_address: str) -> EmailMessage:
    """To the visitor alone; plain text and HTML; headers injection-proof."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = header_safe(str(notification.body["subject"]), 250)
    message["From"] = formataddr((header_safe(notification.chatbot_name), from_address))
    message["To"] = ", ".join(notification.recipients)
    domain = from_address.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{header_safe(notification.message_id, 64)}@{domain}>"
    message["Date"] = format_datetime(utc_now())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(plain_text(notification))
    message.add_alternative(html_text(notification), subtype="html")
    return message


class TranscriptNotifier(EmailNotifier):
    kind = TRANSCRIPT_KIND
    recipients_hint = "The visitor's email address was refused; nothing more can be done"

    def build(self, notification: Notification) -> EmailMessage:
        return build_transcript_message(notification, self.settings.from_address)


class ConsoleTranscriptNotifier(ConsoleEmailNotifier):
    kind = TRANSCRIPT_KIND

    def build(self, notification: Notification) -> EmailMessage:
        return build_transcript_message(notification, self.settings.from_address)
