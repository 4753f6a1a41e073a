"""A real action server (subprocess), the trained model loaded in process, and a Rasa server
with the livechat, REST and inbox channels on top of them, once per session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from handoff_plugin import pause_guard
from handoff_plugin.runtime import Services
from handoff_plugin.saved_settings import StoredSettings
from handoff_plugin.settings import base_layers
from handoff_plugin.store import Store, open_store
from tests.conftest import ROOT

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@pytest.fixture(scope="session")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    workdir = tmp_path_factory.mktemp("actions")
    database_url = f"sqlite+aiosqlite:///{workdir}/handoff.db"
    port = free_port()
    # rasa-sdk imports a package named `rasa_sdk_plugins` if it finds one. This checkout has none,
    # but a development venv may hold another checkout's editable install that has one (and that
    # would load that checkout's code here): a no-op stand-in after ROOT keeps this one's.
    stand_in = workdir / "stand_in" / "rasa_sdk_plugins"
    stand_in.mkdir(parents=True)
    (stand_in / "__init__.py").write_text("def init_hooks(manager):\n    pass\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_DATABASE_URL": database_url,
        "HANDOFF_CONFIG": str(ROOT / "tests" / "data" / "handoff.yml"),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{stand_in.parent}",
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
        await tx.save_settings({})


@pytest.fixture(scope="session")
async def agent(trained_model: Path, action_server: ActionServer) -> Any:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    return Agent.load(str(trained_model), action_endpoint=EndpointConfig(action_server.url))


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
