"""Notifications against real local servers: aiosmtpd, a stand-in for Slack's Web API, a webhook
receiver; and `Handoff`, the escalation service wired to the outbox and a dispatcher as in
production (runtime.Services), with the test's clock."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from handoff_plugin.delivery.dispatcher import Dispatcher
from handoff_plugin.delivery.outbox import Outbox
from handoff_plugin.escalation.service import (
    EscalationOutcome,
    EscalationRequest,
    EscalationService,
)
from handoff_plugin.models import Delivery, DeliveryAttempt, TranscriptLine, Trigger, VisitorProfile
from handoff_plugin.store import Store
from handoff_plugin.store.queries.outbox import OutboxQueries
from handoff_plugin.store.saved_settings import StoredSettings
from tests.conftest import FakeClock
from tests.servers import SLACK_OK, HttpServer, SmtpServer

RECIPIENTS = ["a@x.test", "b@x.test", "c@x.test"]
SLACK_TOKEN = "xoxb-test-token-1234"
WEBHOOK_SECRET = "whsec-test-secret"
TRANSCRIPT = (
    TranscriptLine("visitor", "hello"),
    TranscriptLine("bot", "Hi! How can I help?"),
    TranscriptLine("visitor", "I want to talk to a human"),
    TranscriptLine("bot", "What email address can they reach you at?"),
    TranscriptLine("visitor", "ann@example.com"),
)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slack_server() -> Iterator[HttpServer]:
    server = HttpServer(SLACK_OK).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[HttpServer]:
    server = HttpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    smtp_server.reset()
    return smtp_server


@pytest.fixture
def slack(slack_server: HttpServer) -> Iterator[HttpServer]:
    slack_server.reset(SLACK_OK)
    yield slack_server
    slack_server.reset(SLACK_OK)


@pytest.fixture
def webhook(webhook_server: HttpServer) -> Iterator[HttpServer]:
    webhook_server.reset()
    yield webhook_server
    webhook_server.reset()  # ends slow answers still in progress


def email_section(smtp: SmtpServer, **extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "recipients": "; ".join(RECIPIENTS),
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_timeout": 5,
        **extra,
    }


def slack_section(slack: HttpServer, **extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "bot_token": SLACK_TOKEN,
        "channel": "#support",
        "api_url": f"{slack.url}/api/",
        "timeout": 5,
        **extra,
    }


def webhook_section(webhook: HttpServer, **extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "url": f"{webhook.url}/hooks/handoff",
        "secret": WEBHOOK_SECRET,
        "timeout": 5,
        "allow_private_addresses": True,  # the receiver is on 127.0.0.1
        **extra,
    }


_senders = itertools.count(1)


def escalation_request(**overrides: Any) -> EscalationRequest:
    values: dict[str, Any] = {
        "sender_id": f"visitor-{next(_senders)}",
        "channel": "rest",
        "trigger": Trigger.INTENT,
        "message": "I want to talk to a human",
        "profile": VisitorProfile(
            email="ann@example.com", first_name="Ann", last_name="Lee", phone="+1 555 0100"
        ),
        "last_message": "ann@example.com",
        "transcript": TRANSCRIPT,
    }
    values.update(overrides)
    return EscalationRequest(**values)


@dataclass
class Handoff:
    """The services of one process: escalations -> outbox -> dispatcher."""

    store: Store
    settings: StoredSettings
    service: EscalationService
    dispatcher: Dispatcher

    async def escalate(self, **overrides: Any) -> EscalationOutcome:
        return await self.service.escalate(escalation_request(**overrides))

    async def deliver(self) -> int:
        """One dispatcher pass: send everything due now (at the test clock's time)."""
        return await self.dispatcher.run_once()

    async def deliveries(self, kind: str | None = None) -> list[Delivery]:
        async with self.store.transaction() as tx:
            rows = await OutboxQueries(tx).recent(limit=1000)
        return sorted((d for d in rows if kind in (None, d.kind)), key=lambda d: d.id)

    async def attempts(self, delivery_id: int) -> list[DeliveryAttempt]:
        async with self.store.transaction() as tx:
            return await OutboxQueries(tx).attempts(delivery_id)


def build_handoff(
    store: Store, database_url: str, clock: Any, sections: dict[str, Any], **dispatcher: Any
) -> Handoff:
    settings = StoredSettings(store, [{"database": {"url": database_url}}, sections])

    async def turn_off(kind: str, reason: str) -> None:
        await settings.save({kind: {"enabled": False}})

    dispatcher_ = Dispatcher(
        store, settings, clock=clock, random=lambda: 0.5, on_disable=turn_off, **dispatcher
    )
    service = EscalationService(store, settings, [Outbox(on_enqueued=dispatcher_.wake)])
    return Handoff(store, settings, service, dispatcher_)


@pytest.fixture
def make_handoff(store: Store, database_url: str, clock: FakeClock) -> Callable[..., Handoff]:
    """`make_handoff(email=email_section(smtp))`: services on the test clock (no sleeping)."""

    def make(**sections: Any) -> Handoff:
        return build_handoff(store, database_url, clock, sections)

    return make


@pytest.fixture
async def realtime_store(database_url: str) -> AsyncIterator[Store]:
    from handoff_plugin.store import open_store

    store = await open_store(database_url)
    yield store
    await store.close()
