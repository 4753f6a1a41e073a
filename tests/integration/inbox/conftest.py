"""The inbox channel on a real port, in this process, without Rasa: the live-chat service talks to
a fake tracker, everything else is real (database, sessions, broker, event feed, HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from argon2 import PasswordHasher
from sanic import Sanic

from channels.inbox import InboxInput
from handoff_plugin.delivery.dispatcher import Dispatcher
from handoff_plugin.escalation.service import EscalationRequest, EscalationService
from handoff_plugin.inbox.agents import AgentService, Passwords
from handoff_plugin.inbox.feed import EscalationEventWriter
from handoff_plugin.livechat.broker import InProcessBroker
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.livechat.sessions import SessionSigner
from handoff_plugin.models import Conversation, Trigger, VisitorProfile
from handoff_plugin.services import Services
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.saved_settings import StoredSettings
from tests.integration.conftest import free_port
from tests.servers import serve_sanic
from tests.unit.test_livechat_service import FakeTranscript

BASE = "/webhooks/inbox"
PASSWORD = "correct horse battery"
_apps = itertools.count()


def cheap_passwords() -> Passwords:
    """Argon2id with test-sized cost (the real default takes ~0.2 s per hash)."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass
class InboxServer:
    url: str  # http://127.0.0.1:port/webhooks/inbox
    app: Sanic
    server: Any
    services: Services
    livechat: LiveChatService
    transcript: FakeTranscript
    channel: InboxInput

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def agents(self) -> AgentService:
        return AgentService(self.store, cheap_passwords())

    async def add_agent(
        self, email: str = "ann@example.com", name: str = "Ann", role: str = "admin"
    ) -> Any:
        """An agent with the test password; an admin unless told (most tests change settings)."""
        return await self.agents.add(email, name, PASSWORD, role)

    async def escalate(
        self,
        sender: str,
        message: str = "I want to talk to a human",
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        trigger: Trigger = Trigger.INTENT,
        channel: str = "rest",
    ) -> Conversation:
        """A visitor says `message` on `channel` and is escalated (as the action server would
        record it)."""
        conversation, _ = await self.livechat.record_visitor_message(
            sender, message, None, channel
        )
        request = EscalationRequest(
            sender_id=sender,
            channel=channel,
            trigger=trigger,
            message=message,
            profile=VisitorProfile(email or f"{sender}@example.com", first_name, last_name),
            last_message=message,
        )
        outcome = await self.services.escalations.escalate(request)
        assert outcome.status == "created", outcome
        async with self.store.transaction() as tx:
            fresh = await ConversationQueries(tx).conversation(conversation.id)
        assert fresh is not None
        return fresh

    async def stop(self) -> None:
        await self.server.before_stop()
        self.server.close()
        await self.server.wait_closed()
        await self.server.after_stop()


async def start_inbox(
    store: Store,
    layers: list[dict[str, Any]],
    passwords: Passwords | None = None,
    **channel_options: Any,
) -> InboxServer:
    provider = StoredSettings(store, layers)
    services = Services(
        settings=provider,
        store=store,
        escalations=EscalationService(store, provider, [EscalationEventWriter()]),
        dispatcher=Dispatcher(store, provider),  # not started: these tests send no notifications
    )
    transcript = FakeTranscript()
    livechat = LiveChatService(
        store=store,
        settings=provider,
        transcript=transcript,
        broker=InProcessBroker(),
        signer=SessionSigner(b"inbox-test-secret-0123456789"),
    )
    Sanic.test_mode = True
    app = Sanic(f"inbox_test_{next(_apps)}")
    app.ctx.handoff_livechat = livechat  # `livechat_service(app)` finds it: no Rasa needed
    channel = InboxInput(
        services, passwords=passwords or cheap_passwords(), feed_interval=0.05, **channel_options
    )

    async def no_rasa(_: Any) -> None:
        raise AssertionError("the inbox must not hand messages to Rasa")

    app.blueprint(channel.blueprint(no_rasa), url_prefix=BASE)
    port = free_port()
    server = await serve_sanic(app, port)
    return InboxServer(
        f"http://127.0.0.1:{port}{BASE}", app, server, services, livechat, transcript, channel
    )


@pytest.fixture
async def inbox(store: Store, database_url: str) -> AsyncIterator[InboxServer]:
    layers: list[dict[str, Any]] = [
        {"database": {"url": database_url}, "chatbot": {"name": "Test Bot"}},
        {"inbox": {"public_url": "http://inbox.test/webhooks/inbox"}},
        {"webhook": {"allow_private_addresses": True}},  # the `receiver` is on 127.0.0.1
    ]
    server = await start_inbox(store, layers)
    yield server
    await server.stop()


class AgentClient:
    """A browser-like HTTP client: keeps the session cookie, sends the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def login(self, email: str = "ann@example.com", password: str = PASSWORD) -> Any:
        status, body = await self.call("POST", "api/login", {"email": email, "password": password})
        assert status == 200, body
        self.csrf = body["csrf_token"]
        return body

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        csrf: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        sent = {"X-CSRF-Token": self.csrf if csrf is None else csrf, **(headers or {})}
        async with self.http.request(
            method, f"{self.base}/{path}", json=body, headers=sent, allow_redirects=False
        ) as response:
            text = await response.text()
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, text

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def make_client(inbox: InboxServer) -> AsyncIterator[Callable[[], AgentClient]]:
    clients: list[AgentClient] = []

    def make() -> AgentClient:
        client = AgentClient(inbox.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def ann(inbox: InboxServer, make_client: Callable[[], AgentClient]) -> AgentClient:
    """Agent Ann, logged in."""
    await inbox.add_agent()
    client = make_client()
    await client.login()
    return client


@pytest.fixture
def second_store(database_url: str) -> Callable[[], Any]:
    """Another process's view of the same database (its own engine and connections)."""

    async def make() -> Store:
        return await open_store(database_url)

    return make


@pytest.fixture
async def receiver() -> AsyncIterator[dict[str, Any]]:
    """A webhook receiver on loopback that records what it got and answers as told."""
    state: dict[str, Any] = {"requests": [], "status": 200, "answer": "thanks!"}

    async def hook(request: web.Request) -> web.Response:
        state["requests"].append((dict(request.headers), await request.read()))
        return web.Response(status=state["status"], text=state["answer"])

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state["url"] = f"http://127.0.0.1:{port}/hook"
    yield state
    await runner.cleanup()


@contextlib.asynccontextmanager
async def event_stream(client: AgentClient) -> AsyncIterator[asyncio.Queue[tuple[str, Any]]]:
    """The inbox page's EventSource: parsed (event, data) pairs as they arrive."""
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    response = await client.http.get(f"{client.base}/api/events", timeout=aiohttp.ClientTimeout())
    assert response.status == 200
    assert response.content_type == "text/event-stream"

    async def read() -> None:
        name = ""
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                await queue.put((name, json.loads(line[6:])))

    reader = asyncio.create_task(read())
    try:
        assert (await asyncio.wait_for(queue.get(), 10))[0] == "hello"
        yield queue
    finally:
        reader.cancel()
        response.close()
