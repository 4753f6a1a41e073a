"""The transactional outbox: one delivery row per enabled notifier, written with the escalation.

`Outbox` is an `EscalationListener`: it runs inside the escalation's transaction, so either the
escalation and all of its notifications are stored, or none is. Nothing is sent here; the
`Dispatcher` (dispatcher.py) delivers the rows, and `on_enqueued` wakes it once the transaction
has committed so delivery starts at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from handoff_plugin.config.settings import DeliverySettings, Settings
from handoff_plugin.delivery.notifiers import enabled_kinds
from handoff_plugin.delivery.notifiers.base import Notification, build_webhook_body
from handoff_plugin.delivery.round_robin import next_recipient
from handoff_plugin.models import Escalation
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.queries.outbox import OutboxQueries

log = structlog.get_logger(__name__)

EMAIL_ROTATION = "email"


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class Outbox:
    def __init__(
        self,
        *,
        on_enqueued: Callable[[], None] | None = None,
        new_id: Callable[[], str] = new_message_id,
    ) -> None:
        self.on_enqueued = on_enqueued
        self.new_id = new_id

    async def escalation_created(
        self, tx: StoreTransaction, escalation: Escalation, settings: Settings
    ) -> None:
        kinds = enabled_kinds(settings)
        if not kinds:
            return
        queries = OutboxQueries(tx)
        body = build_webhook_body(escalation, settings)
        queued: dict[str, int] = {}  # delivery id per notifier kind
        for kind in kinds:
            recipients: tuple[str, ...] = ()
            if kind == "email":
                recipients = settings.email.recipients
                if settings.email.round_robin:
                    chosen = await queries.advance_rotation(
                        EMAIL_ROTATION, recipients, next_recipient
                    )
                    recipients = (chosen,)
            notification = Notification(
                body=body,
                message_id=self.new_id(),
                transcript=escalation.transcript,
                recipients=recipients,
            )
            queued[kind] = await queries.enqueue(
                escalation.id, kind, notification.to_payload(), notification.message_id
            )
        # One line, once committed: in a Rasa process a log line costs about 0.3 ms (its
        # handlers, Sentry's breadcrumbs), and this ran once per notifier inside the
        # transaction the visitor's confirmation waits for.
        tx.after_commit(
            lambda: log.info(
                "handoff.delivery.queued", escalation_id=escalation.id, deliveries=queued
            )
        )
        if self.on_enqueued is not None:
            tx.after_commit(self.on_enqueued)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, within a window that starts when the row was queued."""

    initial_delay: float
    max_delay: float
    give_up_after: float
    jitter: float = 0.2

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> RetryPolicy:
        return cls(settings.retry_initial_delay, settings.retry_max_delay, settings.give_up_after)

    def delay(self, failed_attempts: int, random: Callable[[], float]) -> float:
        """Seconds to wait after the `failed_attempts`-th failure (1, 2, ...)."""
        exponent = min(max(failed_attempts - 1, 0), 60)
        base = min(self.max_delay, self.initial_delay * 2.0**exponent)
        return base * (1 - self.jitter + 2 * self.jitter * random())

    def schedule(self, random: Callable[[], float] = lambda: 0.5) -> list[float]:
        """The waits before each retry, until the window closes (for docs and tests)."""
        waits: list[float] = []
        while sum(waits) + self.delay(len(waits) + 1, random) <= self.give_up_after:
            waits.append(self.delay(len(waits) + 1, random))
        return waits
