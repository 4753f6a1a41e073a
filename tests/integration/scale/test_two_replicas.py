"""Two `rasa run` replicas sharing one database, one tracker store and one Redis: a visitor on
replica A, an agent on replica B. Real processes (the pause guard patches Rasa process-wide)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.livechat.widget import to_bot_uttered
from handoff_plugin.models import Author
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.livechat import LiveChatQueries
from tests.conftest import ROOT
from tests.integration.conftest import VENV_BIN, ActionServer, free_port, wait_until_up
from tests.integration.inbox.conftest import PASSWORD, AgentClient, cheap_passwords, event_stream
from tests.integration.livechat.harness import WebchatVisitor
from tests.redis_server import RedisServer
from tests.servers import eventually

pytestmark = pytest.mark.slow


@dataclass
class Replica:
    url: str
    log: Path

    def logged(self, event: str) -> int:
        return self.log.read_text(errors="replace").count(event)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replicas(
    trained_model: Path,
    action_server: ActionServer,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Replica, Replica]]:
    workdir = tmp_path_factory.mktemp("replicas")
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "{action_server.url}"\n  token: "test-actions-token"\n'
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {workdir / 'tracker.db'}\n"
        "lock_store:\n  type: handoff_plugin.rasa_bridge.lock_store.FallbackRedisLockStore\n"
        f"  url: 127.0.0.1\n  port: {redis_server.port}\n  db: 1\n  key_prefix: handoff\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_DATABASE_URL": action_server.database_url,
        "HANDOFF_REDIS_URL": redis_server.url,
        "HANDOFF_CONFIG": str(ROOT / "tests" / "data" / "handoff.yml"),
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
    }
    started: list[tuple[subprocess.Popen[bytes], Replica]] = []
    try:
        for name in ("a", "b"):
            port, log = free_port(), workdir / f"rasa-{name}.log"
            command = [str(VENV_BIN / "rasa"), "run", "-i", "127.0.0.1", "--port", str(port)]
            command += ["--model", str(trained_model), "--credentials", str(ROOT / "credentials.yml")]
            command += ["--endpoints", str(endpoints)]
            with log.open("wb") as out:
                process = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                )
            started.append((process, Replica(f"http://127.0.0.1:{port}", log)))
        for process, replica in started:
            wait_until_up(f"{replica.url}/webhooks/livechat/", process, replica.log, seconds=240)
        yield started[0][1], started[1][1]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.wait(timeout=30)


@pytest.fixture
async def store(action_server: ActionServer) -> AsyncIterator[Store]:
    shared = await open_store(action_server.database_url)
    yield shared
    await shared.close()


@pytest.fixture
async def agent_on_b(replicas: tuple[Replica, Replica], store: Store) -> AsyncIterator[AgentClient]:
    email = f"ann-{uuid.uuid4().hex[:8]}@example.com"
    await AgentService(store, cheap_passwords()).add(email, "Ann", PASSWORD, "agent")
    client = AgentClient(f"{replicas[1].url}/webhooks/inbox")
    await client.login(email)
    yield client
    await client.close()


@dataclass
class Tab:
    """A visitor's tab that remembers every bot_uttered it was sent: (seq, text)."""

    socket: WebchatVisitor
    received: list[tuple[int, str]] = field(default_factory=list)

    async def next_text(self, timeout: float = 20) -> str:
        payload = await self.socket.next_bot(timeout)
        self.received.append((payload["metadata"]["seq"], payload.get("text", "")))
        return str(payload.get("text", ""))

    async def answer(self, first_timeout: float = 30) -> list[str]:
        texts = [await self.next_text(first_timeout)]
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                texts.append(await self.next_text(0.8))
        return texts

    async def silent(self) -> bool:
        return await self.socket.bot_messages_within() == []


@contextlib.asynccontextmanager
async def tab_on(url: str, session_id: str | None = None) -> AsyncIterator[Tab]:
    socket = WebchatVisitor(url)
    await socket.connect(session_id)
    try:
        yield Tab(socket)
    finally:
        await socket.disconnect()


async def visitor_message(events: asyncio.Queue[tuple[str, Any]], text: str) -> Any:
    """The agent's stream shows the visitor's `text` (other events skipped)."""

    async def find() -> Any:
        while True:
            name, data = await events.get()
            if name == "message" and data.get("author") == "visitor" and data.get("text") == text:
                return data

    return await asyncio.wait_for(find(), 20)


async def conversation_id(store: Store, sender_id: str) -> int:
    async def find() -> int | None:
        async with store.transaction() as tx:
            found = await ConversationQueries(tx).conversation_by_sender(sender_id)
        return found.id if found else None

    return await eventually(find, "the visitor's conversation was stored")


async def sent_to_visitor(store: Store, conversation: int) -> list[tuple[int, str]]:
    """Every bot, agent and system message of the conversation as the widget shows it."""
    async with store.transaction() as tx:
        messages = await LiveChatQueries(tx).messages_after(conversation, 0)
    return [
        (m.seq, str(part.get("text", "")))
        for m in messages
        if m.author is not Author.VISITOR
        for part in to_bot_uttered(m)
    ]


async def test_a_visitor_on_one_replica_chats_with_an_agent_on_another(
    replicas: tuple[Replica, Replica], agent_on_b: AgentClient, store: Store
) -> None:
    await a_live_chat_across_replicas(replicas[0].url, replicas[1].url, agent_on_b, "Ann", store)


async def a_live_chat_across_replicas(
    a: str, b: str, agent: AgentClient, agent_name: str, store: Store
) -> None:
    """A visitor on replica `a`, `agent` logged in on replica `b` (also run on PostgreSQL, by
    tests/scaled): the whole live chat, and the visitor was sent each message exactly once."""
    async with tab_on(a) as tab, event_stream(agent) as events:
        await tab.socket.say("hello")
        assert (await tab.answer())[0].startswith("Hi! I'm the assistant")  # the bot, on A
        conversation = await conversation_id(store, tab.socket.sender_id)

        status, _ = await agent.call(
            "POST", f"api/conversations/{conversation}/messages", {"text": "Hi, agent here"}
        )
        assert status == 201
        joined, reply = await tab.next_text(), await tab.next_text()  # written on B, shown on A
        assert agent_name in joined and reply == "Hi, agent here"

        await tab.socket.say("My order is late")
        await visitor_message(events, "My order is late")  # A's visitor reaches B's agent
        assert await tab.silent()
        await tab.socket.say("/restart")
        await visitor_message(events, "/restart")
        assert await tab.silent()

        async with tab_on(b, tab.socket.session_id) as reloaded:  # the same visitor, on B
            await reloaded.socket.say("Still there?")
            await visitor_message(events, "Still there?")
            assert await reloaded.silent() and await tab.silent()

        status, _ = await agent.call("POST", f"api/conversations/{conversation}/end")
        assert status == 200
        assert "back with" in await tab.next_text()  # ended on B, told on A
        assert "How did we do?" in await tab.next_text()  # livechat.csat (the visitor ignores it)
        await tab.socket.say("hello")
        assert (await tab.answer())[0].startswith("Hi! I'm the assistant")  # the bot is back

        assert tab.received == await sent_to_visitor(store, conversation)  # none lost or doubled


async def test_a_live_chat_survives_a_redis_restart(
    replicas: tuple[Replica, Replica],
    agent_on_b: AgentClient,
    store: Store,
    redis_server: RedisServer,
) -> None:
    a, b = replicas
    agent = agent_on_b
    recovered = (a.logged("handoff.redis.recovered"), b.logged("handoff.redis.recovered"))
    async with tab_on(a.url) as tab, event_stream(agent) as events:
        await tab.socket.say("hello")
        await tab.answer()
        conversation = await conversation_id(store, tab.socket.sender_id)
        path = f"api/conversations/{conversation}/messages"
        assert (await agent.call("POST", path, {"text": "Ann here"}))[0] == 201
        assert [await tab.next_text(), await tab.next_text()][1] == "Ann here"

        redis_server.kill()
        assert (await agent.call("POST", path, {"text": "Still with you"}))[0] == 201
        assert await tab.next_text() == "Still with you"  # A polled the database
        await tab.socket.say("Is Redis down?")

        async def agent_sees_it() -> bool:
            status, body = await agent.call("GET", f"api/conversations/{conversation}")
            return status == 200 and "Is Redis down?" in json.dumps(body)

        await eventually(agent_sees_it, "the agent on B sees the visitor's message", 30)
        assert await tab.silent()

        redis_server.start()
        for replica, before in zip((a, b), recovered, strict=True):

            async def reconnected(r: Replica = replica, n: int = before) -> bool:
                return r.logged("handoff.redis.recovered") > n

            await eventually(reconnected, "both replicas reconnected to Redis", 30)
        assert (await agent.call("POST", path, {"text": "Back to normal"}))[0] == 201
        assert await tab.next_text() == "Back to normal"
        await tab.socket.say("Great")
        await visitor_message(events, "Great")  # live through Redis again

        assert tab.received == await sent_to_visitor(store, conversation)  # none lost or doubled
