"""The servers as `make demo` starts them (scripts/run_actions.sh, scripts/run_rasa.sh), for the
attacks in this folder. Each runs in its own temporary folder and database."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from handoff_plugin.store import open_store
from tests.conftest import ROOT
from tests.integration.conftest import VENV_BIN, free_port, wait_until_up
from tests.servers import ACTIONS_TOKEN

RASA_API_TOKEN = "test-rasa-api-token"


@dataclass
class Server:
    port: int
    log: Path
    process: subprocess.Popen[bytes]
    database_url: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def demo_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
    env.update(
        VENV=str(VENV_BIN.parent),
        PYTHONPATH=str(ROOT),
        RASA_TELEMETRY_ENABLED="false",  # no error reports to the internet
        HANDOFF_DATABASE_URL=database_url,
        # As in the demo: escalations queue an email (printed, no SMTP host).
        HANDOFF_EMAIL_ENABLED="true",
        HANDOFF_EMAIL_RECIPIENTS="support@example.com",
        **extra,
    )
    return env


def start(script: str, env: dict[str, str], workdir: Path, health: str, *args: str) -> Server:
    """Run scripts/<script> (or, for a script named `rasa`, plain `rasa <args>` on a free port)."""
    port = free_port()
    env = {**env, "ACTIONS_PORT": str(port), "RASA_PORT": str(port)}
    log = workdir / f"{Path(script).stem}.log"
    if script == "rasa":
        command = [str(VENV_BIN / "rasa"), *args, "--port", str(port)]
    else:
        command = ["bash", str(ROOT / "scripts" / script), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, log, process, env["HANDOFF_DATABASE_URL"])
    try:
        wait_until_up(server.url + health, process, log, seconds=180)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: Server) -> None:
    server.process.terminate()
    server.process.wait(timeout=30)


async def migrated_database(workdir: Path) -> str:
    url = f"sqlite+aiosqlite:///{workdir}/handoff.db"
    await (await open_store(url)).close()  # schema first, as `handoff db upgrade` in the demo
    return url


@pytest.fixture(scope="session")
async def closed_actions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    workdir = tmp_path_factory.mktemp("security-actions")
    env = demo_env(await migrated_database(workdir), HANDOFF_ACTIONS_TOKEN=ACTIONS_TOKEN)
    server = start("run_actions.sh", env, workdir, "/health")
    yield server
    stop(server)


@pytest.fixture(scope="session")
async def closed_rasa(
    tmp_path_factory: pytest.TempPathFactory, trained_model: Path, closed_actions: Server
) -> AsyncIterator[Server]:
    workdir = tmp_path_factory.mktemp("security-rasa")
    endpoints = workdir / "endpoints.yml"
    # The reference endpoints.yml's action_endpoint, pointed at this test's action server
    # (in-memory tracker store: nothing lands in the checkout's .handoff/).
    endpoints.write_text(
        f'action_endpoint:\n  url: "{closed_actions.url}/webhook"\n'
        "  token: ${HANDOFF_ACTIONS_TOKEN}\n"
    )
    env = demo_env(
        closed_actions.database_url,
        HANDOFF_ACTIONS_TOKEN=ACTIONS_TOKEN,
        RASA_API_TOKEN=RASA_API_TOKEN,
    )
    args = ["--model", str(trained_model), "--credentials", str(ROOT / "credentials.yml")]
    server = start(
        "run_rasa.sh", env, workdir, "/webhooks/livechat/", *args, "--endpoints", str(endpoints)
    )
    yield server
    stop(server)


def own_non_loopback_address() -> str:
    """This machine's first non-loopback address (the tests connect only to this machine)."""
    addresses = subprocess.run(
        ["hostname", "-I"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert addresses, "`hostname -I` lists no non-loopback address on this machine"
    return addresses[0]


# The inbox's in-process server, for the API fuzzing.
from tests.integration.inbox.conftest import ann, inbox, make_client  # noqa: E402, F401
