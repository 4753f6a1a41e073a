"""The action server as the demo runs it refuses action calls without the shared token: a forged
`action_escalate` creates no escalation and sends no notification."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from handoff_plugin.store import open_store
from handoff_plugin.store.tables import conversations, deliveries, escalations
from tests.notifications.test_processes import escalate_call
from tests.security.conftest import (
    Server,
    demo_env,
    migrated_database,
    own_non_loopback_address,
    start,
    stop,
)
from tests.servers import ACTIONS_TOKEN

pytestmark = pytest.mark.slow


async def post_escalation(server: Server, token: str | None) -> tuple[int, Any, str]:
    """A forged (or genuine) `action_escalate` call, as Rasa would post it."""
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    params = {} if token is None else {"token": token}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/webhook", json=escalate_call(sender, "x@example.com"), params=params
        ) as answer:
            return answer.status, await answer.json(), sender


async def rows_for(database_url: str, sender: str) -> tuple[int, int]:
    """How many escalations and outbox rows the visitor `sender` has."""
    store = await open_store(database_url, upgrade=False)
    try:
        async with store.transaction() as tx:
            ids = (
                (
                    await tx.conn.execute(
                        sa.select(escalations.c.id)
                        .join(conversations)
                        .where(conversations.c.sender_id == sender)
                    )
                )
                .scalars()
                .all()
            )
            outbox = (
                await tx.conn.execute(
                    sa.select(sa.func.count()).where(deliveries.c.escalation_id.in_(ids))
                )
            ).scalar_one()
    finally:
        await store.close()
    return len(ids), int(outbox)


async def test_a_call_with_the_token_escalates(closed_actions: Server) -> None:
    status, answer, sender = await post_escalation(closed_actions, ACTIONS_TOKEN)
    assert status == 200
    assert any("passed your request" in r.get("text", "") for r in answer["responses"])
    assert await rows_for(closed_actions.database_url, sender) == (1, 1)
    assert ACTIONS_TOKEN not in closed_actions.log.read_text()  # the secret is never logged


@pytest.mark.parametrize("token", [None, "", "wrong-token", ACTIONS_TOKEN + "x"])
async def test_a_forged_escalation_without_the_token_is_refused_and_creates_nothing(
    closed_actions: Server, token: str | None
) -> None:
    status, answer, sender = await post_escalation(closed_actions, token)
    assert status == 401
    assert answer["reason"] in {"missing_token", "wrong_token"}
    assert "responses" not in answer
    assert await rows_for(closed_actions.database_url, sender) == (0, 0)


async def test_without_a_configured_token_every_call_is_refused_with_the_setting_to_set(
    tmp_path: Path,
) -> None:
    # `rasa run actions` as a bot builder might start it, forgetting HANDOFF_ACTIONS_TOKEN
    # (scripts/run_actions.sh refuses to start without it).
    env = demo_env(await migrated_database(tmp_path), SANIC_HOST="127.0.0.1")
    server = start("rasa", env, tmp_path, "/health", "run", "actions", "--actions", "actions")
    try:
        status, answer, sender = await post_escalation(server, "any-token")
    finally:
        stop(server)
    assert (status, answer["reason"]) == (401, "no_token_configured")
    assert await rows_for(server.database_url, sender) == (0, 0)
    log = server.log.read_text()
    assert "handoff.actions.token_missing" in log
    assert "HANDOFF_ACTIONS_TOKEN" in log
    assert "any-token" not in log  # what a caller sent is never logged


async def test_the_action_server_listens_on_loopback_only(closed_actions: Server) -> None:
    with socket.create_connection(("127.0.0.1", closed_actions.port), timeout=5):
        pass  # it is up, on loopback
    with pytest.raises(OSError):
        socket.create_connection((own_non_loopback_address(), closed_actions.port), timeout=5)
