"""Claiming over HTTP: one agent handles a conversation; take over, transfer, release, Mine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from handoff_plugin.livechat.service import Said
from tests.integration.inbox.conftest import AgentClient, InboxServer, event_stream


async def team(
    inbox: InboxServer, make_client: Callable[[], AgentClient], *names: str, role: str = "agent"
) -> list[AgentClient]:
    clients = []
    for name in names:
        email = f"{name.lower()}@example.com"
        await inbox.add_agent(email, name, role)
        client = make_client()
        await client.login(email)
        clients.append(client)
    return clients


async def next_assignment(stream: asyncio.Queue[tuple[str, Any]]) -> dict[str, Any]:
    while True:
        name, data = await asyncio.wait_for(stream.get(), 10)
        if name == "assignment":
            return data


async def test_of_agents_replying_at_the_same_moment_exactly_one_gets_the_visitor(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    agents = await team(inbox, make_client, *[f"Agent{i}" for i in range(8)])
    chat = await inbox.escalate("zoe")

    answers = await asyncio.gather(
        *(
            agent.call("POST", f"api/conversations/{chat.id}/messages", {"text": f"hi {i}"})
            for i, agent in enumerate(agents)
        )
    )

    statuses = [status for status, _ in answers]
    assert sorted(statuses) == [201] + [409] * 7
    winner = statuses.index(201)
    for status, body in answers:
        if status == 409:  # each loser is told who has it
            assert body["assignee"]["name"] == f"Agent{winner}"
            assert f"Agent{winner} (agent{winner}@example.com) is handling" in body["error"]
    _, detail = await agents[0].call("GET", f"api/conversations/{chat.id}")
    said = [item["text"] for item in detail["timeline"] if item.get("author") == "agent"]
    assert said == [f"hi {winner}"]  # the visitor got the winner's message only
    assert detail["conversation"]["assignee"]["name"] == f"Agent{winner}"
    tracker = inbox.transcript.events[chat.sender_id]  # what Rasa's tracker recorded
    assert [e.text for e in tracker if isinstance(e, Said) and e.text.startswith("hi ")] == [
        f"hi {winner}"
    ]


async def test_taking_over_tells_the_agent_who_had_it(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    ann, bob = await team(inbox, make_client, "Ann", "Bob")
    chat = await inbox.escalate("zoe")
    await ann.call("POST", f"api/conversations/{chat.id}/messages", {"text": "Ann here"})

    async with event_stream(ann) as anns_stream:
        status, body = await bob.call("POST", f"api/conversations/{chat.id}/end")
        assert status == 409, body  # not his chat to end
        assert body["assignee"]["name"] == "Ann"
        status, body = await bob.call(
            "POST", f"api/conversations/{chat.id}/claim", {"take_over": True}
        )
        assert status == 200, body
        told = await next_assignment(anns_stream)

    assert told["conversation_id"] == chat.id
    assert told["action"] == "taken_over"
    assert told["previous"]["name"] == "Ann"
    assert told["assignee"]["name"] == "Bob"
    status, body = await ann.call("POST", f"api/conversations/{chat.id}/messages", {"text": "x"})
    assert (status, body["assignee"]["name"]) == (409, "Bob")
    status, _ = await bob.call("POST", f"api/conversations/{chat.id}/end")
    assert status == 200
    # The visitor was told who answers now (the tracker gets a live chat's lines at its end).
    tracker = inbox.transcript.events[chat.sender_id]
    assert [e.text for e in tracker if isinstance(e, Said)][-2:] == [
        "Bob from our team has joined the chat.",
        "Bob has left the chat. You're back with Test Bot.",
    ]
    _, detail = await ann.call("GET", f"api/conversations/{chat.id}")
    assert detail["conversation"]["assignee"] is None  # End Live Chat cleared it
    assert detail["assignment"]["action"] == "ended"


async def test_a_transfer_reaches_the_new_agent_with_its_note_and_fills_their_mine_tab(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    ann, bob = await team(inbox, make_client, "Ann", "Bob")
    mine, other = await inbox.escalate("zoe"), await inbox.escalate("max")
    await ann.call("POST", f"api/conversations/{mine.id}/claim")

    async with event_stream(bob) as bobs_stream:
        status, body = await ann.call(
            "POST",
            f"api/conversations/{mine.id}/transfer",
            {"agent_email": "bob@example.com", "note": "Wants a refund, order 1234"},
        )
        assert status == 200, body
        told = await next_assignment(bobs_stream)

    assert (told["action"], told["assignee"]["name"], told["by"]["name"]) == (
        "transferred",
        "Bob",
        "Ann",
    )
    assert told["note"] == "Wants a refund, order 1234"
    _, bobs = await bob.call("GET", "api/conversations?status=mine")
    assert [c["id"] for c in bobs["conversations"]] == [mine.id]
    assert bobs["counts"]["mine"] == 1
    _, everything = await bob.call("GET", "api/conversations?status=all")
    assignees = {c["id"]: c["assignee"] for c in everything["conversations"]}
    assert assignees == {
        mine.id: {"id": assignees[mine.id]["id"], "name": "Bob", "email": "bob@example.com"},
        other.id: None,
    }
    _, detail = await bob.call("GET", f"api/conversations/{mine.id}")
    assert detail["assignment"]["note"] == "Wants a refund, order 1234"

    status, _ = await bob.call("POST", f"api/conversations/{mine.id}/release")
    assert status == 200
    _, bobs = await bob.call("GET", "api/conversations?status=mine")
    assert bobs["conversations"] == []
    _, waiting = await ann.call("GET", "api/conversations?status=waiting")
    assert mine.id in [c["id"] for c in waiting["conversations"]]  # back in the queue


async def test_bad_claiming_requests_are_refused_with_the_reason(
    inbox: InboxServer, make_client: Callable[[], AgentClient]
) -> None:
    (ann,) = await team(inbox, make_client, "Ann")
    chat = await inbox.escalate("zoe")
    cases: list[tuple[str, Any, int, str]] = [
        ("claim", {"take_over": "yes"}, 400, "take_over"),
        ("transfer", {"agent_email": "ghost@example.com"}, 400, "is not an agent here"),
        ("transfer", {"note": "no one named"}, 400, "agent_email"),
        ("transfer", ["bob"], 400, "agent_email"),
        ("release", None, 409, "Nobody is handling"),
    ]
    for action, body, expected, reason in cases:
        status, answer = await ann.call("POST", f"api/conversations/{chat.id}/{action}", body)
        assert (status, reason in answer["error"]) == (expected, True), (action, answer)
    status, answer = await ann.call("POST", "api/conversations/999/claim")
    assert status == 404, answer
    status, answer = await ann.call("POST", f"api/conversations/{chat.id}/claim", csrf="")
    assert status == 403, answer  # state-changing: the CSRF token is required
