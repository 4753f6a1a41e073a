"""Typed queries of the notification outbox: enqueue, claim with a lease, record attempts.

Every method runs inside the caller's `StoreTransaction`. Claims are exclusive on both databases:
SQLite transactions begin with BEGIN IMMEDIATE (one writer at a time), PostgreSQL skips rows another
transaction has locked, and the claiming UPDATE re-checks that the row is still due.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from handoff_plugin.errors import HandoffError, NotFound
from handoff_plugin.models import AttemptStatus, Delivery, DeliveryAttempt, DeliveryStatus
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import deliveries, delivery_attempts, round_robin_cursors


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row.id,
        escalation_id=row.escalation_id,
        kind=row.kind,
        payload=dict(row.payload),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        last_error=row.last_error,
        last_response_code=row.last_response_code,
        webhook_id=row.webhook_id,
        queued_at=row.queued_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
    )


def _attempt(row: Row) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=row.delivery_id,
        number=row.number,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=AttemptStatus(row.status),
        error=row.error,
        response_code=row.response_code,
        owner=row.owner,
    )


_ENQUEUE = deliveries.insert()
# Due rows read per free slot when claiming: rows of a kind with no room left are passed over.
CANDIDATES_PER_SLOT = 4


class OutboxQueries:
    """The outbox's queries inside one transaction: `OutboxQueries(tx).enqueue(...)`."""

    def __init__(self, tx: StoreTransaction) -> None:
        self.conn = tx.conn
        self.clock = tx.clock

    # -- writing the outbox (inside the escalation's transaction) -------------------------------

    async def enqueue(
        self, escalation_id: int, kind: str, payload: dict[str, Any], webhook_id: str
    ) -> int:
        now = self.clock()
        result = await self.conn.execute(
            _ENQUEUE,  # built once: building it per row was a third of an escalation's writes
            {
                "escalation_id": escalation_id,
                "kind": kind,
                "payload": payload,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "webhook_id": webhook_id,
                "queued_at": now,
                "created_at": now,
                "updated_at": now,
            },
        )
        return int(result.inserted_primary_key[0])

    async def advance_rotation(
        self,
        name: str,
        recipients: Sequence[str],
        choose: Callable[[Sequence[str], str | None, Sequence[str]], str],
    ) -> str:
        """Advance rotation `name` to `choose(recipients, last, previous recipients)`, atomically
        for all processes (the choice itself is the caller's policy)."""
        now = self.clock()
        await self._insert_if_missing(
            round_robin_cursors,
            {"name": name, "recipients": [], "assigned": 0, "updated_at": now},
        )
        query = sa.select(round_robin_cursors).where(round_robin_cursors.c.name == name)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()  # SQLite: BEGIN IMMEDIATE already holds the lock
        cursor = (await self.conn.execute(query)).one()
        chosen = choose(recipients, cursor.last_recipient, cursor.recipients or ())
        await self.conn.execute(
            round_robin_cursors.update()
            .where(round_robin_cursors.c.name == name)
            .values(
                last_recipient=chosen,
                recipients=list(recipients),
                assigned=cursor.assigned + 1,
                updated_at=now,
            )
        )
        return chosen

    async def _insert_if_missing(self, table: sa.Table, values: dict[str, Any]) -> None:
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            statement: Any = postgresql.insert(table).on_conflict_do_nothing()
        elif dialect == "sqlite":
            statement = sqlite.insert(table).on_conflict_do_nothing()
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise HandoffError(f"unsupported database dialect {dialect}")
        await self.conn.execute(statement.values(**values))

    # -- the dispatcher's side -------------------------------------------------------------------

    def _due(self, now: datetime) -> Any:
        return sa.or_(
            sa.and_(
                deliveries.c.status == DeliveryStatus.PENDING.value,
                deliveries.c.next_attempt_at <= now,
            ),
            sa.and_(
                deliveries.c.status == DeliveryStatus.SENDING.value,
                deliveries.c.lease_until < now,
            ),
        )

    async def claim_due(
        self,
        owner: str,
        lease_seconds: float,
        limit: int,
        *,
        busy: Mapping[str, int] | None = None,
        sequenced: Mapping[str, str] | None = None,
    ) -> list[Delivery]:
        """Lease due deliveries to `owner`, at most `limit` of each kind less the `busy` ones (its
        sends of that kind still in flight), counting the attempt that starts now. Per kind, so
        a receiver that hangs fills its own slots and never holds up the other notifiers.

        `sequenced` maps a kind to the kind it waits for: its rows go out one at a time per
        escalation, oldest first, once that escalation's row of the other kind is finished
        (Slack thread lines wait for the notification whose message starts the thread).

        A delivery whose lease expired (its process died while sending) is due again; the lost
        attempt is recorded as interrupted."""
        if limit <= 0:
            return []
        room = {kind: limit - count for kind, count in (busy or {}).items()}
        full = [kind for kind, free in room.items() if free <= 0]
        now = self.clock()
        query = (
            sa.select(deliveries)
            .where(self._due(now))
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit * CANDIDATES_PER_SLOT)
        )
        if full:
            query = query.where(deliveries.c.kind.notin_(full))
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        candidates = []
        for row in (await self.conn.execute(query)).all():
            if room.setdefault(row.kind, limit) > 0:
                room[row.kind] -= 1
                candidates.append(row)
        claimed = []
        for row in candidates:
            if sequenced and row.kind in sequenced:
                if not await self._next_in_sequence(row, sequenced[row.kind]):
                    continue
            updated = await self.conn.execute(
                deliveries.update()
                .where(deliveries.c.id == row.id)
                .where(self._due(now))
                .values(
                    status=DeliveryStatus.SENDING.value,
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=deliveries.c.attempts + 1,
                    updated_at=now,
                )
            )
            if updated.rowcount != 1:
                continue
            if row.status == DeliveryStatus.SENDING.value:
                await self._add_attempt(
                    row.id,
                    number=row.attempts,
                    started_at=row.updated_at,
                    status=AttemptStatus.INTERRUPTED,
                    error=(
                        f"the process sending it ({row.lease_owner}) stopped before it finished; "
                        "its lease expired"
                    ),
                    response_code=None,
                    owner=row.lease_owner,
                )
            claimed.append(await self.delivery(row.id))
        return claimed

    async def _next_in_sequence(self, row: Row, waits_for: str) -> bool:
        """No earlier row of its kind and escalation is unfinished, nor one of `waits_for`."""
        unfinished = [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]
        blocking = (
            await self.conn.execute(
                sa.select(deliveries.c.id)
                .where(deliveries.c.escalation_id == row.escalation_id)
                .where(deliveries.c.status.in_(unfinished))
                .where(
                    sa.or_(
                        sa.and_(deliveries.c.kind == row.kind, deliveries.c.id < row.id),
                        deliveries.c.kind == waits_for,
                    )
                )
                .limit(1)
            )
        ).first()
        return blocking is None

    async def finish(
        self,
        delivery: Delivery,
        owner: str,
        *,
        started_at: datetime,
        attempt_status: AttemptStatus,
        status: DeliveryStatus,
        error: str | None = None,
        response_code: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Record the attempt and the delivery's new state; False if `owner` lost the lease."""
        now = self.clock()
        await self._add_attempt(
            delivery.id,
            number=delivery.attempts,
            started_at=started_at,
            status=attempt_status,
            error=error,
            response_code=response_code,
            owner=owner,
        )
        updated = await self.conn.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery.id)
            .where(deliveries.c.lease_owner == owner)
            .where(deliveries.c.status == DeliveryStatus.SENDING.value)
            .values(
                status=status.value,
                next_attempt_at=next_attempt_at or now,
                lease_owner=None,
                lease_until=None,
                last_error=error,
                last_response_code=response_code,
                updated_at=now,
                delivered_at=now if status is DeliveryStatus.DELIVERED else None,
            )
        )
        return updated.rowcount == 1

    async def release(self, owner: str, reason: str) -> int:
        """Give back what `owner` is still sending (shutdown): due again at once."""
        now = self.clock()
        rows = (
            await self.conn.execute(
                sa.select(deliveries)
                .where(deliveries.c.lease_owner == owner)
                .where(deliveries.c.status == DeliveryStatus.SENDING.value)
            )
        ).all()
        for row in rows:
            await self._add_attempt(
                row.id,
                number=row.attempts,
                started_at=row.updated_at,
                status=AttemptStatus.INTERRUPTED,
                error=reason,
                response_code=None,
                owner=owner,
            )
            await self.conn.execute(
                deliveries.update()
                .where(deliveries.c.id == row.id)
                .values(
                    status=DeliveryStatus.PENDING.value,
                    lease_owner=None,
                    lease_until=None,
                    next_attempt_at=now,
                    last_error=reason,
                    updated_at=now,
                )
            )
        return len(rows)

    async def _add_attempt(
        self,
        delivery_id: int,
        *,
        number: int,
        started_at: datetime,
        status: AttemptStatus,
        error: str | None,
        response_code: int | None,
        owner: str | None,
    ) -> None:
        await self.conn.execute(
            delivery_attempts.insert().values(
                delivery_id=delivery_id,
                number=number,
                started_at=started_at,
                finished_at=self.clock(),
                status=status.value,
                error=error,
                response_code=response_code,
                owner=owner,
            )
        )

    # -- reading and re-queuing (CLI, inbox) -----------------------------------------------------

    async def delivery(self, delivery_id: int) -> Delivery:
        row = (
            await self.conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id))
        ).first()
        if row is None:
            raise NotFound(
                f"handoff: there is no delivery {delivery_id} (see `handoff deliveries`)"
            )
        return _delivery(row)

    async def recent(
        self,
        limit: int = 50,
        status: DeliveryStatus | None = None,
        escalation_id: int | None = None,
    ) -> list[Delivery]:
        query = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(deliveries.c.status == status.value)
        if escalation_id is not None:
            query = query.where(deliveries.c.escalation_id == escalation_id)
        return [_delivery(row) for row in (await self.conn.execute(query)).all()]

    async def attempts(self, delivery_id: int) -> list[DeliveryAttempt]:
        query = (
            sa.select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id == delivery_id)
            .order_by(delivery_attempts.c.id)
        )
        return [_attempt(row) for row in (await self.conn.execute(query)).all()]

    async def requeue(self, delivery_id: int) -> Delivery:
        """Send a failed (or disabled) delivery again, with a fresh retry window."""
        delivery = await self.delivery(delivery_id)
        if delivery.status is DeliveryStatus.SENDING:
            raise HandoffError(
                f"handoff: delivery {delivery_id} is being sent right now; "
                "check again with `handoff deliveries`"
            )
        if delivery.status is DeliveryStatus.DELIVERED:
            raise HandoffError(f"handoff: delivery {delivery_id} was already delivered")
        now = self.clock()
        await self.conn.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(
                status=DeliveryStatus.PENDING.value,
                next_attempt_at=now,
                queued_at=now,
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            )
        )
        return await self.delivery(delivery_id)
