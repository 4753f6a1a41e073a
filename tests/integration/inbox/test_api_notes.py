"""Internal notes over HTTP: agents write them for each other; the visitor never sees one, and
writing one neither claims the conversation nor starts live chat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from handoff_plugin.delivery.outbox import Outbox
from handoff_plugin.inbox.notes import MAX_NOTE_LENGTH, InboxNotes
from handoff_plugin.livechat.broker import InProcessBroker
from handoff_plugin.livechat.service import Said
from handoff_plugin.store.queries.agents import AgentQueries
from handoff_plugin.store.tables import deliveries
from tests.integration.inbox.conftest import AgentClient, InboxServer, event_stream


async def next_event(queue: asyncio.Queue[tuple[str, Any]], kind: str) -> Any:
    while True:
        name, data = await asyncio.wait_for(queue.get(), 10)
        if name == kind:
            return data


async def bob(inbox: InboxServer, make_client: Callable[[], AgentClient]) -> AgentClient:
    await inbox.add_agent("bob@example.com", "Bob", "agent")
    client = make_client()
    await client.login("bob@example.com")
    return client


async def test_a_note_shows_in_the_timeline_for_agents_and_claims_nothing(
    inbox: InboxServer, ann: AgentClient
) -> None:
    chat = await inbox.escalate("zoe", channel="livechat")

    status, body = await ann.call(
        "POST", f"api/conversations/{chat.id}/notes", {"text": "  VIP customer, be gentle  "}
    )

    assert status == 201, body
    assert body["note"]["text"] == "VIP customer, be gentle"
    assert body["note"]["agent"] == {"id": "1", "name": "Ann"}
    _, detail = await ann.call("GET", f"api/conversations/{chat.id}")
    notes = [item for item in detail["timeline"] if item["type"] == "note"]
    assert [(n["text"], n["agent"]["name"]) for n in notes] == [("VIP customer, be gentle", "Ann")]
    assert detail["timeline"][-1]["type"] == "note"  # after the escalation it follows
    assert detail["conversation"]["state"] == "escalated"  # no live chat
    assert detail["conversation"]["assignee"] is None  # and nobody claimed it


async def test_a_note_never_reaches_the_visitor_the_tracker_or_the_transcript(
    inbox: InboxServer, ann: AgentClient
) -> None:
    chat = await inbox.escalate("zoe", channel="livechat")
    status, _ = await ann.call("POST", f"api/conversations/{chat.id}/messages", {"text": "Hi Zoe"})
    assert status == 201
    tracker = inbox.transcript.events[chat.sender_id]
    assert "Hi Zoe" in [e.text for e in tracker if isinstance(e, Said)]  # replies do get there

    status, _ = await ann.call(
        "POST", f"api/conversations/{chat.id}/notes", {"text": "secret: refund approved"}
    )
    assert status == 201

    _, detail = await ann.call("GET", f"api/conversations/{chat.id}")
    assert "secret: refund approved" in [i.get("text") for i in detail["timeline"]]  # stored
    said = [e.text for e in inbox.transcript.events[chat.sender_id] if isinstance(e, Said)]
    assert "secret: refund approved" not in said
    visitor_sees = await inbox.livechat.messages_before(chat.id, None, 500)
    assert "secret: refund approved" not in [m.text for m in visitor_sees]


async def test_another_agent_may_note_a_conversation_someone_else_handles(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    chat = await inbox.escalate("zoe")
    await ann.call("POST", f"api/conversations/{chat.id}/messages", {"text": "Ann here"})
    teammate = await bob(inbox, make_client)

    status, body = await teammate.call(
        "POST", f"api/conversations/{chat.id}/notes", {"text": "Ann, she called us yesterday"}
    )

    assert status == 201, body
    _, detail = await ann.call("GET", f"api/conversations/{chat.id}")
    assert detail["conversation"]["assignee"]["name"] == "Ann"  # still Ann's
    assert detail["timeline"][-1]["agent"]["name"] == "Bob"


async def test_empty_too_long_or_malformed_notes_are_refused_with_a_reason(
    inbox: InboxServer, ann: AgentClient
) -> None:
    chat = await inbox.escalate("zoe")
    path = f"api/conversations/{chat.id}/notes"
    cases: list[tuple[Any, str]] = [
        ({"text": "   "}, "the note is empty"),
        ({"text": "x" * (MAX_NOTE_LENGTH + 1)}, f"longer than {MAX_NOTE_LENGTH} characters"),
        ({"text": 42}, "the note as a string"),
        (["text"], 'send {"text": "..."}'),
    ]
    for body, reason in cases:
        status, answer = await ann.call("POST", path, body)
        assert status == 400, (body, answer)
        assert reason in answer["error"]
    assert (await ann.call("POST", "api/conversations/999999/notes", {"text": "hi"}))[0] == 404
    _, detail = await ann.call("GET", f"api/conversations/{chat.id}")
    assert [i for i in detail["timeline"] if i["type"] == "note"] == []


async def test_notes_need_a_login_and_the_csrf_token(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    chat = await inbox.escalate("zoe")
    path = f"api/conversations/{chat.id}/notes"
    assert (await make_client().call("POST", path, {"text": "hi"}))[0] == 401
    assert (await ann.call("POST", path, {"text": "hi"}, csrf="wrong"))[0] == 403


async def test_a_note_reaches_the_other_agents_live(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    chat = await inbox.escalate("zoe")
    teammate = await bob(inbox, make_client)
    async with event_stream(teammate) as events:
        await ann.call("POST", f"api/conversations/{chat.id}/notes", {"text": "on it"})
        note = await next_event(events, "note")
    assert (note["conversation_id"], note["text"], note["agent"]["name"]) == (
        chat.id,
        "on it",
        "Ann",
    )


async def test_a_note_written_on_another_replica_reaches_agents_here(
    inbox: InboxServer, ann: AgentClient, second_store: Any
) -> None:
    chat = await inbox.escalate("zoe")
    other_store = await second_store()  # another replica: its own connections and broker
    async with other_store.transaction() as tx:
        author = await AgentQueries(tx).by_id(1)
    assert author is not None
    replica = InboxNotes(other_store, InProcessBroker(), origin="other-replica")
    try:
        async with event_stream(ann) as events:
            await replica.add(author, chat.id, "written elsewhere")
            note = await next_event(events, "note")
    finally:
        await other_store.close()
    assert (note["conversation_id"], note["text"]) == (chat.id, "written elsewhere")


async def test_a_note_queues_nothing_for_slack_webhooks_or_email(
    inbox: InboxServer, ann: AgentClient, receiver: dict[str, Any]
) -> None:
    inbox.services.escalations.listeners.append(Outbox())  # as in production (services.py)
    await inbox.services.settings.save({"webhook": {"enabled": True, "url": receiver["url"]}})
    chat = await inbox.escalate("zoe")
    before = await outbox(inbox)
    assert [kind for kind, _ in before] == ["webhook"]  # the escalation was queued: notifiers on

    status, _ = await ann.call("POST", f"api/conversations/{chat.id}/notes", {"text": "psst"})

    assert status == 201
    assert await outbox(inbox) == before


async def outbox(inbox: InboxServer) -> list[tuple[str, str]]:
    """Every notification queued for delivery (email, Slack, webhook), with what it says."""
    async with inbox.store.transaction() as tx:
        rows = (await tx.conn.execute(sa.select(deliveries.c.kind, deliveries.c.payload))).all()
    return [(row.kind, json.dumps(row.payload)) for row in rows]
