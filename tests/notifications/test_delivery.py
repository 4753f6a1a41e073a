"""The delivery core: independent notifiers, start on the escalation, leases, restarts, give-up."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest

from handoff_plugin.config.settings import StaticSettings, build_settings
from handoff_plugin.delivery.dispatcher import Dispatcher
from handoff_plugin.delivery.outbox import Outbox
from handoff_plugin.escalation.service import EscalationService
from handoff_plugin.models import AttemptStatus, DeliveryStatus
from handoff_plugin.store import Store
from handoff_plugin.store.queries.outbox import OutboxQueries
from tests.conftest import FakeClock
from tests.notifications.conftest import (
    Handoff,
    email_section,
    escalation_request,
    slack_section,
    webhook_section,
)
from tests.servers import Answer, HttpServer, SmtpServer, eventually, slack_error

COMBINATIONS = list(itertools.product([False, True], repeat=3))


@pytest.mark.parametrize(
    ("email_on", "slack_on", "webhook_on"),
    COMBINATIONS,
    ids=[
        "+".join(k for k, on in zip(("email", "slack", "webhook"), c, strict=True) if on) or "none"
        for c in COMBINATIONS
    ],
)
async def test_any_combination_of_notifiers_works_on_its_own(
    make_handoff: Callable[..., Handoff],
    smtp: SmtpServer,
    slack: HttpServer,
    webhook: HttpServer,
    email_on: bool,
    slack_on: bool,
    webhook_on: bool,
) -> None:
    handoff = make_handoff(
        email=email_section(smtp, enabled=email_on),
        slack=slack_section(slack, enabled=slack_on),
        webhook=webhook_section(webhook, enabled=webhook_on),
    )
    outcome = await handoff.escalate()
    await handoff.deliver()

    assert outcome.status == "created"
    assert (len(smtp.mails), len(slack.requests), len(webhook.requests)) == (
        int(email_on),
        int(slack_on),
        int(webhook_on),
    )
    deliveries = await handoff.deliveries()
    assert {d.kind for d in deliveries} == {
        k for k, on in (("email", email_on), ("slack", slack_on), ("webhook", webhook_on)) if on
    }
    assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries)


async def test_a_failing_notifier_does_not_hold_up_the_others(
    make_handoff: Callable[..., Handoff],
    smtp: SmtpServer,
    slack: HttpServer,
    webhook: HttpServer,
) -> None:
    handoff = make_handoff(
        email=email_section(smtp), slack=slack_section(slack), webhook=webhook_section(webhook)
    )
    slack.answer(slack_error("not_in_channel"))
    webhook.answer(Answer(503))
    await handoff.escalate()
    await handoff.deliver()

    assert len(smtp.mails) == 1
    status = {d.kind: d.status for d in await handoff.deliveries()}
    assert status == {
        "email": DeliveryStatus.DELIVERED,
        "slack": DeliveryStatus.FAILED,
        "webhook": DeliveryStatus.PENDING,
    }


async def test_delivery_starts_on_the_escalation_not_at_the_next_poll(
    realtime_store: Store,
    database_url: str,
    smtp: SmtpServer,
    slack: HttpServer,
    webhook: HttpServer,
) -> None:
    # How soon is measured in bench/; here: the next poll is a minute away (the most allowed) and
    # every wait below gives up after 10 s, so what is sent was sent because the escalation woke
    # the dispatcher.
    settings = StaticSettings(
        build_settings(
            {
                "database": {"url": database_url},
                "email": email_section(smtp),
                "slack": slack_section(slack),
                "webhook": webhook_section(webhook),
                "delivery": {"poll_interval": 60},
            }
        )
    )
    dispatcher = Dispatcher(realtime_store, settings)
    outbox = Outbox(on_enqueued=dispatcher.wake_after_reply)  # as the services wire it
    service = EscalationService(realtime_store, settings, [outbox])

    async def all_delivered() -> bool:
        async with realtime_store.transaction() as tx:
            sent = await OutboxQueries(tx).recent()
        return bool(sent) and all(d.status is DeliveryStatus.DELIVERED for d in sent)

    await dispatcher.start()
    try:
        # A first escalation, delivered and recorded: the dispatcher now idles until its poll.
        await service.escalate(escalation_request())
        await eventually(all_delivered, "the first escalation's notifications were delivered")
        await service.escalate(escalation_request())
        await smtp.wait_for(2, timeout=10)
        await slack.wait_for(2, timeout=10)
        await webhook.wait_for(2, timeout=10)
    finally:
        await dispatcher.stop()


async def test_a_webhook_receiver_that_hangs_never_holds_up_email_and_slack(
    realtime_store: Store,
    database_url: str,
    smtp: SmtpServer,
    slack: HttpServer,
    webhook: HttpServer,
) -> None:
    # One send at a time per notifier kind: the hanging webhook takes its own slot only.
    webhook.reset(Answer(200, delay=60))
    settings = StaticSettings(
        build_settings(
            {
                "database": {"url": database_url},
                "email": email_section(smtp),
                "slack": slack_section(slack),
                "webhook": webhook_section(webhook, timeout=60),
                "delivery": {"concurrency": 1, "poll_interval": 60, "lease_seconds": 120},
            }
        )
    )
    dispatcher = Dispatcher(realtime_store, settings)
    outbox = Outbox(on_enqueued=dispatcher.wake_after_reply)
    service = EscalationService(realtime_store, settings, [outbox])
    await dispatcher.start()
    try:
        for _ in range(3):
            await service.escalate(escalation_request())
        await webhook.wait_for(1, timeout=10)
        await smtp.wait_for(3, timeout=10)
        await slack.wait_for(3, timeout=10)
        assert len(webhook.requests) == 1  # the first webhook still waits for its answer
        webhook.reset()  # it answers now: the other two follow
        await webhook.wait_for(2, timeout=10)
    finally:
        await dispatcher.stop()


async def test_pending_deliveries_are_sent_after_a_restart(
    store: Store, database_url: str, clock: FakeClock, webhook: HttpServer
) -> None:
    from tests.notifications.conftest import build_handoff

    sections = {"webhook": webhook_section(webhook)}
    before = build_handoff(store, database_url, clock, sections)
    await before.escalate()  # committed; the process "dies" before its dispatcher runs
    assert webhook.requests == []

    after = build_handoff(store, database_url, clock, sections)  # a new process
    assert await after.deliver() == 1
    assert len(webhook.requests) == 1
    [delivery] = await after.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED


async def test_two_dispatchers_never_send_the_same_delivery_at_once(
    store: Store, database_url: str, clock: FakeClock, webhook: HttpServer
) -> None:
    from tests.notifications.conftest import build_handoff

    sections = {"webhook": webhook_section(webhook)}
    first = build_handoff(store, database_url, clock, sections)
    second = build_handoff(store, database_url, clock, sections)
    webhook.default = Answer(200, delay=0.3)
    for _ in range(5):
        await first.escalate()

    handled = await asyncio.gather(first.deliver(), second.deliver())

    assert sum(handled) == 5
    ids = [r.headers["webhook-id"] for r in webhook.requests]
    assert len(ids) == len(set(ids)) == 5


async def test_a_crashed_senders_delivery_is_sent_again_when_its_lease_expires(
    make_handoff: Callable[..., Handoff], webhook: HttpServer, clock: FakeClock
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    await handoff.escalate()
    async with handoff.store.transaction() as tx:  # another process claims it, then dies
        [claimed] = await OutboxQueries(tx).claim_due("crashed-process", 120, 10)

    assert await handoff.deliver() == 0  # the lease still holds
    clock.advance(121)
    assert await handoff.deliver() == 1

    assert len(webhook.requests) == 1
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED
    attempts = await handoff.attempts(delivery.id)
    assert [(a.status, a.owner) for a in attempts] == [
        (AttemptStatus.INTERRUPTED, "crashed-process"),
        (AttemptStatus.DELIVERED, handoff.dispatcher.owner),
    ]
    assert "stopped before it finished" in (attempts[0].error or "")


async def test_retries_stop_when_the_configured_window_closes(
    make_handoff: Callable[..., Handoff], webhook: HttpServer, clock: FakeClock
) -> None:
    handoff = make_handoff(
        webhook=webhook_section(webhook),
        delivery={"retry_initial_delay": 10, "retry_max_delay": 40, "give_up_after": 60},
    )
    webhook.default = Answer(503, b"down for maintenance")
    await handoff.escalate()
    for _ in range(10):
        await handoff.deliver()
        [delivery] = await handoff.deliveries()
        if delivery.status is not DeliveryStatus.PENDING:
            break
        clock.now = delivery.next_attempt_at

    # Attempts at 0 s, 10 s and 30 s; the next would be at 70 s, past the 60 s window.
    assert len(webhook.requests) == 3
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_error == (
        "gave up after 3 attempts over 1 min: HTTP 503 Service Unavailable: down for maintenance"
    )


async def test_stopping_gives_back_what_was_being_sent_and_the_next_start_sends_it(
    realtime_store: Store, database_url: str, webhook: HttpServer
) -> None:
    settings = StaticSettings(
        build_settings({"database": {"url": database_url}, "webhook": webhook_section(webhook)})
    )
    dispatcher = Dispatcher(realtime_store, settings)
    service = EscalationService(realtime_store, settings, [Outbox(on_enqueued=dispatcher.wake)])
    webhook.answer(Answer(200, delay=30))
    await dispatcher.start()
    await service.escalate(escalation_request())
    await webhook.wait_for(1, timeout=2)
    await dispatcher.stop(grace=0.1)

    async with realtime_store.transaction() as tx:
        [delivery] = await OutboxQueries(tx).recent()
    assert delivery.status is DeliveryStatus.PENDING

    restarted = Dispatcher(realtime_store, settings)
    await restarted.start()
    try:
        await webhook.wait_for(2, timeout=3)
    finally:
        await restarted.stop()
    ids = {r.headers["webhook-id"] for r in webhook.requests}
    assert len(ids) == 1
    async with realtime_store.transaction() as tx:
        [delivery] = await OutboxQueries(tx).recent()
        attempts = await OutboxQueries(tx).attempts(delivery.id)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert [a.status for a in attempts] == [AttemptStatus.INTERRUPTED, AttemptStatus.DELIVERED]


async def test_a_notifier_turned_off_before_sending_is_not_sent(
    make_handoff: Callable[..., Handoff], webhook: HttpServer
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    await handoff.escalate()
    await handoff.settings.save({"webhook": {"enabled": False}})
    await handoff.deliver()

    assert webhook.requests == []
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DISABLED
    assert delivery.last_error is not None and "turned off" in delivery.last_error
