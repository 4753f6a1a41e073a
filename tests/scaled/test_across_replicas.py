"""The demo-scaled stack's two replicas reached one by one, on PostgreSQL and Redis: a live chat
across them, and twenty escalations at once from visitors on both.

Runs before test_demo_scaled.py (file order), whose last tests kill a replica and stop the stack."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from handoff_plugin.delivery.signing import verify
from handoff_plugin.store import Store
from handoff_plugin.store.tables import deliveries
from tests.integration.inbox.conftest import AgentClient
from tests.integration.livechat.harness import WebchatVisitor
from tests.integration.scale.test_two_replicas import a_live_chat_across_replicas
from tests.scaled.conftest import TEAM, WEBHOOK_SECRET, ScaledStack, demo_agent_at
from tests.servers import HttpServer, SmtpServer

pytestmark = pytest.mark.slow
ESCALATIONS = 20


@pytest.fixture
async def agent_on_second_replica(scaled_stack: ScaledStack) -> AsyncIterator[AgentClient]:
    async with demo_agent_at(scaled_stack, scaled_stack.replica_url(1)) as client:
        yield client


async def test_a_live_chat_across_replicas_on_postgresql(
    scaled_stack: ScaledStack, agent_on_second_replica: AgentClient, shared_store: Store
) -> None:
    first, second = scaled_stack.replica_url(0), scaled_stack.replica_url(1)
    await a_live_chat_across_replicas(
        first, second, agent_on_second_replica, "Demo Agent", shared_store
    )


async def escalate(url: str, n: int) -> str:
    """Visitor `n` asks for a person on the replica at `url` and gives an email address."""
    # Each its own visitor behind the trusted proxy header, as nginx would tell the replica.
    tab = WebchatVisitor(url, headers={"X-Forwarded-For": f"198.51.100.{n + 1}"})
    await tab.connect()
    try:
        await tab.say("I want to talk to a human")
        assert any("What email address" in t for t in await tab.texts_until_quiet(120))
        email = f"visitor{n}@example.com"
        await tab.say(email)
        assert any(email in t for t in await tab.texts_until_quiet(120))  # the confirmation
        return email
    finally:
        await tab.disconnect()


async def test_twenty_escalations_on_both_replicas_take_turns_and_notify_once_each(
    scaled_stack: ScaledStack,
    shared_store: Store,
    team_smtp: SmtpServer,
    team_webhook: HttpServer,
) -> None:
    team_smtp.reset()
    team_webhook.reset()
    async with shared_store.transaction() as tx:
        before = (await tx.conn.execute(sa.select(sa.func.max(deliveries.c.id)))).scalar() or 0

    urls = [scaled_stack.replica_url(n % 2) for n in range(ESCALATIONS)]
    emails = await asyncio.gather(*(escalate(url, n) for n, url in enumerate(urls)))

    # Round robin, in the order the escalations were recorded, whichever replica they came from.
    async with shared_store.transaction() as tx:
        rows = (
            await tx.conn.execute(
                sa.select(deliveries)
                .where(deliveries.c.id > before, deliveries.c.kind == "email")
                .order_by(deliveries.c.id)
            )
        ).all()
    assert [row.payload["recipients"][0] for row in rows] == [
        TEAM[n % len(TEAM)] for n in range(ESCALATIONS)
    ]
    mails = await team_smtp.wait_for(ESCALATIONS, timeout=120)
    assert Counter(team_smtp.recipients) == {TEAM[0]: 7, TEAM[1]: 7, TEAM[2]: 6}
    assert sorted(str(mail.message["Reply-To"]) for mail in mails) == sorted(emails)

    # The webhook: one signed request per escalation, none sent twice.
    requests = await team_webhook.wait_for(ESCALATIONS, timeout=120)
    ids = [request.headers["webhook-id"] for request in requests]
    assert len(ids) == len(set(ids)) == ESCALATIONS
    assert all(verify(r.body, WEBHOOK_SECRET, r.headers["x-signature-256"]) for r in requests)
    visitors = sorted(json.loads(r.body)["visitor"]["email"] for r in requests)
    assert visitors == sorted(emails)
    # Each sent once and marked so: no delivery is left to be sent again later.
    async with shared_store.transaction() as tx:
        sent = (
            await tx.conn.execute(
                sa.select(deliveries.c.kind, deliveries.c.status, deliveries.c.attempts).where(
                    deliveries.c.id > before
                )
            )
        ).all()
    assert Counter((kind, status, attempts) for kind, status, attempts in sent) == {
        ("email", "delivered", 1): ESCALATIONS,
        ("webhook", "delivered", 1): ESCALATIONS,
    }
