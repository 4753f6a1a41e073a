"""Email notifications over SMTP (aiosmtplib), or printed to the console when no host is set."""

from __future__ import annotations

import asyncio
import re
import sys
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, TextIO

import aiosmtplib
import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from handoff_plugin.addresses import normalize_email
from handoff_plugin.clock import utc_now
from handoff_plugin.config.settings import EmailSettings
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification
from handoff_plugin.delivery.transports import (
    AiosmtplibTransport,
    PlaintextAuthRefused,
    SmtpTransport,
)

log = structlog.get_logger(__name__)

# Everything that could end a header line or hide in one: C0/C1 controls, DEL, Unicode separators.
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_safe(value: str, limit: int = 200) -> str:
    """One clean line: visitor input can never start a new header (CR/LF become spaces)."""
    return " ".join(_UNSAFE_IN_HEADER.sub(" ", value).split())[:limit]


def _lines(value: object) -> str:
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def _br(value: object) -> Markup:
    """Escaped, with the visitor's line breaks kept as <br>."""
    return Markup("<br>").join(escape(line) for line in _lines(value).split("\n"))


TEMPLATES = Path(__file__).resolve().parent.parent.parent / "web" / "email"
_templates = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),  # the .txt part is plain text, never HTML
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,
)
_templates.filters["lines"] = _lines
_templates.filters["br"] = _br
TEMPLATE_ENV = _templates  # shared with the visitor's transcript (transcript.py)


def subject(notification: Notification) -> str:
    return header_safe(f"{notification.title} ({notification.visitor_name})", 250)


def _context(notification: Notification, reply_to: str | None) -> dict[str, Any]:
    visitor = notification.visitor
    name = notification.chatbot_name
    return {
        "title": notification.title,
        "visitor_name": notification.visitor_name,
        "email": str(visitor.get("email") or "-"),
        "phone": str(visitor.get("phone") or "-"),
        "message": notification.text,
        "transcript": [
            {"speaker": "Visitor" if t.speaker == "visitor" else name, "text": t.text}
            for t in notification.transcript
        ],
        "inbox_url": notification.inbox_url,
        "reply_to": reply_to,
    }


def plain_text(notification: Notification, reply_to: str | None) -> str:
    return _templates.get_template("escalation.txt").render(_context(notification, reply_to))


def html_text(notification: Notification, reply_to: str | None) -> str:
    return _templates.get_template("escalation.html").render(_context(notification, reply_to))


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
    # What to check when the server refuses every recipient for good.
    recipients_hint = "Check HANDOFF_EMAIL_RECIPIENTS"

    def __init__(self, settings: EmailSettings, transport: SmtpTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport or AiosmtplibTransport(settings)

    def build(self, notification: Notification) -> EmailMessage:
        return build_message(notification, self.settings)

    async def send(self, notification: Notification) -> DeliveryResult:
        settings = self.settings
        message = self.build(notification)
        try:
            refused = await self.transport.send(
                message, sender=settings.from_address, recipients=notification.recipients
            )
        except PlaintextAuthRefused as error:
            return DeliveryResult.failed(str(error))
        except aiosmtplib.SMTPRecipientsRefused as error:
            said = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
            if any(400 <= r.code < 500 for r in error.recipients):
                return DeliveryResult.retry(f"recipients refused for now: {said}")
            return DeliveryResult.failed(
                f"recipients refused: {said}. {self.recipients_hint}", None
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
        if refused:
            said = "; ".join(
                f"{address}: {code} {text}" for address, (code, text) in refused.items()
            )
            log.warning("handoff.email.some_recipients_refused", refused=said)
            return DeliveryResult.delivered(250, f"some recipients refused: {said}")
        return DeliveryResult.delivered(250)


CONSOLE_BANNER = "=" * 20
# C0 controls but newline and tab, DEL, and C1 controls (0x9b is a one-byte CSI): printed raw, a
# visitor's ESC sequences could rewrite the operator's terminal (colours, cursor, title, links).
_TERMINAL_CONTROLS = dict.fromkeys(
    [c for c in range(0x20) if c not in (0x09, 0x0A)] + [0x7F, *range(0x80, 0xA0)]
)


def terminal_safe(text: str) -> str:
    """`text` with the control characters a terminal would act on removed."""
    return text.translate(_TERMINAL_CONTROLS)


class ConsoleEmailNotifier:
    """No SMTP host configured (the demo): print the email instead of sending it."""

    kind = "email"

    def __init__(self, settings: EmailSettings, stream: TextIO | None = None) -> None:
        self.settings = settings
        self.stream = stream

    def build(self, notification: Notification) -> EmailMessage:
        return build_message(notification, self.settings)

    async def send(self, notification: Notification) -> DeliveryResult:
        message = self.build(notification)
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
            f"{terminal_safe(headers)}\n\n{terminal_safe(text)}"
            f"{CONSOLE_BANNER} end of email {CONSOLE_BANNER}\n"
        )
        stream.flush()
        return DeliveryResult.delivered(None, "printed to the console (no SMTP host configured)")
