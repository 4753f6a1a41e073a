"""The real servers every in-process test shares, one of each per test session: the action
server (subprocess), the trained model loaded in this process, and a Rasa server with the
livechat, REST and inbox channels on top of them.

Registered from tests/conftest.py (`pytest_plugins`) so that tests/integration and
tests/security share ONE server: the pause guard wraps Rasa's MessageProcessor once per process.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from handoff_plugin.rasa_bridge import pause_guard
from handoff_plugin.services import Services
from tests.conftest import ROOT
from tests.integration.conftest import (
    VENV_BIN,
    ActionServer,
    NotificationServers,
    server_layers,
    wait_until_up,
)
from tests.servers import ACTIONS_TOKEN, HttpServer, SmtpServer, free_port
from tests.slack_standin import SlackStandin


@pytest.fixture(scope="session")
def notification_servers() -> Iterator[NotificationServers]:
    # Slack: a stand-in that answers like Slack (a fresh ts per message, threads, users.info).
    servers = NotificationServers(
        SmtpServer().start(), SlackStandin().start(), HttpServer().start()
    )
    yield servers
    servers.smtp.stop()
    servers.slack.stop()
    servers.webhook.stop()


@pytest.fixture(scope="session")
def action_server(
    tmp_path_factory: pytest.TempPathFactory, notification_servers: NotificationServers
) -> Iterator[ActionServer]:
    workdir = tmp_path_factory.mktemp("actions")
    database_url = f"sqlite+aiosqlite:///{workdir}/handoff.db"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_DATABASE_URL": database_url,
        "HANDOFF_CONFIG": str(ROOT / "tests" / "data" / "handoff.yml"),
        "HANDOFF_ACTIONS_TOKEN": ACTIONS_TOKEN,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",  # no error reports to the internet
        **notification_servers.env(),
    }
    log = workdir / "actions.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / "rasa"), "run", "actions", "--port", str(port), "--actions", "actions"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process, log)
        yield ActionServer(f"http://127.0.0.1:{port}/webhook", database_url, process)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
async def agent(trained_model: Path, action_server: ActionServer) -> Any:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    endpoint = EndpointConfig(action_server.url, token=ACTIONS_TOKEN)
    return Agent.load(str(trained_model), action_endpoint=endpoint)


@pytest.fixture(scope="session")
async def livechat_server(agent: Any, action_server: ActionServer) -> AsyncIterator[Any]:
    """`rasa run` in this process: livechat (visitors), REST and inbox (agents) channels."""
    from tests.integration.livechat.harness import start_server

    services = await Services.create(server_layers(action_server))
    server = await start_server(agent, services, free_port())
    yield server
    await server.stop()
    pause_guard.uninstall()
    await services.close()
