"""Attacks on a running inbox: an agent (not an admin) tries what only admins may do, guessers
race the login throttle, and a login flood tries to starve everybody else."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from argon2 import PasswordHasher

from handoff_plugin.inbox.agents import Passwords
from handoff_plugin.store import Store
from handoff_plugin.store.queries.agents import AgentQueries
from handoff_plugin.store.queries.settings import SettingsQueries
from tests.integration.inbox import conftest as inbox_fixtures
from tests.integration.inbox.conftest import PASSWORD, AgentClient, InboxServer, start_inbox

WRONG = "not the password at all"
receiver = inbox_fixtures.receiver  # a webhook receiver on loopback (a fixture)


class WatchedHasher(PasswordHasher):
    """Test-sized Argon2id that counts verifications, records how many run at once and, while
    `gate` is closed, holds every verification in its worker thread."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0
        self.running = 0
        self.most_at_once = 0
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
        with self._lock:
            self.verified += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.started.release()
        try:
            self.gate.wait(timeout=120)
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def hasher() -> WatchedHasher:
    return WatchedHasher()


@pytest.fixture
async def server(
    store: Store, database_url: str, hasher: WatchedHasher
) -> AsyncIterator[InboxServer]:
    layers: list[dict[str, Any]] = [
        {"database": {"url": database_url}, "chatbot": {"name": "Test Bot"}},
        {"inbox": {"public_url": "http://inbox.test/webhooks/inbox"}},
        {"webhook": {"allow_private_addresses": True}},  # the `receiver` is on 127.0.0.1
    ]
    running = await start_inbox(store, layers, passwords=Passwords(hasher))
    yield running
    await running.stop()


@pytest.fixture
async def clients(server: InboxServer) -> AsyncIterator[Callable[[], AgentClient]]:
    made: list[AgentClient] = []

    def make() -> AgentClient:
        made.append(AgentClient(server.url))
        return made[-1]

    yield make
    for client in made:
        await client.close()


@pytest.fixture
async def admin(server: InboxServer, clients: Callable[[], AgentClient]) -> AgentClient:
    await server.add_agent("ada@example.com", "Ada", role="admin")
    client = clients()
    await client.login("ada@example.com")
    return client


@pytest.fixture
async def agent(server: InboxServer, clients: Callable[[], AgentClient]) -> AgentClient:
    await server.add_agent("bob@example.com", "Bob", role="agent")
    client = clients()
    body = await client.login("bob@example.com")
    assert body["agent"]["role"] == "agent"
    return client


async def saved_settings(server: InboxServer) -> dict[str, Any]:
    async with server.store.transaction() as tx:
        return await SettingsQueries(tx).saved_settings()


async def agent_emails(server: InboxServer) -> list[str]:
    async with server.store.transaction() as tx:
        return [a.email for a in await AgentQueries(tx).all()]


# --- an agent tries what only admins may do ---

SETTINGS_CHANGE = {"webhook": {"enabled": True, "url": "https://evil.example/hook"}}


async def test_an_agent_cannot_change_settings_though_an_admin_can(
    server: InboxServer, admin: AgentClient, agent: AgentClient
) -> None:
    status, _ = await admin.call("PUT", "api/settings", {"chatbot": {"name": "Shop Bot"}})
    assert status == 200  # the same kind of request works for an admin
    before = await saved_settings(server)
    assert before == {"chatbot": {"name": "Shop Bot"}}

    status, body = await agent.call("PUT", "api/settings", SETTINGS_CHANGE)
    assert status == 403
    assert "Only admins can change settings" in body["error"]
    assert await saved_settings(server) == before
    status, audit = await admin.call("GET", "api/settings/audit")
    assert [c["key"] for c in audit["changes"]] == ["chatbot.name"]  # nothing else recorded


async def test_an_agent_cannot_send_a_test_webhook(
    server: InboxServer, admin: AgentClient, agent: AgentClient, receiver: dict[str, Any]
) -> None:
    status, result = await admin.call("POST", "api/settings/webhook/test", {"url": receiver["url"]})
    assert status == 200 and result["delivered"] is True
    assert len(receiver["requests"]) == 1

    status, body = await agent.call("POST", "api/settings/webhook/test", {"url": receiver["url"]})
    assert status == 403 and "Only admins" in body["error"]
    assert len(receiver["requests"]) == 1  # nothing was sent


async def test_an_agent_cannot_export_escalations_but_can_review_them(
    server: InboxServer, admin: AgentClient, agent: AgentClient
) -> None:
    await server.escalate("visitor-1", "a private question")
    day = "from=2026-02-09&to=2026-02-09"  # the test clock's day
    status, csv = await admin.call("GET", f"api/escalations?format=csv&{day}")
    assert status == 200 and "a private question" in csv

    status, review = await agent.call("GET", f"api/escalations?{day}")
    assert status == 200 and review["total"] == 1  # agents still see the day-by-day review
    status, body = await agent.call("GET", f"api/escalations?format=csv&{day}")
    assert status == 403 and "Only admins can export" in body["error"]
    assert "private" not in str(body)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "api/agents",
            {"email": "mallory@example.com", "name": "M", "password": PASSWORD, "role": "admin"},
        ),
        ("DELETE", "api/agents/1", None),
        ("GET", "api/settings/audit", None),
    ],
)
async def test_an_agent_cannot_manage_agents_or_read_the_audit_log(
    server: InboxServer,
    admin: AgentClient,
    agent: AgentClient,
    method: str,
    path: str,
    body: Any,
) -> None:
    status, listed = await admin.call("GET", "api/agents")
    assert status == 200 and len(listed["agents"]) == 2
    before = await agent_emails(server)

    status, answer = await agent.call(method, path, body)
    assert status == 403
    assert "Only admins" in answer["error"]
    assert await agent_emails(server) == before == ["ada@example.com", "bob@example.com"]
    assert (await admin.call("GET", "api/conversations"))[0] == 200  # the admin is still in


async def test_an_agent_sees_the_team_s_presence_but_not_roles_or_logins(
    admin: AgentClient, agent: AgentClient
) -> None:
    status, listed = await agent.call("GET", "api/agents")
    assert status == 200
    assert sorted(a["email"] for a in listed["agents"]) == ["ada@example.com", "bob@example.com"]
    for member in listed["agents"]:
        assert {"presence", "live_chats"} <= set(member)
        assert not {"role", "last_login_at", "created_at"} & set(member)
    status, full = await admin.call("GET", "api/agents")
    assert status == 200 and all({"role", "presence"} <= set(m) for m in full["agents"])


async def test_an_agent_sees_settings_read_only_without_the_admin_tabs(
    admin: AgentClient, agent: AgentClient
) -> None:
    async with agent.http.get(f"{agent.base}/settings") as response:
        page = await response.text()
    assert "Only admins can change settings" in page
    assert 'data-admin="false"' in page
    assert 'data-tab="agents"' not in page and "team.js" not in page
    async with agent.http.get(f"{agent.base}/escalations") as response:
        assert "Export CSV" not in await response.text()
    async with admin.http.get(f"{admin.base}/settings") as response:
        page = await response.text()
    assert 'data-tab="agents"' in page and 'data-tab="audit"' in page
    assert "Only admins can change settings" not in page


# --- guessing passwords in parallel ---


async def test_thirty_parallel_guesses_get_five_password_checks_and_then_the_account_is_locked(
    server: InboxServer, hasher: WatchedHasher, clients: Callable[[], AgentClient]
) -> None:
    await server.add_agent("ann@example.com", "Ann")
    guessers = [clients() for _ in range(30)]
    answers = await asyncio.gather(
        *(
            g.call("POST", "api/login", {"email": "ann@example.com", "password": WRONG})
            for g in guessers
        )
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [401] * 5 + [429] * 25
    assert hasher.verified == 5  # only the allowed attempts ever reached Argon2
    status, body = await clients().call(
        "POST", "api/login", {"email": "ann@example.com", "password": PASSWORD}
    )
    assert status == 429  # the right password too, while the account is locked
    assert "Too many failed logins" in body["error"]
    assert hasher.verified == 5


async def test_a_login_body_larger_than_a_login_is_refused_unread(
    server: InboxServer, hasher: WatchedHasher, clients: Callable[[], AgentClient]
) -> None:
    await server.add_agent("ann@example.com", "Ann")
    status, body = await clients().call(
        "POST", "api/login", {"email": "ann@example.com", "password": "x" * 10_000}
    )
    assert status == 413 and "at most 4 KB" in body["error"]
    assert hasher.verified == 0


# --- a login flood ---


async def test_a_login_flood_neither_blocks_other_requests_nor_runs_more_than_two_checks(
    server: InboxServer,
    hasher: WatchedHasher,
    admin: AgentClient,
    clients: Callable[[], AgentClient],
) -> None:
    hasher.verified = hasher.most_at_once = 0
    hasher.gate.clear()  # every password check now takes until we say so
    flood = [
        asyncio.ensure_future(
            clients().call(
                "POST", "api/login", {"email": f"guess{n}@example.com", "password": WRONG}
            )
        )
        for n in range(15)
    ]
    # two checks are running (held in their threads) and the rest wait for a slot
    for _ in range(2):
        assert await asyncio.to_thread(hasher.started.acquire, True, 60)
    status, _ = await asyncio.wait_for(admin.call("GET", "api/conversations"), 60)
    assert status == 200  # served while the flood is being checked
    assert not any(request.done() for request in flood)  # the flood was indeed still running
    assert hasher.running == 2
    hasher.gate.set()
    statuses = [status for status, _ in await asyncio.gather(*flood)]
    assert statuses == [401] * 15
    assert hasher.most_at_once == 2  # never more than two Argon2 computations at once
