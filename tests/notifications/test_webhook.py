"""The signed webhook, posted to a real local receiver."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from handoff_plugin.config.settings import StaticSettings, build_settings
from handoff_plugin.delivery.dispatcher import Dispatcher
from handoff_plugin.delivery.outbox import Outbox
from handoff_plugin.delivery.signing import verify
from handoff_plugin.escalation.service import EscalationService
from handoff_plugin.models import AttemptStatus, DeliveryStatus, VisitorProfile
from handoff_plugin.store import Store
from handoff_plugin.store.queries.outbox import OutboxQueries
from tests.conftest import FakeClock
from tests.notifications.conftest import (
    WEBHOOK_SECRET,
    Handoff,
    escalation_request,
    webhook_section,
)
from tests.servers import Answer, HttpServer


async def test_the_body_is_the_documented_payload_field_for_field(
    make_handoff: Callable[..., Handoff], webhook: HttpServer
) -> None:
    handoff = make_handoff(
        webhook=webhook_section(webhook),
        chatbot={"id": "shop-bot", "name": "Shop Bot"},
        inbox={"public_url": "https://support.shop.test/inbox"},
    )
    outcome = await handoff.escalate()
    await handoff.deliver()
    escalation = outcome.escalation
    assert escalation is not None

    [request] = webhook.requests
    assert request.method == "POST"
    assert request.path == "/hooks/handoff"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body == {
        "event": "escalation.created",
        "title": "Shop Bot: Visitor needs human assistance",
        "text": "I want to talk to a human",
        "chatbot": {"id": "shop-bot", "name": "Shop Bot"},
        "visitor": {
            "id": escalation.visitor.id,
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "phone": "+1 555 0100",
        },
        "conversation": {"id": escalation.conversation_id, "last_message": "ann@example.com"},
        "inbox_url": f"https://support.shop.test/inbox/conversations/{escalation.conversation_id}",
        "timestamp": "2026-02-09T12:00:00+00:00",
    }
    assert type(body["visitor"]["id"]) is int
    assert type(body["conversation"]["id"]) is int
    assert list(body) == [
        "event",
        "title",
        "text",
        "chatbot",
        "visitor",
        "conversation",
        "inbox_url",
        "timestamp",
    ]


async def test_unknown_visitor_fields_are_null(
    make_handoff: Callable[..., Handoff], webhook: HttpServer
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    await handoff.escalate(profile=VisitorProfile(email="bo@example.com"))
    await handoff.deliver()

    visitor = webhook.requests[0].json()["visitor"]
    assert visitor["email"] == "bo@example.com"
    assert visitor["first_name"] is None
    assert visitor["last_name"] is None
    assert visitor["phone"] is None


async def test_the_signature_verifies_with_the_secret_over_the_bytes_received(
    make_handoff: Callable[..., Handoff], webhook: HttpServer
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    await handoff.escalate(message="Grüße — can a person help? 🙂")
    await handoff.deliver()

    [request] = webhook.requests
    signature = request.headers["x-signature-256"]
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", signature)
    assert verify(request.body, WEBHOOK_SECRET, signature)
    assert not verify(request.body, "another-secret", signature)
    assert not verify(request.body + b" ", WEBHOOK_SECRET, signature)


async def test_without_a_secret_there_is_no_signature(
    make_handoff: Callable[..., Handoff], webhook: HttpServer
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook, secret=""))
    await handoff.escalate()
    await handoff.deliver()

    [request] = webhook.requests
    assert "x-signature-256" not in request.headers
    assert request.headers["webhook-id"]


async def test_a_receiver_failing_twice_then_succeeding_sees_the_same_webhook_id_three_times(
    make_handoff: Callable[..., Handoff], webhook: HttpServer, clock: FakeClock
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(500, b"oops"), Answer(503, b"busy"))
    await handoff.escalate()
    await handoff.deliver()
    clock.advance(10)
    await handoff.deliver()
    clock.advance(20)
    await handoff.deliver()

    ids = [r.headers["webhook-id"] for r in webhook.requests]
    assert len(ids) == 3 and len(set(ids)) == 1
    assert [r.body for r in webhook.requests] == [webhook.requests[0].body] * 3
    stamps = [int(r.headers["webhook-timestamp"]) for r in webhook.requests]
    start = int(clock.now.timestamp()) - 30
    assert stamps == [start, start + 10, start + 30]
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED
    attempts = await handoff.attempts(delivery.id)
    assert [(a.status, a.response_code) for a in attempts] == [
        (AttemptStatus.RETRY, 500),
        (AttemptStatus.RETRY, 503),
        (AttemptStatus.DELIVERED, 200),
    ]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_timeouts_rate_limits_and_server_errors_are_retried(
    make_handoff: Callable[..., Handoff], webhook: HttpServer, status: int
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(status))
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_response_code == status


async def test_retry_after_on_429_is_honoured(
    make_handoff: Callable[..., Handoff], webhook: HttpServer, clock: FakeClock
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(429, b"slow down", {"Retry-After": "120"}))
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert (delivery.next_attempt_at - clock.now).total_seconds() == 120


async def test_a_receiver_that_does_not_answer_in_time_is_retried(
    make_handoff: Callable[..., Handoff], webhook: HttpServer
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook, timeout=0.3))
    webhook.answer(Answer(200, delay=5))
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_error == "no answer from the webhook within 0.3 s"


async def test_an_unreachable_receiver_is_retried(
    make_handoff: Callable[..., Handoff],
) -> None:
    from tests.servers import free_port

    handoff = make_handoff(
        webhook={
            "enabled": True,
            "url": f"http://127.0.0.1:{free_port()}/hook",
            "timeout": 2,
            "allow_private_addresses": True,
        }
    )
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_error is not None and "could not reach the webhook" in delivery.last_error


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_other_client_errors_are_permanent(
    make_handoff: Callable[..., Handoff], webhook: HttpServer, clock: FakeClock, status: int
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(status, b"bad signature"))
    await handoff.escalate()
    await handoff.deliver()
    clock.advance(24 * 3600)
    await handoff.deliver()

    assert len(webhook.requests) == 1
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_error is not None and f"HTTP {status}" in delivery.last_error


async def test_410_gone_turns_the_webhook_off_with_the_reason(
    make_handoff: Callable[..., Handoff], webhook: HttpServer
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(410, b"this endpoint was deleted"))
    await handoff.escalate()
    with capture_logs() as logs:
        await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DISABLED
    assert delivery.last_error is not None and "HTTP 410" in delivery.last_error
    assert (await handoff.settings.current()).webhook.enabled is False
    assert "handoff.webhook.disabled" in [log["event"] for log in logs]
    await handoff.escalate()
    assert len(await handoff.deliveries()) == 1  # nothing more is queued for the webhook


async def test_redirects_are_not_followed(
    make_handoff: Callable[..., Handoff], webhook: HttpServer
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(301, b"", {"Location": f"{webhook.url}/elsewhere"}))
    await handoff.escalate()
    await handoff.deliver()

    assert [r.path for r in webhook.requests] == ["/hooks/handoff"]
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_error is not None and f"{webhook.url}/elsewhere" in delivery.last_error


async def test_a_receiver_that_does_not_answer_does_not_hold_up_the_visitors_confirmation(
    realtime_store: Store, database_url: str, webhook: HttpServer
) -> None:
    # How long the visitor waits is measured in bench/confirmation_latency.py; here: the receiver
    # holds the request for the whole test (and the notifier would wait a minute for it), so a
    # confirmation that waited for the delivery would never come.
    settings = StaticSettings(
        build_settings(
            {"database": {"url": database_url}, "webhook": webhook_section(webhook, timeout=60)}
        )
    )
    dispatcher = Dispatcher(realtime_store, settings)
    service = EscalationService(realtime_store, settings, [Outbox(on_enqueued=dispatcher.wake)])
    webhook.answer(Answer(200, delay=3600))
    await dispatcher.start()
    try:
        outcome = await asyncio.wait_for(service.escalate(escalation_request()), 10)
        await webhook.wait_for(1, timeout=10)  # the receiver now holds the request
        async with realtime_store.transaction() as tx:
            [delivery] = await OutboxQueries(tx).recent()
    finally:
        await dispatcher.stop(grace=0.1)

    assert outcome.status == "created"
    assert delivery.status is DeliveryStatus.SENDING  # confirmed while the notification is in flight
