"""Email notifications over SMTP (aiosmtplib), or printed to the console when no host is set."""

from __future__ import annotations

import asyncio
import html
import re
import sys
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import TextIO

import aiosmtplib
import structlog

from handoff_plugin.addresses import normalize_email
from handoff_plugin.clock import utc_now
from handoff_plugin.config.settings import EmailSettings
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification

log = structlog.get_logger(__name__)

# Everything that could end a header line or hide in one: C0/C1 controls, DEL, Unicode separators.
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_safe(value: str, limit: int = 200) -> str:
    """One clean line: visitor input can never start a new header (CR/LF become spaces)."""
    return " ".join(_UNSAFE_IN_HEADER.sub(" ", value).split())[:limit]


def _lines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _speaker(speaker: str, chatbot_name: str) -> str:
    return "Visitor" if speaker == "visitor" else chatbot_name


def subject(notification: Notification) -> str:
    return header_safe(f"{notification.title} ({notification.visitor_name})", 250)


def plain_text(notification: Notification, reply_to: str | None) -> str:
    visitor = notification.visitor
    rows = [
        ("Visitor", notification.visitor_name),
        ("Email", visitor.get("email") or "-"),
        ("Phone", visitor.get("phone") or "-"),
    ]
    parts = [
        notification.title,
        "",
        "A visitor asked to talk to a person.",
        "",
        *(f"{label + ':':<9}{_lines(str(value))}" for label, value in rows),
        "",
        "Message:",
        _lines(notification.text) or "-",
    ]
    if notification.transcript:
        parts += ["", "Recent conversation:"]
        parts += [
            f"  {_speaker(t.speaker, notification.chatbot_name)}: {_lines(t.text)}"
            for t in notification.transcript
        ]
    parts += ["", "Open the conversation in the inbox:", notification.inbox_url]
    if reply_to:
        parts += ["", f"Reply to this email to write to the visitor at {reply_to}."]
    return "\n".join(parts) + "\n"


def html_text(notification: Notification, reply_to: str | None) -> str:
    def esc(value: object) -> str:
        return html.escape(_lines(str(value))).replace("\n", "<br>")

    visitor = notification.visitor
    rows = [
        ("Visitor", notification.visitor_name),
        ("Email", visitor.get("email") or "-"),
        ("Phone", visitor.get("phone") or "-"),
    ]
    table = "".join(
        f'<tr><th align="left" style="padding-right:12px">{label}</th><td>{esc(value)}</td></tr>'
        for label, value in rows
    )
    transcript = ""
    if notification.transcript:
        items = "".join(
            f"<li><b>{esc(_speaker(t.speaker, notification.chatbot_name))}:</b> {esc(t.text)}</li>"
            for t in notification.transcript
        )
        transcript = f"<h3>Recent conversation</h3><ul>{items}</ul>"
    reply = (
        f"<p>Reply to this email to write to the visitor at {esc(reply_to)}.</p>"
        if reply_to
        else ""
    )
    url = html.escape(notification.inbox_url, quote=True)
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{esc(notification.title)}</h2>"
        "<p>A visitor asked to talk to a person.</p>"
        f"<table>{table}</table>"
        f"<h3>Message</h3><blockquote>{esc(notification.text or '-')}</blockquote>"
        f"{transcript}"
        f'<p><a href="{url}">Open the conversation in the inbox</a></p>'
        f"{reply}</body></html>"
    )


def build_message(notification: Notification, settings: EmailSettings) -> EmailMessage:
    """The email: plain text and HTML, Reply-To the visitor (never in To), headers injection-proof."""
    reply_to = normalize_email(str(notification.visitor.get("email") or "")) or None
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject(notification)
    message["From"] = formataddr((header_safe(notification.chatbot_name), settings.from_address))
    message["To"] = ", ".join(notification.recipients)
    if reply_to:
        message["Reply-To"] = reply_to
    domain = settings.from_address.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{header_safe(notification.message_id, 64)}@{domain}>"
    message["Date"] = format_datetime(utc_now())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(plain_text(notification, reply_to))
    message.add_alternative(html_text(notification, reply_to), subtype="html")
    return message


class EmailNotifier:
    kind = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, notification: Notification) -> DeliveryResult:
        settings = self.settings
        message = build_message(notification, settings)
        try:
            errors, _ = await aiosmtplib.send(
                message,
                sender=settings.from_address,
                recipients=list(notification.recipients),
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password.get_secret_value() or None,
                use_tls=settings.smtp_tls,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
            if any(400 <= r.code < 500 for r in error.recipients):
                return DeliveryResult.retry(f"recipients refused for now: {refused}")
            return DeliveryResult.failed(
                f"recipients refused: {refused}. Check HANDOFF_EMAIL_RECIPIENTS", None
            )
        except aiosmtplib.SMTPResponseException as error:
            said = f"SMTP {error.code} {error.message}".strip()
            if 400 <= error.code < 500:
                return DeliveryResult.retry(said, error.code)
            if isinstance(error, aiosmtplib.SMTPAuthenticationError):
                said += ". Check HANDOFF_EMAIL_SMTP_USERNAME and HANDOFF_EMAIL_SMTP_PASSWORD"
            return DeliveryResult.failed(said, error.code)
        except (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError):
            return DeliveryResult.retry(
                f"no answer from {settings.smtp_host}:{settings.smtp_port} "
                f"within {settings.smtp_timeout:g} s"
            )
        except aiosmtplib.SMTPNotSupported as error:
            return DeliveryResult.failed(
                f"{error}. Check HANDOFF_EMAIL_SMTP_STARTTLS / HANDOFF_EMAIL_SMTP_TLS"
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            return DeliveryResult.retry(
                f"could not reach {settings.smtp_host}:{settings.smtp_port}: {error}"
            )
        if errors:
            refused = "; ".join(f"{address}: {r.code} {r.message}" for address, r in errors.items())
            log.warning("handoff.email.some_recipients_refused", refused=refused)
            return DeliveryResult.delivered(250, f"some recipients refused: {refused}")
        return DeliveryResult.delivered(250)


CONSOLE_BANNER = "=" * 20


class ConsoleEmailNotifier:
    """No SMTP host configured (the demo): print the email instead of sending it."""

    kind = "email"

    def __init__(self, settings: EmailSettings, stream: TextIO | None = None) -> None:
        self.settings = settings
        self.stream = stream

    async def send(self, notification: Notification) -> DeliveryResult:
        message = build_message(notification, self.settings)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        headers = "\n".join(
            f"{name}: {message[name]}"
            for name in ("From", "To", "Reply-To", "Subject")
            if message[name]
        )
        stream = self.stream or sys.stdout
        stream.write(
            f"{CONSOLE_BANNER} handoff: email NOT sent - no SMTP server configured "
            f"(set HANDOFF_EMAIL_SMTP_HOST); this is what it would say {CONSOLE_BANNER}\n"
            f"{headers}\n\n{text}"
            f"{CONSOLE_BANNER} end of email {CONSOLE_BANNER}\n"
        )
        stream.flush()
        return DeliveryResult.delivered(None, "printed to the console (no SMTP host configured)")
