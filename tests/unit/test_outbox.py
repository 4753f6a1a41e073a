"""The outbox and the dispatcher with in-memory notifiers (no servers, no sleeping)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from handoff_plugin.config.settings import Settings, StaticSettings
from handoff_plugin.delivery.dispatcher import Dispatcher
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification
from handoff_plugin.delivery.notifiers.fake import RecordingNotifier
from handoff_plugin.delivery.outbox import Outbox
from handoff_plugin.errors import DeliveryError
from handoff_plugin.escalation.service import EscalationRequest, EscalationService
from handoff_plugin.models import DeliveryStatus, TranscriptLine, Trigger, VisitorProfile
from handoff_plugin.store import Store
from handoff_plugin.store.queries.outbox import OutboxQueries
from handoff_plugin.store.tables import deliveries, escalations
from tests.conftest import FakeClock

ALL_ON = {
    "email": {"enabled": True, "recipients": "a@x.test; b@x.test"},
    "slack": {"enabled": True, "bot_token": "xoxb-1", "channel": "C1"},
    "webhook": {"enabled": True, "url": "http://127.0.0.1:9/hook"},
}


def request(sender: str = "v1") -> EscalationRequest:
    return EscalationRequest(
        sender_id=sender,
        channel="rest",
        trigger=Trigger.INTENT,
        message="a person please",
        profile=VisitorProfile(email="ann@example.com"),
        last_message="ann@example.com",
        transcript=(TranscriptLine("visitor", "hi"), TranscriptLine("bot", "Hello!")),
    )


async def count(store: Store, table: sa.Table) -> int:
    async with store.transaction() as tx:
        return int((await tx.conn.execute(sa.select(sa.func.count()).select_from(table))).scalar())


async def test_one_row_per_enabled_notifier_is_written_with_the_escalation(
    store: Store, make_settings: Callable[..., Settings]
) -> None:
    settings = StaticSettings(make_settings(email=ALL_ON["email"], webhook=ALL_ON["webhook"]))
    await EscalationService(store, settings, [Outbox()]).escalate(request())

    async with store.transaction() as tx:
        rows = await OutboxQueries(tx).recent()
    assert sorted(d.kind for d in rows) == ["email", "webhook"]
    assert all(d.status is DeliveryStatus.PENDING and d.attempts == 0 for d in rows)
    assert len({d.webhook_id for d in rows}) == 2
    email = next(d for d in rows if d.kind == "email")
    assert email.payload["recipients"] == ["a@x.test", "b@x.test"]
    assert email.payload["transcript"] == [
        {"speaker": "visitor", "text": "hi"},
        {"speaker": "bot", "text": "Hello!"},
    ]


class Boom:
    async def escalation_created(self, tx: Any, escalation: Any, settings: Any) -> None:
        raise RuntimeError("disk full")


async def test_if_the_escalation_is_not_stored_no_notification_is_queued(
    store: Store, make_settings: Callable[..., Settings]
) -> None:
    settings = StaticSettings(make_settings(**ALL_ON))
    woken: list[bool] = []
    outbox = Outbox(on_enqueued=lambda: woken.append(True))
    with pytest.raises(RuntimeError):
        await EscalationService(store, settings, [outbox, Boom()]).escalate(request())
    assert await count(store, escalations) == 0
    assert await count(store, deliveries) == 0
    assert woken == []


async def test_the_dispatcher_is_woken_only_once_the_rows_are_committed(
    store: Store, make_settings: Callable[..., Settings]
) -> None:
    settings = StaticSettings(make_settings(**ALL_ON))
    woken: list[str] = []

    class StillInTransaction:
        async def escalation_created(self, tx: Any, escalation: Any, settings: Any) -> None:
            woken.append("listener ran; woken yet: " + str(bool(woken)))

    outbox = Outbox(on_enqueued=lambda: woken.append("woken"))
    await EscalationService(store, settings, [outbox, StillInTransaction()]).escalate(request())
    assert woken == ["listener ran; woken yet: False", "woken"]
    assert await count(store, deliveries) == 3


async def test_a_repeated_request_while_one_is_open_queues_nothing_more(
    store: Store, make_settings: Callable[..., Settings]
) -> None:
    service = EscalationService(store, StaticSettings(make_settings(**ALL_ON)), [Outbox()])
    await service.escalate(request())
    await service.escalate(request())
    assert await count(store, deliveries) == 3


def dispatcher_with(
    store: Store, settings: Settings, clock: FakeClock, notifiers: dict[str, RecordingNotifier]
) -> Dispatcher:
    return Dispatcher(
        store,
        StaticSettings(settings),
        notifiers=lambda kind, s: notifiers.get(kind),
        clock=clock,
        random=lambda: 0.5,
    )


async def test_the_notifier_gets_the_snapshot_with_the_transcript(
    store: Store, make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    settings = make_settings(webhook=ALL_ON["webhook"])
    await EscalationService(store, StaticSettings(settings), [Outbox()]).escalate(request())
    fake = RecordingNotifier("webhook")
    await dispatcher_with(store, settings, clock, {"webhook": fake}).run_once()

    [sent] = fake.sent
    assert isinstance(sent, Notification)
    assert sent.text == "a person please"
    assert sent.transcript == (TranscriptLine("visitor", "hi"), TranscriptLine("bot", "Hello!"))
    assert sent.message_id.startswith("msg_")


class Raising:
    kind = "webhook"

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def send(self, notification: Notification) -> DeliveryResult:
        raise self.error


@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (KeyError("body"), "unexpected error: KeyError"),
        # Notifiers return every failure as a result; one that escapes anyway is a bug, retried.
        (DeliveryError("refused for good", permanent=True), "unexpected error: DeliveryError"),
    ],
)
async def test_errors_raised_by_a_notifier_are_recorded_and_retried_not_lost(
    store: Store,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
    error: Exception,
    recorded: str,
) -> None:
    settings = make_settings(webhook=ALL_ON["webhook"])
    await EscalationService(store, StaticSettings(settings), [Outbox()]).escalate(request())
    dispatcher = Dispatcher(
        store, StaticSettings(settings), notifiers=lambda k, s: Raising(error), clock=clock
    )
    await dispatcher.run_once()

    async with store.transaction() as tx:
        [delivery] = await OutboxQueries(tx).recent()
    assert delivery.status is DeliveryStatus.PENDING
    assert recorded in (delivery.last_error or "")


async def test_a_requeued_delivery_gets_a_fresh_retry_window(
    store: Store, make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    settings = make_settings(webhook=ALL_ON["webhook"])
    await EscalationService(store, StaticSettings(settings), [Outbox()]).escalate(request())
    fake = RecordingNotifier("webhook", [DeliveryResult.failed("HTTP 404")])
    dispatcher = dispatcher_with(store, settings, clock, {"webhook": fake})
    await dispatcher.run_once()
    clock.advance(3 * 24 * 3600)
    async with store.transaction() as tx:
        [delivery] = await OutboxQueries(tx).recent()
        assert delivery.status is DeliveryStatus.FAILED
        await OutboxQueries(tx).requeue(delivery.id)

    await dispatcher.run_once()
    async with store.transaction() as tx:
        [delivery] = await OutboxQueries(tx).recent()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert len(fake.sent) == 2
