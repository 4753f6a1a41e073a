"""Logging in and out of the inbox; nothing is served to the anonymous; CSRF on every change."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest

from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.inbox.http import COOKIE
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.settings import SettingsQueries
from tests.conftest import FakeClock
from tests.integration.inbox.conftest import PASSWORD, AgentClient, InboxServer, cheap_passwords

# Every API endpoint, with a body where it takes one.
ENDPOINTS = [
    ("POST", "api/logout", None),
    ("GET", "api/conversations", None),
    ("GET", "api/conversations/1", None),
    ("POST", "api/conversations/1/messages", {"text": "hi"}),
    ("POST", "api/conversations/1/end", None),
    ("GET", "api/settings", None),
    ("PUT", "api/settings", {"escalations": {"enabled": False}}),
    ("POST", "api/settings/webhook/test", {"url": "http://127.0.0.1:9/"}),
    ("GET", "api/escalations", None),
    ("GET", "api/escalations?format=csv", None),
    ("GET", "api/events", None),
]
CHANGES = [e for e in ENDPOINTS if e[0] != "GET" and e[1] != "api/logout"]
PAGES = ["", "conversations", "conversations/42", "escalations", "settings"]


async def raw_login(client: AgentClient, email: str, password: str) -> tuple[int, dict]:
    status, body = await client.call("POST", "api/login", {"email": email, "password": password})
    return status, body


async def test_an_agent_logs_in_with_email_and_password_and_gets_a_csrf_token(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    await inbox.add_agent("ann@example.com", "Ann")
    client = make_client()
    async with client.http.post(
        f"{inbox.url}/api/login", json={"email": "Ann@Example.com ", "password": PASSWORD}
    ) as response:
        body = await response.json()
        cookie = response.cookies[COOKIE]
    assert response.status == 200
    assert body["agent"] == {"id": 1, "email": "ann@example.com", "name": "Ann", "role": "admin"}
    assert len(body["csrf_token"]) >= 32
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/webhooks/inbox/"
    assert not cookie["secure"]  # plain http on loopback
    client.csrf = body["csrf_token"]
    status, _ = await client.call("GET", "api/conversations")
    assert status == 200


async def test_the_session_cookie_is_secure_behind_an_https_proxy(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    await inbox.add_agent()
    client = make_client()
    async with client.http.post(
        f"{inbox.url}/api/login",
        json={"email": "ann@example.com", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    ) as response:
        assert response.status == 200
        assert response.cookies[COOKIE]["secure"] is True


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)],
)
async def test_a_wrong_email_or_password_is_refused_alike(
    inbox: InboxServer, make_client: Callable[[], AgentClient], email: str, password: str
) -> None:
    await inbox.add_agent()
    status, body = await raw_login(make_client(), email, password)
    assert (status, body) == (401, {"error": "Wrong email or password."})


@pytest.mark.parametrize(
    "body", [{"email": "ann@example.com"}, {"email": 1, "password": 2}, [], "x"]
)
async def test_a_malformed_login_is_a_bad_request(
    inbox: InboxServer, make_client: Callable[[], AgentClient], body: object
) -> None:
    status, answer = await make_client().call("POST", "api/login", body)
    assert status == 400
    assert "email" in answer["error"]


async def test_a_login_that_is_not_json_is_refused(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    # A cross-site HTML form can post urlencoded data, never JSON: login CSRF is impossible.
    client = make_client()
    async with client.http.post(
        f"{inbox.url}/api/login", data={"email": "ann@example.com", "password": PASSWORD}
    ) as response:
        assert response.status == 415


async def test_repeated_failed_logins_lock_the_account_even_for_the_right_password(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    await inbox.add_agent()
    client = make_client()
    for _ in range(5):
        assert (await raw_login(client, "ann@example.com", "not the password"))[0] == 401
    async with client.http.post(
        f"{inbox.url}/api/login", json={"email": "ann@example.com", "password": PASSWORD}
    ) as response:
        assert response.status == 429
        assert int(response.headers["Retry-After"]) > 800
        assert "Too many failed logins" in (await response.json())["error"]


async def test_failed_logins_count_across_processes(
    inbox: InboxServer, make_client: Callable[[], AgentClient], second_store: Callable
) -> None:
    """Another process (its own connections to the same database) sees the same counter."""
    await inbox.add_agent()
    other = AgentService(await second_store(), cheap_passwords())
    for _ in range(5):
        with pytest.raises(Exception, match="Wrong email or password"):
            await other.login("ann@example.com", "not the password", "198.51.100.7")
    await other.store.close()
    status, _ = await raw_login(make_client(), "ann@example.com", PASSWORD)
    assert status == 429


async def test_too_many_failures_from_one_address_block_it_for_every_account(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    await inbox.add_agent("ann@example.com", "Ann")
    client = make_client()
    for index in range(20):  # guessing many accounts from one address
        await raw_login(client, f"guess{index}@example.com", "whatever-it-is")
    assert (await raw_login(client, "ann@example.com", PASSWORD))[0] == 429


async def test_a_successful_login_resets_the_account_counter(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    await inbox.add_agent()
    client = make_client()
    for _ in range(4):
        await raw_login(client, "ann@example.com", "not the password")
    assert (await raw_login(client, "ann@example.com", PASSWORD))[0] == 200
    for _ in range(4):
        await raw_login(client, "ann@example.com", "not the password")
    assert (await raw_login(client, "ann@example.com", PASSWORD))[0] == 200


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_every_api_endpoint_refuses_the_anonymous(
    inbox: InboxServer,
    make_client: Callable[[], AgentClient],
    method: str,
    path: str,
    body: object,
) -> None:
    conversation = await inbox.escalate("visitor-1", "private question")
    status, answer = await make_client().call(method, path, body)
    assert status == 401
    assert "Not logged in" in answer["error"]
    assert "private" not in str(answer)
    async with inbox.store.transaction() as tx:  # and nothing changed
        assert (await ConversationQueries(tx).conversation(conversation.id)).state.value == "escalated"  # type: ignore[union-attr]
        assert await SettingsQueries(tx).saved_settings() == {}


@pytest.mark.parametrize("page", PAGES)
async def test_every_page_sends_the_anonymous_to_the_login_page(
    inbox: InboxServer, make_client: Callable[[], AgentClient], page: str
) -> None:
    async with make_client().http.get(f"{inbox.url}/{page}", allow_redirects=False) as response:
        assert response.status == 302
        wanted = "/webhooks/inbox/" + page
        assert response.headers["Location"] == f"/webhooks/inbox/login?next={wanted}"


async def test_a_link_from_a_notification_opens_its_conversation_after_login(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    conversation = await inbox.escalate("visitor-1")
    await inbox.add_agent()
    client = make_client()
    async with client.http.get(f"{inbox.url}/conversations/{conversation.id}") as response:
        # followed the redirect to the login page, which remembers where to go next
        assert response.url.path == "/webhooks/inbox/login"
        page = await response.text()
        assert f'data-next="/webhooks/inbox/conversations/{conversation.id}"' in page
    await client.login()
    async with client.http.get(f"{inbox.url}/conversations/{conversation.id}") as response:
        assert response.status == 200
        assert f'data-conversation-id="{conversation.id}"' in await response.text()


async def test_the_login_page_never_redirects_elsewhere(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    for evil in ("https://evil.example/", "//evil.example/x", "/webhooks/inbox/../../x"):
        async with make_client().http.get(f"{inbox.url}/login", params={"next": evil}) as response:
            assert 'data-next="/webhooks/inbox/"' in await response.text()


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
@pytest.mark.parametrize("token", ["", "wrong-token"])
async def test_every_change_needs_the_csrf_token(
    inbox: InboxServer, ann: AgentClient, method: str, path: str, body: object, token: str
) -> None:
    await inbox.escalate("visitor-1")
    status, answer = await ann.call(method, path, body, csrf=token)
    assert (status, answer) == (403, {"error": "Missing or wrong X-CSRF-Token header."})
    async with inbox.store.transaction() as tx:
        assert (await ConversationQueries(tx).conversation(1)).state.value == "escalated"  # type: ignore[union-attr]
        assert await SettingsQueries(tx).saved_settings() == {}


async def test_logout_ends_the_session_on_the_server(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    jar = ann.http.cookie_jar
    stolen = jar.filter_cookies(aiohttp.client.URL(inbox.url + "/"))[COOKIE].value
    copy = make_client()
    status, _ = await copy.call(
        "GET", "api/conversations", headers={"Cookie": f"{COOKIE}={stolen}"}
    )
    assert status == 200  # the cookie alone is the session (as a browser would send it)
    status, _ = await ann.call("POST", "api/logout")
    assert status == 200
    assert (await ann.call("GET", "api/conversations"))[0] == 401
    # a copy of the old cookie is worthless too
    replay = make_client()
    status, _ = await replay.call(
        "GET", "api/conversations", headers={"Cookie": f"{COOKIE}={stolen}"}
    )
    assert status == 401


async def test_removing_an_agent_or_changing_its_password_ends_its_sessions(
    inbox: InboxServer, ann: AgentClient
) -> None:
    await inbox.agents.set_password("ann@example.com", "a brand new password")
    assert (await ann.call("GET", "api/conversations"))[0] == 401
    await ann.login(password="a brand new password")
    await inbox.agents.remove("ann@example.com")
    assert (await ann.call("GET", "api/settings"))[0] == 401


async def test_pages_forbid_inline_scripts_and_foreign_assets(ann: AgentClient) -> None:
    async with ann.http.get(f"{ann.base}/") as response:
        csp = response.headers["Content-Security-Policy"]
        page = await response.text()
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in page  # every script is a local file
    assert "http://" not in page.replace('content="', "") and "https://" not in page


async def test_assets_are_served_locally_and_nothing_else_is(ann: AgentClient) -> None:
    for name, kind in [("inbox.js", "text/javascript"), ("inbox.css", "text/css")]:
        async with ann.http.get(f"{ann.base}/static/{name}") as response:
            assert response.status == 200
            assert response.content_type == kind
    for bad in ("static/../api.py", "static/nothing.js", "static/%2e%2e%2fapi.py"):
        async with ann.http.get(f"{ann.base}/{bad}") as response:
            assert response.status == 404


async def test_unknown_endpoints_and_methods_are_answered_clearly(ann: AgentClient) -> None:
    status, body = await ann.call("GET", "api/nothing-here")
    assert status == 404 and "no API endpoint" in body["error"]
    status, body = await ann.call("DELETE", "api/conversations")
    assert status == 405 and body["error"] == "use GET here"


async def test_a_session_unused_for_twelve_hours_is_over(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    clock.advance(11 * 3600)
    assert (await ann.call("GET", "api/conversations"))[0] == 200  # in use: extended
    clock.advance(11 * 3600)
    assert (await ann.call("GET", "api/conversations"))[0] == 200
    clock.advance(12 * 3600 + 1)
    assert (await ann.call("GET", "api/conversations"))[0] == 401
