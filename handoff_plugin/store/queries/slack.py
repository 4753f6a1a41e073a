"""Answering from Slack, inside a transaction: escalations' threads, the Slack requests already
handled (shared by every replica), and which agent a Slack user is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from handoff_plugin.models import DeliveryStatus
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import (
    agents,
    deliveries,
    escalations,
    slack_events,
    slack_threads,
    slack_users,
)

log = structlog.get_logger(__name__)

# How long a handled request's id is kept: Slack retries for a few minutes at most.
EVENT_MEMORY = timedelta(days=1)


@dataclass(frozen=True)
class SlackThread:
    conversation_id: int
    escalation_id: int
    channel: str
    ts: str
    state: str
    created_at: datetime


def _thread(row: Row) -> SlackThread:
    return SlackThread(
        row.conversation_id, row.escalation_id, row.channel, row.ts, row.state, row.created_at
    )


class SlackQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    # --- threads ---

    async def thread_started(self, escalation_id: int, channel: str, ts: str) -> None:
        """The escalation's notification was posted as message `ts` in `channel` (idempotent)."""
        if await self.thread_of_escalation(escalation_id) is not None:
            return
        conversation_id = (
            await self.conn.execute(
                sa.select(escalations.c.conversation_id).where(escalations.c.id == escalation_id)
            )
        ).scalar_one()
        dialect = self.conn.dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(slack_threads)
        # Slack never gives two messages one `ts`, but an API stand-in or proxy that answers
        # the same `ts` twice must not undo the delivery this runs in (it would be sent again):
        # the later escalation then just has no thread.
        result = await self.conn.execute(
            insert.on_conflict_do_nothing().values(
                conversation_id=conversation_id,
                escalation_id=escalation_id,
                channel=channel,
                ts=ts,
                state="waiting",
                created_at=self.tx.clock(),
            )
        )
        if result.rowcount != 1:
            log.warning(
                "handoff.slack.thread_not_kept",
                escalation_id=escalation_id,
                reason="another escalation's thread has this channel and ts",
            )

    async def thread_of_escalation(self, escalation_id: int) -> SlackThread | None:
        row = (
            await self.conn.execute(
                sa.select(slack_threads).where(slack_threads.c.escalation_id == escalation_id)
            )
        ).first()
        return _thread(row) if row else None

    async def thread_at(self, channel: str, ts: str) -> SlackThread | None:
        row = (
            await self.conn.execute(
                sa.select(slack_threads)
                .where(slack_threads.c.channel == channel)
                .where(slack_threads.c.ts == ts)
            )
        ).first()
        return _thread(row) if row else None

    async def set_thread_state(self, escalation_id: int, state: str) -> None:
        await self.conn.execute(
            slack_threads.update()
            .where(slack_threads.c.escalation_id == escalation_id)
            .values(state=state)
        )

    async def notification_pending(self, escalation_id: int) -> bool:
        """The escalation's Slack notification may still be posted (so its thread may start)."""
        row = (
            await self.conn.execute(
                sa.select(deliveries.c.id)
                .where(deliveries.c.escalation_id == escalation_id)
                .where(deliveries.c.kind == "slack")
                .where(
                    deliveries.c.status.in_(
                        [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]
                    )
                )
                .limit(1)
            )
        ).first()
        return row is not None

    async def notification_payload(self, escalation_id: int) -> tuple[dict[str, Any], str] | None:
        """What the escalation's Slack notification said (to redraw it with a new state)."""
        row = (
            await self.conn.execute(
                sa.select(deliveries.c.payload, deliveries.c.webhook_id)
                .where(deliveries.c.escalation_id == escalation_id)
                .where(deliveries.c.kind == "slack")
                .order_by(deliveries.c.id)
                .limit(1)
            )
        ).first()
        return (dict(row.payload), str(row.webhook_id)) if row else None

    # --- requests already handled ---

    async def first_time(self, event_id: str) -> bool:
        """Remember `event_id`; False if it was handled before (a retry, a duplicate)."""
        now = self.tx.clock()
        dialect = self.conn.dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(slack_events)
        result = await self.conn.execute(
            insert.on_conflict_do_nothing().values(event_id=event_id[:128], received_at=now)
        )
        if result.rowcount == 1:  # forget ids Slack can no longer retry (an indexed range)
            await self.conn.execute(
                slack_events.delete().where(slack_events.c.received_at < now - EVENT_MEMORY)
            )
        return bool(result.rowcount == 1)

    # --- Slack users ---

    async def agent_of(self, slack_user_id: str) -> int | None:
        return (
            await self.conn.execute(
                sa.select(slack_users.c.agent_id).where(
                    slack_users.c.slack_user_id == slack_user_id
                )
            )
        ).scalar_one_or_none()

    async def map_user(self, slack_user_id: str, agent_id: int, *, explicit: bool) -> None:
        """`slack_user_id` answers as `agent_id`; a learnt mapping never replaces an explicit one."""
        now = self.tx.clock()
        existing = (
            await self.conn.execute(
                sa.select(slack_users).where(slack_users.c.slack_user_id == slack_user_id)
            )
        ).first()
        if existing is None:
            await self.conn.execute(
                slack_users.insert().values(
                    slack_user_id=slack_user_id,
                    agent_id=agent_id,
                    explicit=explicit,
                    updated_at=now,
                )
            )
        elif explicit or not existing.explicit:
            await self.conn.execute(
                slack_users.update()
                .where(slack_users.c.slack_user_id == slack_user_id)
                .values(agent_id=agent_id, explicit=explicit, updated_at=now)
            )

    async def agent_id_by_email(self, email: str) -> int | None:
        return (
            await self.conn.execute(
                sa.select(agents.c.id).where(sa.func.lower(agents.c.email) == email.lower())
            )
        ).scalar_one_or_none()


async def open_escalation_id(tx: StoreTransaction, conversation_id: int) -> int | None:
    """The conversation's open escalation (one indexed read, no joins)."""
    return (
        await tx.conn.execute(
            sa.select(escalations.c.id)
            .where(escalations.c.conversation_id == conversation_id)
            .where(escalations.c.status == "open")
        )
    ).scalar_one_or_none()
