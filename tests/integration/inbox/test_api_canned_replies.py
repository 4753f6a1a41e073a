"""Canned replies over HTTP: admins keep them (validated, audited), every agent reads them, and a
conversation gets them filled in and in its visitor's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.inbox.conftest import AgentClient, InboxServer

GREETING = {
    "language": "en",
    "shortcut": "hello",
    "title": "Greeting",
    "text": "Hi {visitor_first_name}, {agent_name} here. How can I help?",
}


async def agent(inbox: InboxServer, make_client: Callable[[], AgentClient]) -> AgentClient:
    await inbox.add_agent("bob@example.com", "Bob", "agent")
    client = make_client()
    await client.login("bob@example.com")
    return client


async def add(client: AgentClient, **changes: Any) -> tuple[int, Any]:
    return await client.call("POST", "api/canned-replies", {**GREETING, **changes})


async def test_admins_add_edit_and_delete_replies_and_each_change_is_audited(
    ann: AgentClient,
) -> None:
    status, body = await add(ann)
    assert status == 201, body
    reply_id = body["reply"]["id"]
    edited = {**GREETING, "text": "Hello {visitor_first_name}!"}
    status, body = await ann.call("PUT", f"api/canned-replies/{reply_id}", edited)
    assert status == 200 and body["reply"]["text"] == "Hello {visitor_first_name}!"
    _, listing = await ann.call("GET", "api/canned-replies")
    assert [(r["shortcut"], r["text"]) for r in listing["replies"]] == [
        ("hello", "Hello {visitor_first_name}!")
    ]
    assert listing["placeholders"] == ["visitor_first_name", "agent_name"]
    assert {"en", "de", "fr", "es"} <= set(listing["languages"])
    status, _ = await ann.call("DELETE", f"api/canned-replies/{reply_id}")
    assert status == 200
    assert (await ann.call("GET", "api/canned-replies"))[1]["replies"] == []

    _, audit = await ann.call("GET", "api/settings/audit")
    changes = [(c["key"], c["old"], c["new"]) for c in audit["changes"]]
    assert changes == [
        ("canned_replies.en.hello", {"title": "Greeting", "text": edited["text"]}, None),
        (
            "canned_replies.en.hello",
            {"title": "Greeting", "text": GREETING["text"]},
            {"title": "Greeting", "text": edited["text"]},
        ),
        ("canned_replies.en.hello", None, {"title": "Greeting", "text": GREETING["text"]}),
    ]
    assert {c["agent"]["email"] for c in audit["changes"]} == {"ann@example.com"}


async def test_bad_replies_are_refused_with_the_field_and_the_reason(ann: AgentClient) -> None:
    assert (await add(ann))[0] == 201
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"shortcut": "Hello there"}, "shortcut", "must be a short slug"),
        ({"shortcut": "x" * 33}, "shortcut", "must be a short slug"),
        ({"shortcut": "hello"}, "shortcut", "/hello is already used in en"),
        ({"shortcut": "bye", "text": "  "}, "text", "text is required"),
        ({"shortcut": "bye", "title": ""}, "title", "title is required"),
        (
            {"shortcut": "bye", "text": "Hi {first_name}, I'm {agent}"},
            "text",
            "unknown placeholders {agent}, {first_name}; allowed: {visitor_first_name}, "
            "{agent_name}",
        ),
        ({"shortcut": "bye", "text": "Hi {visitor_first_name"}, "text", "unmatched {"),
        ({"shortcut": "bye", "language": "xx"}, "language", "'xx' is not one of the bot's"),
    ]
    for changes, field, reason in cases:
        status, body = await add(ann, **changes)
        assert status == 400, (changes, body)
        assert body["field"] == field, body
        assert reason in body["error"], body
    # The same shortcut in another language is another reply.
    assert (await add(ann, language="de", text="Hallo {visitor_first_name}!"))[0] == 201


async def test_agents_read_replies_but_only_admins_change_them(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    _, body = await add(ann)
    bob = await agent(inbox, make_client)
    status, listing = await bob.call("GET", "api/canned-replies")
    assert status == 200 and [r["shortcut"] for r in listing["replies"]] == ["hello"]
    reply_id = body["reply"]["id"]
    for method, path in (
        ("POST", "api/canned-replies"),
        ("PUT", f"api/canned-replies/{reply_id}"),
        ("DELETE", f"api/canned-replies/{reply_id}"),
    ):
        status, answer = await bob.call(method, path, GREETING)
        assert status == 403, (method, answer)
        assert "Only admins can change canned replies" in answer["error"]
    assert (await ann.call("DELETE", "api/canned-replies/999"))[0] == 404


async def test_a_conversation_gets_its_replies_filled_in_and_in_the_visitors_language(
    inbox: InboxServer, ann: AgentClient
) -> None:
    await add(ann)
    await add(ann, language="de", text="Hallo {visitor_first_name}, hier ist {agent_name}.")
    await add(ann, shortcut="bye", title="Goodbye", text="Bye {visitor_first_name}!")
    known = await inbox.escalate("zoe", first_name="Zoe")
    await inbox.livechat.record_visitor_message("zoe", "Hallo?", {"language": "de-AT"}, "rest")
    unknown = await inbox.escalate("max")

    _, german = await ann.call("GET", f"api/conversations/{known.id}/canned-replies")
    assert german["language"] == "de-AT"
    assert [(r["shortcut"], r["language"], r["text"]) for r in german["replies"]] == [
        ("bye", "en", "Bye Zoe!"),  # no German one: the default language's
        ("hello", "de", "Hallo Zoe, hier ist Ann."),
    ]
    _, english = await ann.call("GET", f"api/conversations/{unknown.id}/canned-replies")
    assert [(r["shortcut"], r["text"]) for r in english["replies"]] == [
        ("bye", "Bye!"),
        ("hello", "Hi, Ann here. How can I help?"),  # no first name: nothing left behind
    ]
    assert (await ann.call("GET", "api/conversations/99999/canned-replies"))[0] == 404
