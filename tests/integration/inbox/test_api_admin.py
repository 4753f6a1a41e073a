"""What admins do from the inbox: manage agents and read the settings audit log."""

from __future__ import annotations

from collections.abc import Callable

from handoff_plugin.store.tables import settings_audit
from tests.integration.inbox.conftest import PASSWORD, AgentClient, InboxServer


async def test_an_admin_adds_an_agent_who_can_then_log_in(
    ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    new = {"email": "Bob@Example.com", "name": "Bob", "password": PASSWORD, "role": "agent"}
    status, body = await ann.call("POST", "api/agents", new)
    assert status == 201
    assert body["agent"]["email"] == "bob@example.com" and body["agent"]["role"] == "agent"
    status, listed = await ann.call("GET", "api/agents")
    assert [(a["email"], a["role"]) for a in listed["agents"]] == [
        ("ann@example.com", "admin"),
        ("bob@example.com", "agent"),
    ]
    bob = make_client()
    assert (await bob.login("bob@example.com"))["agent"]["role"] == "agent"


async def test_adding_an_agent_says_what_is_wrong(ann: AgentClient) -> None:
    cases = [
        ({"email": "ann@example.com", "name": "A", "password": PASSWORD}, "exists already"),
        ({"email": "nope", "name": "A", "password": PASSWORD}, "not an email address"),
        ({"email": "c@example.com", "name": "C", "password": "short"}, "at least 10"),
        ({"email": "c@example.com", "name": "C", "password": PASSWORD, "role": "root"}, "role"),
    ]
    for body, reason in cases:
        status, answer = await ann.call("POST", "api/agents", body)
        assert status == 400 and reason in answer["error"], (body, answer)
    status, listed = await ann.call("GET", "api/agents")
    assert len(listed["agents"]) == 1


async def test_removing_an_agent_ends_their_sessions(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    bob = await inbox.add_agent("bob@example.com", "Bob", role="agent")
    client = make_client()
    await client.login("bob@example.com")
    assert (await client.call("GET", "api/conversations"))[0] == 200
    status, body = await ann.call("DELETE", f"api/agents/{bob.id}")
    assert status == 200 and body["removed"]["email"] == "bob@example.com"
    assert (await client.call("GET", "api/conversations"))[0] == 401
    assert (await ann.call("DELETE", f"api/agents/{bob.id}"))[0] == 404


async def test_an_admin_cannot_remove_themself_nor_the_last_admin(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    status, body = await ann.call("DELETE", "api/agents/1")
    assert status == 403 and "cannot remove yourself" in body["error"]
    await inbox.add_agent("cy@example.com", "Cy", role="admin")
    cy = make_client()
    await cy.login("cy@example.com")
    assert (await cy.call("DELETE", "api/agents/1"))[0] == 200  # another admin is left: fine
    status, listed = await cy.call("GET", "api/agents")
    assert [a["email"] for a in listed["agents"]] == ["cy@example.com"]


async def test_every_settings_change_is_audited_with_who_and_secrets_only_as_changed(
    inbox: InboxServer, ann: AgentClient
) -> None:
    change = {
        "webhook": {"url": "https://hooks.example/one", "secret": "s3cret-signing-key"},
        "slack": {"bot_token": "xoxb-very-secret", "channel": "#help"},
    }
    assert (await ann.call("PUT", "api/settings", change))[0] == 200
    second = {"webhook": {"url": "https://hooks.example/two", "secret": "another-s3cret"}}
    assert (await ann.call("PUT", "api/settings", second))[0] == 200

    status, audit = await ann.call("GET", "api/settings/audit")
    assert status == 200
    entries = [(c["key"], c["change"]) for c in audit["changes"]]
    assert entries == [  # newest first (within one save, the keys in reverse order)
        ("webhook.url", "'https://hooks.example/one' -> 'https://hooks.example/two'"),
        ("webhook.secret", "changed"),
        ("webhook.url", "'' -> 'https://hooks.example/one'"),
        ("webhook.secret", "changed"),
        ("slack.channel", "'' -> '#help'"),
        ("slack.bot_token", "changed"),
    ]
    assert {c["agent"]["email"] for c in audit["changes"]} == {"ann@example.com"}
    assert all(c["old"] is None and c["new"] is None for c in audit["changes"] if c["secret"])
    async with inbox.store.transaction() as tx:  # and no secret is stored in the log either
        rows = (await tx.conn.execute(settings_audit.select())).all()
    assert len(rows) == 6
    assert not any(s in str(rows) for s in ("s3cret", "xoxb-very", "another"))


async def test_a_refused_change_leaves_no_audit_entry(ann: AgentClient) -> None:
    status, _ = await ann.call("PUT", "api/settings", {"email": {"recipients": "not-an-address"}})
    assert status == 400
    status, audit = await ann.call("GET", "api/settings/audit")
    assert audit == {"changes": [], "next_cursor": None}


async def test_the_audit_log_is_read_page_by_page_newest_first(ann: AgentClient) -> None:
    for n in range(5):
        await ann.call("PUT", "api/settings", {"chatbot": {"name": f"Bot {n}"}})
    seen: list[str] = []
    cursor = ""
    while True:
        path = "api/settings/audit?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = await ann.call("GET", path)
        assert status == 200 and len(page["changes"]) <= 2
        seen += [c["change"].split(" -> ")[1] for c in page["changes"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == [f"'Bot {n}'" for n in (4, 3, 2, 1, 0)]
    assert (await ann.call("GET", "api/settings/audit?limit=0"))[0] == 400
