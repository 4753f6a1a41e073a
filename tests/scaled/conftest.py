"""`make demo-scaled` as a test fixture: scripts/demo_scaled.sh on free ports, its state in a
temporary directory, started once for tests/scaled and stopped (every process) at the end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from handoff_plugin.store import Store, open_store
from tests.conftest import ROOT
from tests.integration.conftest import VENV_BIN
from tests.integration.inbox.conftest import AgentClient
from tests.servers import HttpServer, SmtpServer, free_port

START_TIMEOUT = 300  # two replicas load the model on a shared 2-core machine
# The team the demo notifies in these tests: round robin by email, and a signed webhook.
TEAM = ["ann@example.com", "bob@example.com", "cy@example.com"]
WEBHOOK_SECRET = "whsec-scaled-test-secret"


@dataclass
class ScaledStack:
    process: subprocess.Popen[bytes]
    state: Path
    public_port: int
    replica_ports: list[int]
    pg_port: int
    redis_port: int
    actions_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    @property
    def scaled(self) -> Path:
        return self.state / "scaled"

    def replica_url(self, index: int) -> str:
        """A replica's own address, past nginx (as the tests reach them one by one)."""
        return f"http://127.0.0.1:{self.replica_ports[index]}"

    @property
    def database_url(self) -> str:
        password = (self.scaled / "postgres-password").read_text().strip()
        return f"postgresql+asyncpg://handoff:{password}@127.0.0.1:{self.pg_port}/handoff"

    @property
    def agent_password(self) -> str:
        return (self.state / "demo-agent-password").read_text().strip()

    def ports(self) -> list[int]:
        return [
            self.public_port,
            *self.replica_ports,
            self.pg_port,
            self.redis_port,
            self.actions_port,
        ]

    def replica_pid(self, port: int) -> int:
        return int((self.scaled / f"rasa-{port}.pid").read_text())

    def replica_of_last(self, path_prefix: str) -> int:
        """The replica nginx sent the newest request for `path_prefix` to (its access log)."""
        lines = (self.scaled / "nginx" / "logs" / "access.log").read_text().splitlines()
        line = next(line for line in reversed(lines) if f'"GET {path_prefix}' in line)
        return int(line.rsplit(":", 1)[1])

    def postgres(self, command: str) -> None:
        argv = ["bash", "scripts/postgres_cluster.sh", command, str(self.scaled / "postgres")]
        if command == "start":
            argv.append(str(self.pg_port))
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)

    def stop(self) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)  # what Ctrl-C sends
        return self.process.wait(timeout=90)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until_ready(stack: ScaledStack, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not (stack.scaled / "ready").exists():
        if stack.process.poll() is not None:
            pytest.fail(f"demo_scaled.sh exited during start-up:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"demo_scaled.sh not ready in {START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.5)


@pytest.fixture(scope="session")
def team_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def team_webhook() -> Iterator[HttpServer]:
    server = HttpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scaled_stack(team_smtp: SmtpServer, team_webhook: HttpServer) -> Iterator[ScaledStack]:
    # Not under pytest's private tmp dir: as root, PostgreSQL runs as `postgres`, which must reach it.
    state = Path(tempfile.mkdtemp(prefix="handoff-scaled-"))
    ports = [free_port() for _ in range(6)]
    stack = ScaledStack(None, state, ports[0], ports[1:3], ports[3], ports[4], ports[5])  # type: ignore[arg-type]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "VENV": str(VENV_BIN.parent),
        "DEMO_STATE_DIR": str(state),
        "PUBLIC_PORT": str(stack.public_port),
        "REPLICA_PORTS": " ".join(map(str, stack.replica_ports)),
        "PG_PORT": str(stack.pg_port),
        "REDIS_PORT": str(stack.redis_port),
        "ACTIONS_PORT": str(stack.actions_port),
        "RASA_TELEMETRY_ENABLED": "false",
        # The demo's settings from the environment, as an operator would set them.
        "HANDOFF_EMAIL_RECIPIENTS": ";".join(TEAM),
        "HANDOFF_EMAIL_ROUND_ROBIN": "true",
        "HANDOFF_EMAIL_SMTP_HOST": "127.0.0.1",
        "HANDOFF_EMAIL_SMTP_PORT": str(team_smtp.port),
        "HANDOFF_WEBHOOK_ENABLED": "true",
        "HANDOFF_WEBHOOK_URL": f"{team_webhook.url}/hooks/handoff",
        "HANDOFF_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HANDOFF_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",  # the receiver is on 127.0.0.1
    }
    log = state / "demo.log"
    with log.open("wb") as out:
        stack.process = subprocess.Popen(
            ["bash", "scripts/demo_scaled.sh"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
    try:
        wait_until_ready(stack, log)
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(state, ignore_errors=True)


@contextlib.asynccontextmanager
async def demo_agent_at(stack: ScaledStack, url: str) -> AsyncIterator[AgentClient]:
    """The demo agent logged in at `url` (nginx, or one replica past it)."""
    client = AgentClient(f"{url}/webhooks/inbox")
    await client.login("agent@example.com", stack.agent_password)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def demo_agent(scaled_stack: ScaledStack) -> AsyncIterator[AgentClient]:
    async with demo_agent_at(scaled_stack, scaled_stack.url) as client:
        yield client


@pytest.fixture
async def shared_store(scaled_stack: ScaledStack) -> AsyncIterator[Store]:
    """The plugin's store the replicas share (PostgreSQL), as the tests read it."""
    store = await open_store(scaled_stack.database_url, upgrade=False)
    yield store
    await store.close()


async def eventually_ok(client: AgentClient, path: str, timeout: float = 30) -> object:
    """`path` answers 200 again (polled: the service comes back by itself)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await client.call("GET", path)
        if status == 200:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"GET {path} still answers {status}: {body}")
        await asyncio.sleep(0.3)
