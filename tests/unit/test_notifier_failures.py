"""How each notifier reads its receiver's answers, with in-memory transports (no servers)."""

from __future__ import annotations

from collections.abc import Callable

import aiosmtplib
import pytest

from handoff_plugin.config.settings import Settings, StaticSettings, build_settings
from handoff_plugin.delivery.dispatcher import Dispatcher
from handoff_plugin.delivery.notifiers.base import Notification, Outcome
from handoff_plugin.delivery.notifiers.email import EmailNotifier
from handoff_plugin.delivery.notifiers.slack import PERMANENT_ERRORS, SlackNotifier
from handoff_plugin.delivery.notifiers.webhook import WebhookNotifier
from handoff_plugin.delivery.outbox import Outbox
from handoff_plugin.delivery.signing import ID_HEADER, SIGNATURE_HEADER, verify
from handoff_plugin.delivery.transports import (
    HttpReply,
    MemoryHttpTransport,
    MemorySlackApi,
    MemorySmtpTransport,
    SlackReply,
    TransportError,
)
from handoff_plugin.escalation.service import EscalationService
from handoff_plugin.models import DeliveryStatus
from handoff_plugin.store import Store
from handoff_plugin.store.queries.outbox import OutboxQueries
from tests.conftest import FakeClock
from tests.unit.test_outbox import request

SECRET = "s3cret"
SETTINGS = build_settings(
    {
        "webhook": {"enabled": True, "url": "https://hooks.test/in", "secret": SECRET},
        "slack": {"enabled": True, "bot_token": "xoxb-1", "channel": "C1"},
        "email": {"enabled": True, "recipients": "a@x.test", "smtp_host": "mail.test"},
    }
)
NOTE = Notification(
    {
        "title": "Bot: Visitor needs human assistance",
        "text": "a person please",
        "chatbot": {"id": "b", "name": "Bot"},
        "visitor": {"id": 1, "email": "ann@example.com"},
        "conversation": {"id": 2, "last_message": None},
        "inbox_url": "https://inbox.test/conversations/2",
    },
    "msg_1",
    recipients=("a@x.test",),
)


# -- webhook -------------------------------------------------------------------------------------


async def webhook_outcome(*replies: HttpReply | Exception) -> tuple[Outcome, MemoryHttpTransport]:
    transport = MemoryHttpTransport(*replies)
    result = await WebhookNotifier(SETTINGS.webhook, transport=transport).send(NOTE)
    return result.outcome, transport


async def test_the_webhook_is_signed_over_the_exact_bytes_it_sends() -> None:
    outcome, transport = await webhook_outcome(HttpReply(204))
    [sent] = transport.requests
    assert outcome is Outcome.DELIVERED
    assert sent.url == "https://hooks.test/in"
    assert verify(sent.body, SECRET, sent.headers[SIGNATURE_HEADER])
    assert sent.headers[ID_HEADER] == "msg_1"


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
async def test_a_webhook_server_error_or_throttle_is_retried(status: int) -> None:
    assert (await webhook_outcome(HttpReply(status)))[0] is Outcome.RETRY


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 301])
async def test_a_webhook_refusal_is_given_up(status: int) -> None:
    assert (await webhook_outcome(HttpReply(status)))[0] is Outcome.FAILED


async def test_a_webhook_answering_410_gone_is_turned_off() -> None:
    assert (await webhook_outcome(HttpReply(410, "Gone")))[0] is Outcome.DISABLED


async def test_a_webhook_that_cannot_be_reached_is_retried_with_the_cause() -> None:
    transport = MemoryHttpTransport(TransportError("connection refused"))
    result = await WebhookNotifier(SETTINGS.webhook, transport=transport).send(NOTE)
    assert result.outcome is Outcome.RETRY
    assert result.detail == "could not reach the webhook: connection refused"


async def test_a_webhooks_retry_after_is_honoured() -> None:
    transport = MemoryHttpTransport(HttpReply(429, headers={"retry-after": "120"}))
    result = await WebhookNotifier(SETTINGS.webhook, transport=transport).send(NOTE)
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 120)


async def test_the_dispatcher_retries_a_5xx_and_turns_the_webhook_off_on_410(
    store: Store, make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    settings = make_settings(webhook={"enabled": True, "url": "https://hooks.test/in"})
    transport = MemoryHttpTransport(HttpReply(503), HttpReply(410, "Gone"))
    turned_off: list[str] = []

    async def turn_off(kind: str, reason: str) -> None:
        turned_off.append(kind)

    dispatcher = Dispatcher(
        store,
        StaticSettings(settings),
        notifiers=lambda kind, s: WebhookNotifier(s.webhook, clock, transport),
        clock=clock,
        random=lambda: 0.5,
        on_disable=turn_off,
    )
    await EscalationService(store, StaticSettings(settings), [Outbox()]).escalate(request())
    assert await dispatcher.run_once() == 1
    async with store.transaction() as tx:
        [delivery] = await OutboxQueries(tx).recent()
    assert delivery.status is DeliveryStatus.PENDING
    assert turned_off == []

    clock.advance(3600)
    assert await dispatcher.run_once() == 1
    async with store.transaction() as tx:
        [delivery] = await OutboxQueries(tx).recent()
    assert len(transport.requests) == 2
    assert len({r.headers[ID_HEADER] for r in transport.requests}) == 1  # same id on the retry
    assert delivery.status is DeliveryStatus.DISABLED
    assert turned_off == ["webhook"]


# -- Slack ---------------------------------------------------------------------------------------


async def slack_outcome(reply: SlackReply | Exception) -> Outcome:
    return (await SlackNotifier(SETTINGS.slack, MemorySlackApi(reply)).send(NOTE)).outcome


async def test_a_slack_post_goes_to_the_configured_channel() -> None:
    api = MemorySlackApi()
    result = await SlackNotifier(SETTINGS.slack, api).send(NOTE)
    [call] = api.calls
    assert result.outcome is Outcome.DELIVERED
    assert call.channel == "C1"
    assert "a person please" in call.text


@pytest.mark.parametrize(
    "code", ["channel_not_found", "not_in_channel", "invalid_auth", "missing_scope"]
)
async def test_a_slack_setup_mistake_is_given_up_with_what_to_do(code: str) -> None:
    api = MemorySlackApi(SlackReply.failed(code))
    result = await SlackNotifier(SETTINGS.slack, api).send(NOTE)
    assert result.outcome is Outcome.FAILED
    assert result.detail == f"Slack answered HTTP 200 {code}: {PERMANENT_ERRORS[code]}"


@pytest.mark.parametrize(
    "reply",
    [
        SlackReply.failed("internal_error"),
        SlackReply.failed(None, status=503),
        TransportError("could not reach Slack: connection reset"),
    ],
)
async def test_a_slack_outage_is_retried(reply: SlackReply | Exception) -> None:
    assert await slack_outcome(reply) is Outcome.RETRY


async def test_slacks_rate_limit_is_retried_after_the_time_it_asks_for() -> None:
    api = MemorySlackApi(SlackReply.failed("ratelimited", status=429, retry_after=30))
    result = await SlackNotifier(SETTINGS.slack, api).send(NOTE)
    assert (result.outcome, result.retry_after, result.response_code) == (Outcome.RETRY, 30, 429)


# -- email ---------------------------------------------------------------------------------------


async def email_outcome(outcome: Exception) -> Outcome:
    smtp = MemorySmtpTransport(outcome)
    return (await EmailNotifier(SETTINGS.email, smtp).send(NOTE)).outcome


async def test_an_email_goes_to_the_notifications_recipients() -> None:
    smtp = MemorySmtpTransport()
    result = await EmailNotifier(SETTINGS.email, smtp).send(NOTE)
    [sent] = smtp.sent
    assert result.outcome is Outcome.DELIVERED
    assert sent.recipients == ("a@x.test",)
    assert sent.message["Reply-To"] == "ann@example.com"


@pytest.mark.parametrize(
    "error",
    [
        aiosmtplib.SMTPResponseException(451, "4.3.0 Try again later"),
        aiosmtplib.SMTPServerDisconnected("closed"),
        aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(452, "mailbox full", "a@x.test")]
        ),
        OSError("connection refused"),
    ],
)
async def test_a_temporary_smtp_failure_is_retried(error: Exception) -> None:
    assert await email_outcome(error) is Outcome.RETRY


@pytest.mark.parametrize(
    "error",
    [
        aiosmtplib.SMTPResponseException(550, "5.1.1 Mailbox unavailable"),
        aiosmtplib.SMTPAuthenticationError(535, "5.7.8 bad credentials"),
        aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@x.test")]
        ),
    ],
)
async def test_a_permanent_smtp_refusal_is_given_up(error: Exception) -> None:
    assert await email_outcome(error) is Outcome.FAILED


async def test_an_email_some_recipients_refused_counts_as_delivered_and_says_who() -> None:
    smtp = MemorySmtpTransport({"b@x.test": (550, "no such user")})
    result = await EmailNotifier(SETTINGS.email, smtp).send(NOTE)
    assert result.outcome is Outcome.DELIVERED
    assert result.detail == "some recipients refused: b@x.test: 550 no such user"
