"""Real OS processes: round robin shared by two processes; a killed action server's notification
is still delivered after it restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from handoff_plugin.delivery.signing import verify
from handoff_plugin.models import AttemptStatus, DeliveryStatus
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.queries.outbox import OutboxQueries
from handoff_plugin.store.tables import deliveries
from tests.conftest import ROOT
from tests.integration.conftest import wait_until_up
from tests.notifications.conftest import RECIPIENTS, WEBHOOK_SECRET, email_section
from tests.servers import ACTIONS_TOKEN, Answer, HttpServer, SmtpServer, eventually, free_port

pytestmark = pytest.mark.slow
VENV_BIN = Path(sys.executable).parent


def handoff_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
    env.update(
        HANDOFF_DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        RASA_TELEMETRY_ENABLED="false",  # no error reports to the internet
        HANDOFF_ACTIONS_TOKEN=ACTIONS_TOKEN,
        **settings,
    )
    return env


def env_for(section: str, values: dict[str, Any]) -> dict[str, str]:
    return {f"HANDOFF_{section}_{k}".upper(): str(v) for k, v in values.items()}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_round_robin_is_shared_by_escalations_from_two_processes(
    tmp_path: Path, smtp: SmtpServer, database: str, request: pytest.FixtureRequest
) -> None:
    if database == "sqlite":
        database_url = f"sqlite+aiosqlite:///{tmp_path}/handoff.db"
    else:
        database_url = request.getfixturevalue("postgres_url")
    store = await open_store(database_url)  # schema first, so the processes don't race to make it
    env = handoff_env(database_url, **env_for("email", email_section(smtp, round_robin=True)))
    # Plain subprocesses driven from threads: asyncio's subprocess support breaks once Rasa has
    # installed uvloop's event loop policy (the integration tests import it).
    processes = [
        await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "tests.notifications.escalating_process", "3"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            while (await asyncio.to_thread(process.stdout.readline)).strip() != "ready":
                pass  # log lines
        for process in processes:  # both escalate at the same time
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [await asyncio.to_thread(p.communicate, timeout=60) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [p.returncode for p in processes] == [0, 0], outputs

    async with store.transaction() as tx:
        rows = (await tx.conn.execute(sa.select(deliveries).order_by(deliveries.c.id))).all()
    await store.close()
    assert [row.payload["recipients"][0] for row in rows] == RECIPIENTS * 2
    assert len({row.escalation_id for row in rows}) == 6
    await smtp.wait_for(6)
    assert Counter(smtp.recipients) == dict.fromkeys(RECIPIENTS, 2)


def escalate_call(sender_id: str, email: str) -> dict[str, Any]:
    """What Rasa posts to the action server to run action_escalate."""
    user = {
        "event": "user",
        "text": "I want to talk to a human",
        "parse_data": {"intent": {"name": "human_handoff", "confidence": 0.98}},
        "input_channel": "rest",
    }
    return {
        "next_action": "action_escalate",
        "sender_id": sender_id,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender_id,
            "slots": {"handoff_email": email},
            "latest_message": user,
            "events": [user, {"event": "bot", "text": "What email address can they reach you at?"}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "handoff_form",
        },
    }


class ActionServer:
    """`rasa run actions` with the reference bot's actions, as the demo starts it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "rasa"), "run", "actions", "--port", str(self.port)]
                + ["--actions", "actions"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until_up(f"http://127.0.0.1:{self.port}/health", self.process, log)

    def escalate(self, sender_id: str, email: str) -> list[str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhook?token={ACTIONS_TOKEN}",
            data=json.dumps(escalate_call(sender_id, email)).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        return [r.get("text") for r in answer["responses"]]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=30)


@pytest.fixture
def servers() -> Iterator[list[ActionServer]]:
    started: list[ActionServer] = []
    yield started
    for server in started:
        server.stop(signal.SIGKILL)


async def delivery_state(store: Store) -> tuple[Any, list[Any]]:
    async with store.transaction() as tx:
        [delivery] = await OutboxQueries(tx).recent()
        return delivery, await OutboxQueries(tx).attempts(delivery.id)


async def test_a_notification_survives_killing_the_action_server_mid_send(
    tmp_path: Path, webhook: HttpServer, servers: list[ActionServer]
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/handoff.db"
    store = await open_store(database_url)
    env = handoff_env(
        database_url,
        HANDOFF_WEBHOOK_ENABLED="true",
        HANDOFF_WEBHOOK_URL=f"{webhook.url}/hooks/handoff",
        HANDOFF_WEBHOOK_SECRET=WEBHOOK_SECRET,
        HANDOFF_WEBHOOK_TIMEOUT="5",
        HANDOFF_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true",
        HANDOFF_DELIVERY_LEASE_SECONDS="6",
    )
    log = tmp_path / "actions.log"
    webhook.answer(Answer(200, delay=60))  # the first delivery hangs: the process is mid-send

    first = ActionServer(env, log)
    servers.append(first)
    replies = first.escalate("visitor-crash", "ann@example.com")
    assert any("passed your request to our team" in (r or "") for r in replies)
    await webhook.wait_for(1, timeout=5)
    first.stop(signal.SIGKILL)  # committed and claimed, never answered: crash

    delivery, _ = await delivery_state(store)
    # Still in flight: the visitor was confirmed without waiting for the receiver (had it waited,
    # the webhook's 5 s timeout would have ended this attempt before the reply).
    assert delivery.status is DeliveryStatus.SENDING

    second = ActionServer(env, log)  # the restart
    servers.append(second)
    await webhook.wait_for(2, timeout=30)

    async def recorded() -> bool:  # the receiver answered; the dispatcher records it
        delivery, _ = await delivery_state(store)
        return delivery.status is DeliveryStatus.DELIVERED

    await eventually(recorded, "the second process recorded the delivery", timeout=5)
    delivery, attempts = await delivery_state(store)

    first_try, second_try = webhook.requests[:2]
    assert first_try.headers["webhook-id"] == second_try.headers["webhook-id"]
    assert verify(second_try.body, WEBHOOK_SECRET, second_try.headers["x-signature-256"])
    assert delivery.status is DeliveryStatus.DELIVERED
    assert [a.status for a in attempts] == [AttemptStatus.INTERRUPTED, AttemptStatus.DELIVERED]
    assert second.stop() == 0  # SIGTERM: the dispatcher stops cleanly
    assert "handoff.dispatcher.stopped" in log.read_text()
    await store.close()
