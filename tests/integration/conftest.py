"""Helpers of the integration tests; the shared servers themselves (action server, trained
model, Rasa server) are fixtures in tests/integration/rasa_servers.py."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from handoff_plugin.config.settings import base_layers
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.queries.settings import SettingsQueries
from handoff_plugin.store.saved_settings import StoredSettings
from tests.conftest import ROOT
from tests.servers import (
    HttpServer,
    SmtpServer,
    free_port,  # noqa: F401  (re-exported for the integration tests)
)
from tests.slack_standin import SlackStandin

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
    slack: SlackStandin
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


# Generous for conversations; the flood test sends far more than this at once. Every test
# visitor comes from 127.0.0.1, so the per-address limits are out of the way.
LIVECHAT = {
    "livechat": {
        "rate_limit_burst": 15,
        "rate_limit_per_minute": 600,
        "rate_limit_per_address_burst": 10_000,
        "rate_limit_per_address_per_minute": 100_000,
        "sessions_per_address_per_minute": 10_000,
        "sockets_per_address": 10_000,
    }
}


def server_layers(action_server: ActionServer) -> list[dict[str, Any]]:
    env = {"HANDOFF_DATABASE_URL": action_server.database_url}
    return [*base_layers(env, ROOT / "tests" / "data" / "handoff.yml"), LIVECHAT]
