"""A real action server (subprocess), the trained model loaded in process, and a Rasa server
with the livechat, REST and inbox channels on top of them, once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from handoff_plugin.config.settings import base_layers
from handoff_plugin.rasa_bridge import pause_guard
from handoff_plugin.services import Services
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.queries.settings import SettingsQueries
from handoff_plugin.store.saved_settings import StoredSettings
from tests.conftest import ROOT
from tests.servers import (
    ACTIONS_TOKEN,
    SLACK_OK,
    HttpServer,
    SmtpServer,
    free_port,  # noqa: F401  (re-exported for the integration tests)
)

VENV_BIN = Path(sys.executable).parent


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 120
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited during start-up:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {seconds} s:\n{log.read_text()[-3000:]}")


@dataclass
class ActionServer:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]


@dataclass
class NotificationServers:
    """Where the action server's notifications go: all three notifiers are on."""

    smtp: SmtpServer
    slack: HttpServer
    webhook: HttpServer
    recipients: str = "team@support.test"
    slack_token: str = "xoxb-integration-token"
    webhook_secret: str = "integration-webhook-secret"

    def env(self) -> dict[str, str]:
        return {
            "HANDOFF_EMAIL_ENABLED": "true",
            "HANDOFF_EMAIL_RECIPIENTS": self.recipients,
            "HANDOFF_EMAIL_SMTP_HOST": "127.0.0.1",
            "HANDOFF_EMAIL_SMTP_PORT": str(self.smtp.port),
            "HANDOFF_SLACK_ENABLED": "true",
            "HANDOFF_SLACK_BOT_TOKEN": self.slack_token,
            "HANDOFF_SLACK_CHANNEL": "#support",
            "HANDOFF_SLACK_API_URL": f"{self.slack.url}/api/",
            "HANDOFF_WEBHOOK_ENABLED": "true",
            "HANDOFF_WEBHOOK_URL": f"{self.webhook.url}/hooks/handoff",
            "HANDOFF_WEBHOOK_SECRET": self.webhook_secret,
            "HANDOFF_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",  # the receiver is on 127.0.0.1
        }


@pytest.fixture(scope="session")
def notification_servers() -> Iterator[NotificationServers]:
    servers = NotificationServers(
        SmtpServer().start(), HttpServer(SLACK_OK).start(), HttpServer().start()
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
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",  # no error reports to the internet
        "HANDOFF_ACTIONS_TOKEN": ACTIONS_TOKEN,
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
async def bot_store(action_server: ActionServer) -> AsyncIterator[Store]:
    store = await open_store(action_server.database_url)
    yield store
    await store.close()


@pytest.fixture
async def saved_settings(bot_store: Store) -> AsyncIterator[StoredSettings]:
    """Settings the test saves (as the inbox would); the action server applies them at once."""
    saved = StoredSettings(bot_store, base_layers({}, ROOT / "tests" / "data" / "handoff.yml"))
    yield saved
    async with bot_store.transaction() as tx:
        await SettingsQueries(tx).save_settings({})


@pytest.fixture(scope="session")
async def agent(trained_model: Path, action_server: ActionServer) -> Any:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    endpoint = EndpointConfig(action_server.url, token=ACTIONS_TOKEN)
    return Agent.load(str(trained_model), action_endpoint=endpoint)


class Visitor:
    """One visitor talking to the bot through the REST channel's code path."""

    def __init__(self, agent: Any, sender_id: str, metadata: dict[str, Any] | None = None) -> None:
        self.agent = agent
        self.sender_id = sender_id
        self.metadata = metadata

    async def say(self, text: str) -> list[dict[str, Any]]:
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        output = CollectingOutputChannel()
        message = UserMessage(
            text, output, self.sender_id, input_channel="rest", metadata=self.metadata
        )
        await self.agent.handle_message(message)
        return output.messages

    async def texts(self, text: str) -> list[str]:
        return [m.get("text", "") for m in await self.say(text)]


# Generous for conversations; the flood test sends far more than this at once.
LIVECHAT = {"livechat": {"rate_limit_burst": 15, "rate_limit_per_minute": 600}}


def server_layers(action_server: ActionServer) -> list[dict[str, Any]]:
    env = {"HANDOFF_DATABASE_URL": action_server.database_url}
    return [*base_layers(env, ROOT / "tests" / "data" / "handoff.yml"), LIVECHAT]


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
