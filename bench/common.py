"""What the benchmarks share: percentiles, real servers on loopback (`rasa run`, `rasa run
actions`), a rasa-webchat-speaking visitor (python-socketio, polling transport), RSS of a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "handoff.tar.gz"
ACTIONS_TOKEN = "bench-actions-token"  # the action servers refuse calls without it

from tests.servers import free_port  # noqa: E402  (one helper for tests and benches)

# Every bench visitor comes from 127.0.0.1: the per-visitor and per-address limits are raised
# through settings so they measure the server, not its flood protection.
OPEN_LIMITS = {
    "HANDOFF_LIVECHAT_RATE_LIMIT_BURST": "100000",
    "HANDOFF_LIVECHAT_RATE_LIMIT_PER_MINUTE": "100000",
    "HANDOFF_LIVECHAT_RATE_LIMIT_PER_ADDRESS_BURST": "1000000",
    "HANDOFF_LIVECHAT_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000000",
    "HANDOFF_LIVECHAT_SESSIONS_PER_ADDRESS_PER_MINUTE": "1000000",
    "HANDOFF_LIVECHAT_SOCKETS_PER_ADDRESS": "1000000",
}
CREDENTIALS = {
    "livechat": "rest:\nchannels.livechat.LiveChatInput:\n",
    "full": "rest:\nchannels.livechat.LiveChatInput:\nchannels.inbox.InboxInput:\n",
    "stock": "rest:\nsocketio:\n  user_message_evt: user_uttered\n  bot_message_evt: bot_uttered\n"
    "  session_persistence: false\n",
}
# Questions the reference bot answers with a response (no custom action).
MESSAGES = [
    "hello",
    "what are your opening hours?",
    "how much does it cost?",
    "how long does shipping take?",
    "thanks",
]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
    env.update(PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", **extra)
    return env


def wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"bench: {url} did not start:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.3)


def stop(process: subprocess.Popen[bytes], name: str) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print(f"bench: {name} did not stop within 30 s; killing it", file=sys.stderr)
        process.kill()
        process.wait()


@dataclass
class Server:
    url: str
    pid: int
    database_url: str


def _spawn_rasa(
    kind: str,
    workdir: Path,
    model: Path,
    env: dict[str, str] | None,
    action_url: str | None,
    database_url: str | None,
) -> tuple[subprocess.Popen[bytes], Server, Path]:
    port = free_port()
    credentials = workdir / f"credentials-{kind}-{port}.yml"
    credentials.write_text(CREDENTIALS[kind])
    endpoints = workdir / f"endpoints-{port}.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "{action_url}"\n  token: "{ACTIONS_TOKEN}"\n'
        if action_url
        else "# in-memory tracker store and lock store\n"
    )
    database_url = database_url or f"sqlite+aiosqlite:///{workdir}/handoff-{kind}-{port}.db"
    full_env = clean_env(HANDOFF_DATABASE_URL=database_url, **OPEN_LIMITS, **(env or {}))
    full_env.setdefault("HANDOFF_ACTIONS_TOKEN", ACTIONS_TOKEN)
    log = workdir / f"rasa-{kind}-{port}.log"
    command = [str(BIN / "rasa"), "run", "--port", str(port), "--model", str(model)]
    command += ["--credentials", str(credentials), "--endpoints", str(endpoints)]
    command += ["--interface", "127.0.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    return process, Server(f"http://127.0.0.1:{port}", process.pid, database_url), log


@contextlib.contextmanager
def rasa_servers(kinds: list[str], workdir: Path, model: Path = MODEL) -> Iterator[list[Server]]:
    """Several `rasa run` at once (they load the model in parallel), in-memory tracker stores."""
    started = [_spawn_rasa(kind, workdir, model, None, None, None) for kind in kinds]
    try:
        for process, server, log in started:
            wait_for_http(f"{server.url}/", process, log, 180)
        yield [server for _, server, _ in started]
    finally:
        for (process, _, _), kind in zip(started, kinds, strict=True):
            stop(process, f"rasa server ({kind})")


@contextlib.contextmanager
def rasa_server(
    kind: str,
    workdir: Path,
    model: Path = MODEL,
    env: dict[str, str] | None = None,
    action_url: str | None = None,
    database_url: str | None = None,
) -> Iterator[Server]:
    """`rasa run` on loopback with the `kind` channels and the in-memory tracker store."""
    process, server, log = _spawn_rasa(kind, workdir, model, env, action_url, database_url)
    try:
        wait_for_http(f"{server.url}/", process, log, 180)
        yield server
    finally:
        stop(process, f"rasa server ({kind})")


@contextlib.contextmanager
def action_server(
    workdir: Path, database_url: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`rasa run actions` (the reference bot's actions) sharing `database_url`; yields its URL."""
    port = free_port()
    log = workdir / f"actions-{port}.log"
    full_env = clean_env(
        HANDOFF_ACTIONS_TOKEN=ACTIONS_TOKEN, HANDOFF_DATABASE_URL=database_url, **(env or {})
    )
    command = [str(BIN / "rasa"), "run", "actions", "--port", str(port), "--actions", "actions"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process, log, 120)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        stop(process, "action server")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Visitor:
    """One rasa-webchat tab: session_request / user_uttered, bot_uttered (polling transport)."""

    def __init__(self, url: str, source: str | None = None) -> None:
        """`source`: the loopback address to connect from (127.0.0.0/8 is all this machine's), so
        a load balancer that is sticky by client address sees another visitor."""
        import aiohttp

        self.url = url
        self.http: aiohttp.ClientSession | None = None
        if source is not None:
            connector = aiohttp.TCPConnector(local_addr=(source, 0))
            self.http = aiohttp.ClientSession(connector=connector)
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Queue[Any] = asyncio.Queue()
        self.session_id: str | None = None
        self.sio.on("bot_uttered", self.replies.put)
        self.sio.on("session_confirm", self.confirmed.put)

    @property
    def sender_id(self) -> str:
        assert self.session_id
        return self.session_id.split(".")[0]

    async def start(self, timeout: float = 30) -> None:
        await self.sio.connect(self.url, transports=["polling"], wait_timeout=timeout)
        await self.sio.emit("session_request", {"session_id": None})
        confirm = await asyncio.wait_for(self.confirmed.get(), timeout)
        self.session_id = confirm.get("session_id") if isinstance(confirm, dict) else None

    async def say(self, text: str) -> None:
        payload: dict[str, Any] = {"message": text, "customData": {}}
        if self.session_id:
            payload["session_id"] = self.session_id
        await self.sio.emit("user_uttered", payload)

    def drain(self) -> None:
        while not self.replies.empty():
            self.replies.get_nowait()

    async def turn(self, text: str, timeout: float = 30) -> float:
        """Seconds from sending `text` to the first bot_uttered."""
        self.drain()
        started = time.perf_counter()
        await self.say(text)
        await asyncio.wait_for(self.replies.get(), timeout)
        return time.perf_counter() - started

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 3)
        if self.http is not None:
            await self.http.close()


async def start_visitors(
    url: str, count: int, parallel: int = 25, sources: list[str] | None = None
) -> list[Visitor]:
    """`count` connected visitors with a confirmed session, `parallel` handshakes at a time;
    visitor n connects from `sources[n]` when given."""
    gate = asyncio.Semaphore(parallel)
    visitors = [Visitor(url, sources[n] if sources else None) for n in range(count)]

    async def start(visitor: Visitor) -> None:
        async with gate:
            await visitor.start()

    await asyncio.gather(*(start(v) for v in visitors))
    return visitors


async def stop_visitors(visitors: list[Visitor], parallel: int = 100) -> None:
    gate = asyncio.Semaphore(parallel)

    async def stop_one(visitor: Visitor) -> None:
        async with gate:
            await visitor.stop()

    await asyncio.gather(*(stop_one(v) for v in visitors))


def quiet() -> None:
    """Benchmarks print figures, not Rasa's and the plugin's logs or aiohttp's leak warnings."""
    import logging
    import warnings

    import structlog

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    with contextlib.suppress(RuntimeError):
        loop = asyncio.get_running_loop()

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if "Unclosed" not in str(context.get("message", "")):
                loop.default_exception_handler(context)

        loop.set_exception_handler(handler)


AGENT_EMAIL, AGENT_PASSWORD = "bench-agent@example.com", "bench agent password"


async def add_agent(database_url: str) -> None:
    """An inbox agent account in the server's database (its migrations have run)."""
    from handoff_plugin.inbox.agents import AgentService
    from handoff_plugin.store import open_store

    store = await open_store(database_url)
    try:
        await AgentService(store).add(AGENT_EMAIL, "Bea", AGENT_PASSWORD)
    finally:
        await store.close()


async def conversation_ids(database_url: str, sender_ids: list[str]) -> list[int]:
    from handoff_plugin.store import open_store
    from handoff_plugin.store.queries.conversations import ConversationQueries

    store = await open_store(database_url)
    ids = []
    try:
        for sender_id in sender_ids:
            async with store.transaction() as tx:
                conversation = await ConversationQueries(tx).conversation_by_sender(sender_id)
            if conversation is None:
                raise SystemExit(f"bench: no conversation stored for {sender_id}")
            ids.append(conversation.id)
    finally:
        await store.close()
    return ids


class InboxAgent:
    """An agent using the inbox's JSON API (login cookie + CSRF token)."""

    def __init__(
        self, url: str, email: str = AGENT_EMAIL, password: str = AGENT_PASSWORD
    ) -> None:
        import aiohttp

        self.base = f"{url}/webhooks/inbox/api"
        self.email, self.password = email, password
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(limit=50),
        )
        self.csrf = ""

    async def login(self) -> None:
        body = {"email": self.email, "password": self.password}
        async with self.http.post(f"{self.base}/login", json=body) as response:
            if response.status != 200:
                raise SystemExit(f"bench: inbox login failed: {await response.text()}")
            self.csrf = (await response.json())["csrf_token"]

    async def send(self, conversation_id: int, text: str) -> None:
        async with self.http.post(
            f"{self.base}/conversations/{conversation_id}/messages",
            json={"text": text},
            headers={"X-CSRF-Token": self.csrf},
        ) as response:
            if response.status != 201:
                raise RuntimeError(
                    f"agent message refused: {response.status} {await response.text()}"
                )

    async def end(self, conversation_id: int) -> None:
        async with self.http.post(
            f"{self.base}/conversations/{conversation_id}/end", headers={"X-CSRF-Token": self.csrf}
        ) as response:
            await response.read()

    async def close(self) -> None:
        await self.http.close()
