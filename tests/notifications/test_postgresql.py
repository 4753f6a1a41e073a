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


async def test_slack_thread_lines_go_in_order_and_requests_are_handled_once_on_postgresql(
    pg_store: Store, postgres_url: str, clock: FakeClock, slack: HttpServer
) -> None:
    from handoff_plugin.store.queries.slack import SlackQueries
    from tests.notifications.conftest import slack_section
    from tests.notifications.test_slack_thread import SECRET, line, mirror

    sections = {"slack": slack_section(slack, signing_secret=SECRET)}
    handoff = build_handoff(pg_store, postgres_url, clock, sections)
    outcome = await handoff.escalate()
    assert outcome.escalation is not None
    conversation_id = outcome.escalation.conversation_id
    await mirror(
        handoff, conversation_id, line(conversation_id, "one"), line(conversation_id, "two")
    )
    assert [await handoff.deliver() for _ in range(4)] == [1, 1, 1, 0]
    assert [r.json()["text"] for r in slack.requests[1:]] == ["*Visitor:* one", "*Visitor:* two"]

    async with pg_store.transaction() as tx:
        assert await SlackQueries(tx).first_time("Ev0PG1")
    async with pg_store.transaction() as tx:
        assert not await SlackQueries(tx).first_time("Ev0PG1")  # Slack's retry: not again
