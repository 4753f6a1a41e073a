"""The dispatcher: delivers outbox rows at least once, retrying with backoff, never twice at once.

Each process that runs a dispatcher claims due rows with a lease (`lease_seconds`), sends each in
its own task (a slow receiver never holds up the others), records every attempt, and then marks the
row delivered, schedules a retry, or gives up with the reason. A row whose process died while
sending becomes due again when its lease expires. It wakes at once when this process queued
something (`wake()`), and polls every `poll_interval` for rows queued elsewhere or due for a retry.
"""

from __future__ import annotations

import asyncio
import os
import random as random_module
import socket
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from handoff_plugin.clock import utc_now
from handoff_plugin.config.settings import Settings, SettingsProvider
from handoff_plugin.delivery.notifiers import build_notifier, enabled_kinds
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification, Notifier, Outcome
from handoff_plugin.delivery.outbox import RetryPolicy
from handoff_plugin.delivery.slack_thread import (
    SEQUENCED,
    THREAD_KIND,
    ThreadSender,
    record_receipt,
)
from handoff_plugin.errors import HandoffError
from handoff_plugin.models import AttemptStatus, Delivery, DeliveryStatus
from handoff_plugin.store import Store, StoreTransaction
from handoff_plugin.store.queries.outbox import OutboxQueries

log = structlog.get_logger(__name__)

# Seconds between an escalation's commit and the dispatcher's first look (see wake_after_reply).
REPLY_GRACE = 0.01
NotifierFactory = Callable[[str, Settings], Notifier | None]
# Called when a receiver says it is gone for good (webhook 410): turn that notifier off.
DisableNotifier = Callable[[str, str], Awaitable[None]]


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: SettingsProvider,
        *,
        notifiers: NotifierFactory | None = None,
        clock: Callable[[], datetime] = utc_now,
        random: Callable[[], float] = random_module.random,
        owner: str | None = None,
        on_disable: DisableNotifier | None = None,
        thread_senders: Callable[[Settings], ThreadSender] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.notifiers = notifiers or (lambda kind, s: build_notifier(kind, s, clock))
        self.random = random
        self.owner = owner or _owner_id()
        self.on_disable = on_disable
        self.thread_senders: Callable[[Settings], ThreadSender] = thread_senders or (
            lambda s: ThreadSender(store, s.slack)
        )
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[asyncio.Task[None], str] = {}  # each send and its kind
        self._stopping = False

    # -- running in the background ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """A slot is free or the process stops: look for due rows now, not at the next poll."""
        if self._wake is not None:
            self._wake.set()

    def wake_after_reply(self) -> None:
        """Something was queued in this process (an escalation committed its outbox rows): look
        for due rows once the reply that is on its way has left. Woken at once, the claim and
        the sends would share the event loop with that reply (the visitor's confirmation) and
        hold it up; `REPLY_GRACE` later it is long gone, and a notification is no later than
        a person would notice."""
        try:
            asyncio.get_running_loop().call_later(REPLY_GRACE, self.wake)
        except RuntimeError:  # committed outside an event loop (a CLI's own loop has ended)
            self.wake()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="handoff-dispatcher")
        log.info("handoff.dispatcher.started", owner=self.owner)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming; let sends in flight finish for `grace` seconds, then give them back."""
        if self._task is None:
            return
        self._stopping = True
        self.wake()
        await self._task
        self._task = None
        if self._in_flight:
            _, unfinished = await asyncio.wait(set(self._in_flight), timeout=grace)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        async with self.store.transaction() as tx:
            released = await OutboxQueries(tx).release(
                self.owner, "the process stopped while sending it; it will be sent again"
            )
        log.info("handoff.dispatcher.stopped", owner=self.owner, released=released)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            poll_interval = 1.0
            try:
                settings = await self.settings.current()
                poll_interval = settings.delivery.poll_interval
                for delivery in await self._claim(settings, Counter(self._in_flight.values())):
                    task = asyncio.create_task(self._deliver(delivery, settings))
                    self._in_flight[task] = delivery.kind
                    task.add_done_callback(self._done)
            except Exception:  # the database is away, say: log it, keep going
                log.exception("handoff.dispatcher.error", owner=self.owner)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=poll_interval)
            except asyncio.TimeoutError:
                pass

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("handoff.dispatcher.task_failed", error=repr(task.exception()))
        self.wake()  # a slot is free

    # -- one pass (the loop's step; tests and tools call it directly) ----------------------------

    async def run_once(self) -> int:
        """Claim what is due now and deliver it; returns how many deliveries were attempted."""
        settings = await self.settings.current()
        claimed = await self._claim(settings, Counter())
        await asyncio.gather(*(self._deliver(delivery, settings) for delivery in claimed))
        return len(claimed)

    async def _claim(self, settings: Settings, busy: Counter[str]) -> list[Delivery]:
        """Due deliveries, up to `delivery.concurrency` sends in flight per notifier kind."""
        limit = settings.delivery.concurrency
        # Units of work (Store.run): the write lock, which the Rasa process's turns share on
        # SQLite, is held for one trip, not across several of this loop's cycles.
        lease = settings.delivery.lease_seconds
        return await self.store.run(
            lambda tx: OutboxQueries(tx).claim_due(
                self.owner, lease, limit, busy=busy, sequenced=SEQUENCED
            )
        )

    async def _deliver(self, delivery: Delivery, settings: Settings) -> None:
        started = self.clock()
        policy = RetryPolicy.from_settings(settings.delivery)
        window_end = delivery.queued_at + timedelta(seconds=policy.give_up_after)
        if delivery.attempts > 1 and started > window_end:
            # Tried before, and its retry window closed while nobody could finish it.
            result = DeliveryResult.failed(
                f"gave up: not delivered within {_duration(policy.give_up_after)} "
                f"(last error: {delivery.last_error or 'none recorded'})",
                delivery.last_response_code,
            )
        else:
            result = await self._send(delivery, settings)
        await self._record(delivery, settings, policy, started, result)

    async def _send(self, delivery: Delivery, settings: Settings) -> DeliveryResult:
        if delivery.kind == THREAD_KIND:
            return await self._send_to_thread(delivery, settings)
        notifier = self.notifiers(delivery.kind, settings)
        if notifier is None:
            return DeliveryResult(
                Outcome.DISABLED,
                f"{delivery.kind} notifications were turned off before it could be sent "
                f"({delivery.kind}.enabled is false)",
            )
        deadline = settings.delivery.lease_seconds * 0.9  # never outlive the lease
        try:
            notification = Notification.from_payload(delivery.payload, delivery.webhook_id)
            return await asyncio.wait_for(notifier.send(notification), timeout=deadline)
        except asyncio.TimeoutError:
            return DeliveryResult.retry(f"the send did not finish within {deadline:g} s")
        except Exception as error:  # notifiers return every failure: this is a bug, retry later
            log.exception(
                "handoff.delivery.unexpected_error", delivery_id=delivery.id, kind=delivery.kind
            )
            return DeliveryResult.retry(f"unexpected error: {type(error).__name__}: {error}")

    async def _send_to_thread(self, delivery: Delivery, settings: Settings) -> DeliveryResult:
        if not settings.slack.enabled:
            return DeliveryResult(
                Outcome.DISABLED,
                "Slack was turned off before this thread message could be sent "
                "(slack.enabled is false)",
            )
        deadline = settings.delivery.lease_seconds * 0.9
        try:
            sender = self.thread_senders(settings)
            return await asyncio.wait_for(sender.send(delivery), timeout=deadline)
        except asyncio.TimeoutError:
            return DeliveryResult.retry(f"the send did not finish within {deadline:g} s")
        except Exception as error:  # the sender returns every failure: a bug, retry later
            log.exception(
                "handoff.delivery.unexpected_error", delivery_id=delivery.id, kind=delivery.kind
            )
            return DeliveryResult.retry(f"unexpected error: {type(error).__name__}: {error}")

    async def _record(
        self,
        delivery: Delivery,
        settings: Settings,
        policy: RetryPolicy,
        started: datetime,
        result: DeliveryResult,
    ) -> None:
        now = self.clock()
        fields = {
            "delivery_id": delivery.id,
            "escalation_id": delivery.escalation_id,
            "kind": delivery.kind,
            "attempt": delivery.attempts,
            "response_code": result.response_code,
        }
        next_attempt_at: datetime | None = None
        if result.outcome is Outcome.DELIVERED:
            attempt, status = AttemptStatus.DELIVERED, DeliveryStatus.DELIVERED
            error = result.detail
            log.info(f"handoff.{delivery.kind}.delivered", **fields)
        elif result.outcome is Outcome.RETRY:
            wait = policy.delay(delivery.attempts, self.random)
            if result.retry_after is not None:
                wait = max(wait, result.retry_after)  # the receiver asked us to wait that long
            next_attempt_at = now + timedelta(seconds=wait)
            window_end = delivery.queued_at + timedelta(seconds=policy.give_up_after)
            if next_attempt_at > window_end:
                attempt, status = AttemptStatus.FAILED, DeliveryStatus.FAILED
                error = (
                    f"gave up after {delivery.attempts} attempts over "
                    f"{_duration(policy.give_up_after)}: {result.detail}"
                )
                next_attempt_at = None
                log.error(f"handoff.{delivery.kind}.delivery_failed", error=error, **fields)
            else:
                attempt, status = AttemptStatus.RETRY, DeliveryStatus.PENDING
                error = result.detail
                log.warning(
                    f"handoff.{delivery.kind}.delivery_retry_scheduled",
                    error=error,
                    retry_in=round(wait, 1),
                    **fields,
                )
        elif result.outcome is Outcome.FAILED:
            attempt, status = AttemptStatus.FAILED, DeliveryStatus.FAILED
            error = result.detail
            log.error(f"handoff.{delivery.kind}.delivery_failed", error=error, **fields)
        else:
            attempt, status = AttemptStatus.DISABLED, DeliveryStatus.DISABLED
            error = result.detail
            log.warning(f"handoff.{delivery.kind}.disabled", reason=error, **fields)

        async def finish(tx: StoreTransaction) -> bool:
            kept = await OutboxQueries(tx).finish(
                delivery,
                self.owner,
                started_at=started,
                attempt_status=attempt,
                status=status,
                error=error,
                response_code=result.response_code,
                next_attempt_at=next_attempt_at,
            )
            if kept and result.receipt:  # with the delivery: a thread never waits on a lost ts
                await record_receipt(tx, delivery, result.receipt)
            return kept

        kept = await self.store.run(finish)
        if not kept:
            log.warning("handoff.delivery.lease_lost", **fields)
        if (
            result.outcome is Outcome.DISABLED
            and delivery.kind in enabled_kinds(settings)
            and self.on_disable is not None
        ):
            try:
                await self.on_disable(delivery.kind, error or "")
            except HandoffError:
                log.exception("handoff.delivery.disable_failed", kind=delivery.kind)
