"""How notifiers reach the outside world: one small interface per kind, a real and an in-memory one.

Notifiers decide what to send and what an answer means; transports only carry it. The real ones
(aiohttp, aiosmtplib, slack-sdk) are the defaults; the `Memory*` ones record what they were given
and answer as scripted, so unit tests cover every classification rule without a server.

- HTTP: `post()` returns whatever the receiver answered (any status) and raises `TransportError`
  only when there was no answer at all (refused, reset, timed out, bad URL).
- SMTP: `send()` raises aiosmtplib's own exceptions: they carry the server's reply code, which is
  what the email notifier classifies, and re-wrapping them would only copy that hierarchy; and
  `PlaintextAuthRefused` (permanent) rather than log in without TLS.
- Slack: `SlackApi` sits over slack-sdk's AsyncWebClient (DESIGN.md keeps it: it knows Slack's
  API), which builds its own aiohttp session, so an `HttpTransport` cannot sit under it cleanly.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

import aiohttp
import aiosmtplib
from aiohttp.abc import AbstractResolver
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handoff_plugin.config.settings import EmailSettings, SlackSettings
from handoff_plugin.errors import DeliveryError

REPLY_PREVIEW = 2000  # bytes of a receiver's answer kept: enough for an error message, no more


class TransportError(DeliveryError):
    """No answer at all: the receiver could not be reached, or (`timed_out`) did not answer in
    time. Always transient; the message names the cause, the caller says who did not answer."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message, permanent=False)
        self.timed_out = timed_out


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After: 30` -> 30.0 (HTTP dates and garbage are ignored)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 24 * 3600 else None


# -- HTTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpReply:
    status: int
    reason: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""  # the first REPLY_PREVIEW bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")[: REPLY_PREVIEW // 4]

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("retry-after"))


class HttpTransport(Protocol):
    async def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,
        addresses: Sequence[str] | None = None,
    ) -> HttpReply:
        """POST once, never following redirects. Raises `TransportError` if nothing answered.

        `addresses`: connect only to these IPs of the URL's host (checked by `GuardedTransport`)."""
        ...


class AiohttpTransport:
    async def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,
        addresses: Sequence[str] | None = None,
    ) -> HttpReply:
        connector = None
        if addresses is not None:
            connector = aiohttp.TCPConnector(resolver=PinnedResolver(addresses))
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout), connector=connector
            ) as s:
                async with s.post(
                    url, data=body, headers=dict(headers), allow_redirects=False
                ) as response:
                    return HttpReply(
                        status=response.status,
                        reason=response.reason or "",
                        headers={k.lower(): v for k, v in response.headers.items()},
                        body=await response.content.read(REPLY_PREVIEW),
                    )
        except asyncio.TimeoutError:
            raise TransportError(f"no answer within {timeout:g} s", timed_out=True) from None
        except (aiohttp.ClientError, ValueError) as error:  # ValueError: a URL aiohttp refuses
            raise TransportError(str(error) or type(error).__name__) from error


class PinnedResolver(AbstractResolver):
    """Answers every lookup with the addresses already checked, so aiohttp connects to those and
    never asks DNS again. (aiohttp skips resolvers for IP literals: those were checked as they
    are.) TLS still verifies the certificate against the URL's host name."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses = list(addresses)

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> list[dict[str, Any]]:
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self.addresses
        ]

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class HttpRequest:
    url: str
    body: bytes
    headers: dict[str, str]
    timeout: float
    addresses: tuple[str, ...] | None = None  # the pinned IPs, when a guard checked them


class MemoryHttpTransport:
    """Records every request; answers with the scripted replies (or raises the scripted errors)
    in turn, then with `default`."""

    def __init__(self, *replies: HttpReply | Exception, default: HttpReply | None = None) -> None:
        self.requests: list[HttpRequest] = []
        self.replies: deque[HttpReply | Exception] = deque(replies)
        self.default = default or HttpReply(200, "OK")

    def will_answer(self, *replies: HttpReply | Exception) -> None:
        self.replies.extend(replies)

    async def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,
        addresses: Sequence[str] | None = None,
    ) -> HttpReply:
        pinned = tuple(addresses) if addresses is not None else None
        self.requests.append(HttpRequest(url, body, dict(headers), timeout, pinned))
        reply = self.replies.popleft() if self.replies else self.default
        if isinstance(reply, Exception):
            raise reply
        return reply


# -- SMTP ----------------------------------------------------------------------------------------

# Recipients the server refused while it accepted others: address -> (code, message).
Refused = dict[str, tuple[int, str]]


class SmtpTransport(Protocol):
    async def send(
        self, message: EmailMessage, *, sender: str, recipients: Sequence[str]
    ) -> Refused:
        """Hand `message` to the server. Raises aiosmtplib's exceptions when it is not accepted."""
        ...


class PlaintextAuthRefused(DeliveryError):
    """The server offers no TLS and credentials would cross the network in clear: not sent."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"{host} offers no STARTTLS and email.smtp_username is set: the password would be "
            "sent in clear, so nothing was sent. Use a server with TLS (email.smtp_tls or "
            "STARTTLS), or set HANDOFF_EMAIL_SMTP_ALLOW_PLAINTEXT_AUTH=true for a trusted network",
            permanent=True,
        )


class AiosmtplibTransport:
    """STARTTLS whenever the server offers it (required with `smtp_starttls`, implicit TLS with
    `smtp_tls`); a login only over TLS unless `smtp_allow_plaintext_auth`."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(
        self, message: EmailMessage, *, sender: str, recipients: Sequence[str]
    ) -> Refused:
        settings = self.settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_tls,
            # None: upgrade whenever the server offers STARTTLS; True: refuse a server that doesn't.
            start_tls=True if settings.smtp_starttls else None,
            timeout=settings.smtp_timeout,
        )
        async with client:  # no credentials given here: they are sent below, once TLS is known
            if settings.smtp_username:
                encrypted = client.get_transport_info("sslcontext") is not None
                if not (encrypted or settings.smtp_allow_plaintext_auth):
                    raise PlaintextAuthRefused(settings.smtp_host)
                await client.login(
                    settings.smtp_username, settings.smtp_password.get_secret_value()
                )
            errors, _ = await client.send_message(
                message, sender=sender, recipients=list(recipients)
            )
        return {address: (reply.code, reply.message) for address, reply in errors.items()}


@dataclass(frozen=True)
class SentEmail:
    message: EmailMessage
    sender: str
    recipients: tuple[str, ...]


class MemorySmtpTransport:
    """Records every email; answers with the scripted outcomes in turn (an exception is raised,
    a `Refused` dict is returned), then accepts everything."""

    def __init__(self, *outcomes: Refused | Exception) -> None:
        self.sent: list[SentEmail] = []
        self.outcomes: deque[Refused | Exception] = deque(outcomes)

    def will_answer(self, *outcomes: Refused | Exception) -> None:
        self.outcomes.extend(outcomes)

    async def send(
        self, message: EmailMessage, *, sender: str, recipients: Sequence[str]
    ) -> Refused:
        outcome = self.outcomes.popleft() if self.outcomes else {}
        if isinstance(outcome, Exception):
            raise outcome
        self.sent.append(SentEmail(message, sender, tuple(recipients)))
        return outcome


# -- Slack ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlackReply:
    status: int = 200
    ok: bool = True
    error: str | None = None  # Slack's `error` code when the call was not ok
    retry_after: float | None = None
    ts: str | None = None  # the message's timestamp (its id in the channel) when one was posted
    channel: str | None = None  # the channel's ID, as Slack answered
    data: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the whole answer

    @classmethod
    def failed(
        cls, error: str | None, status: int = 200, retry_after: float | None = None
    ) -> SlackReply:
        return cls(status, False, error, retry_after)


class SlackApi(Protocol):
    """The Web API methods rasa-handoff calls. Each calls once and raises `TransportError` if
    Slack did not answer; any answer (ok or not) comes back as a `SlackReply`."""

    async def chat_post_message(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> SlackReply: ...

    async def chat_update(
        self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]
    ) -> SlackReply: ...

    async def chat_post_ephemeral(
        self, *, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> SlackReply: ...

    async def users_info(self, *, user: str) -> SlackReply: ...


class WebClientSlackApi:
    def __init__(self, settings: SlackSettings) -> None:
        self.client = AsyncWebClient(
            token=settings.bot_token.get_secret_value(),
            base_url=settings.api_url,
            timeout=max(1, round(settings.timeout)),
            retry_handlers=[],  # the dispatcher retries, durably and with backoff
        )

    async def chat_post_message(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> SlackReply:
        extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        return await self._call(
            self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                mrkdwn=blocks is None,  # a thread line's own markup (the escaped text) only
                link_names=False,
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            )
        )

    async def chat_update(
        self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]
    ) -> SlackReply:
        return await self._call(
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        )

    async def chat_post_ephemeral(
        self, *, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> SlackReply:
        extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        return await self._call(
            self.client.chat_postEphemeral(channel=channel, user=user, text=text, **extra)
        )

    async def users_info(self, *, user: str) -> SlackReply:
        return await self._call(self.client.users_info(user=user))

    async def _call(self, request: Awaitable[Any]) -> SlackReply:
        try:
            response = await request
        except SlackApiError as error:
            response = error.response
            data = response.data if isinstance(response.data, dict) else {}
            headers = response.headers or {}
            return SlackReply.failed(
                str(data.get("error") or "") or None,
                int(response.status_code),
                retry_after_seconds(headers.get("Retry-After") or headers.get("retry-after")),
            )
        except asyncio.TimeoutError:
            raise TransportError(
                f"no answer from Slack within {self.client.timeout} s", timed_out=True
            ) from None
        except aiohttp.ClientError as error:
            raise TransportError(f"could not reach Slack: {error}") from error
        data = response.data if isinstance(response.data, dict) else {}
        return SlackReply(
            int(response.status_code),
            ts=str(data["ts"]) if data.get("ts") else None,
            channel=str(data["channel"]) if data.get("channel") else None,
            data=data,
        )


@dataclass(frozen=True)
class SlackCall:
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None
    method: str = "chat.postMessage"
    thread_ts: str | None = None  # chat.postMessage in a thread; chat.update's message
    user: str | None = None  # chat.postEphemeral's and users.info's user


class MemorySlackApi:
    """Records every call; answers with the scripted replies (or raises the scripted errors) in
    turn, then with ok (a posted message gets ts "1.000001", "1.000002", ...)."""

    def __init__(self, *replies: SlackReply | Exception) -> None:
        self.calls: list[SlackCall] = []
        self.replies: deque[SlackReply | Exception] = deque(replies)

    def will_answer(self, *replies: SlackReply | Exception) -> None:
        self.replies.extend(replies)

    def _answer(self, call: SlackCall) -> SlackReply:
        self.calls.append(call)
        reply = self.replies.popleft() if self.replies else None
        if isinstance(reply, Exception):
            raise reply
        if reply is None:
            ts = f"1.{len(self.calls):06d}" if call.method == "chat.postMessage" else None
            reply = SlackReply(ts=ts, channel="C0MEMORY" if ts else None)
        return reply

    async def chat_post_message(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> SlackReply:
        return self._answer(SlackCall(channel, text, blocks, thread_ts=thread_ts))

    async def chat_update(
        self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]
    ) -> SlackReply:
        return self._answer(SlackCall(channel, text, blocks, "chat.update", thread_ts=ts))

    async def chat_post_ephemeral(
        self, *, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> SlackReply:
        call = SlackCall(channel, text, None, "chat.postEphemeral", thread_ts, user)
        return self._answer(call)

    async def users_info(self, *, user: str) -> SlackReply:
        return self._answer(SlackCall("", "", None, "users.info", user=user))
