"""The outbox on PostgreSQL: claims skip rows another transaction holds, leases still expire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from handoff_plugin.models import AttemptStatus, DeliveryStatus
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.queries.outbox import OutboxQueries
from tests.conftest import FakeClock
from tests.notifications.conftest import build_handoff, webhook_section
from tests.servers import Answer, HttpServer

pytestmark = pytest.mark.slow


@pytest.fixture
async def pg_store(postgres_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    store = await open_store(postgres_url, clock=clock)
    yield store
    await store.close()


async def test_two_dispatchers_share_the_work_and_send_nothing_twice(
    pg_store: Store, postgres_url: str, clock: FakeClock, webhook: HttpServer
) -> None:
    sections = {"webhook": webhook_section(webhook)}
    first = build_handoff(pg_store, postgres_url, clock, sections)
    second = build_handoff(pg_store, postgres_url, clock, sections)
    webhook.default = Answer(200, delay=0.2)
    for _ in range(6):
        await first.escalate()

    handled = await asyncio.gather(first.deliver(), second.deliver())

    assert sum(handled) == 6
    ids = [r.headers["webhook-id"] for r in webhook.requests]
    assert len(ids) == len(set(ids)) == 6
    assert {d.status for d in await first.deliveries()} == {DeliveryStatus.DELIVERED}


async def test_a_crashed_senders_delivery_is_sent_again_after_its_lease(
    pg_store: Store, postgres_url: str, clock: FakeClock, webhook: HttpServer
) -> None:
    handoff = build_handoff(pg_store, postgres_url, clock, {"webhook": webhook_section(webhook)})
    await handoff.escalate()
    async with pg_store.transaction() as tx:
        await OutboxQueries(tx).claim_due("crashed-process", 120, 10)

    assert await handoff.deliver() == 0
    clock.advance(121)
    assert await handoff.deliver() == 1
    [delivery] = await handoff.deliveries()
    attempts = await handoff.attempts(delivery.id)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert [a.status for a in attempts] == [AttemptStatus.INTERRUPTED, AttemptStatus.DELIVERED]
