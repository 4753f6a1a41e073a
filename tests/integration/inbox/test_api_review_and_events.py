"""Escalation review (JSON and CSV) and the live event stream, including escalations recorded by
another process."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from handoff_plugin.config.settings import base_layers
from handoff_plugin.escalation.service import EscalationRequest, EscalationService
from handoff_plugin.inbox.feed import EscalationEventWriter
from handoff_plugin.models import Trigger, VisitorProfile
from handoff_plugin.store import Store
from handoff_plugin.store.saved_settings import StoredSettings
from tests.conftest import FakeClock
from tests.integration.inbox.conftest import AgentClient, InboxServer, event_stream, start_inbox


async def test_escalations_are_reviewed_by_day_with_trigger_and_message(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    await inbox.escalate("a", "I want a human", trigger=Trigger.INTENT)
    await inbox.escalate("b", "my invoice is wrong??", trigger=Trigger.FALLBACK)
    clock.advance(86400)
    await inbox.escalate("c", "/human_handoff", trigger=Trigger.PAYLOAD)
    await ann.login()  # the session of yesterday has expired
    status, body = await ann.call("GET", "api/escalations?from=2026-02-01&to=2026-02-10")
    assert status == 200
    assert body["total"] == 3
    assert [(d["day"], d["counts"]) for d in body["days"]] == [
        ("2026-02-10", {"intent": 0, "fallback": 0, "payload": 1}),
        ("2026-02-09", {"intent": 1, "fallback": 1, "payload": 0}),
    ]
    monday = body["days"][1]["escalations"]
    assert [(e["trigger_label"], e["message"]) for e in monday] == [
        ("accepted the bot's offer (low confidence)", "my invoice is wrong??"),
        ("asked for a person", "I want a human"),
    ]


async def test_escalations_export_as_csv_that_spreadsheets_do_not_execute(
    inbox: InboxServer, ann: AgentClient
) -> None:
    await inbox.escalate("a", '=HYPERLINK("http://evil")', email="ann@x.test")
    async with ann.http.get(
        f"{ann.base}/api/escalations",
        params={"format": "csv", "from": "2026-02-09", "to": "2026-02-09"},
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert (
            'filename="escalations-2026-02-09-2026-02-09.csv"'
            in response.headers["Content-Disposition"]
        )
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 1
    assert rows[0]["message"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["trigger"] == "intent" and rows[0]["visitor_email"] == "ann@x.test"
    assert rows[0]["conversation_id"] == "1"


async def test_a_bad_review_period_is_refused(ann: AgentClient) -> None:
    for query, reason in [
        ("from=yesterday", "from must be a date like 2026-02-09"),
        ("from=2026-02-10&to=2026-02-01", "from must not be after to"),
        ("from=2024-01-01&to=2026-01-01", "choose at most 366 days"),
        ("format=xml", "format must be json or csv"),
    ]:
        status, body = await ann.call("GET", f"api/escalations?{query}")
        assert status == 400 and reason in body["error"], query


async def next_event(queue: asyncio.Queue[tuple[str, Any]], kind: str) -> Any:
    while True:
        name, data = await asyncio.wait_for(queue.get(), 5)
        if name == kind:
            return data


async def next_state(queue: asyncio.Queue[tuple[str, Any]], state: str) -> Any:
    """The next change to `state` (the escalation's own event may come first)."""
    while True:
        data = await next_event(queue, "state")
        if data["state"] == state:
            return data


async def test_an_escalation_recorded_by_another_process_reaches_every_agent_live(
    inbox: InboxServer, ann: AgentClient, make_client: Any, second_store: Any, database_url: str
) -> None:
    await inbox.add_agent("bob@example.com", "Bob")
    bob = make_client()
    await bob.login("bob@example.com")
    other_store = await second_store()  # the action server's own connections
    provider = StoredSettings(other_store, base_layers({"HANDOFF_DATABASE_URL": database_url}))
    action_server = EscalationService(other_store, provider, [EscalationEventWriter("actions")])
    async with event_stream(ann) as ann_events, event_stream(bob) as bob_events:
        outcome = await action_server.escalate(
            EscalationRequest(
                "zoe", "rest", Trigger.INTENT, "a person please", VisitorProfile("zoe@x.test")
            )
        )
        assert outcome.escalation is not None
        conversation_id = outcome.escalation.conversation_id
        for queue in (ann_events, bob_events):
            assert await next_event(queue, "state") == {
                "conversation_id": conversation_id,
                "state": "escalated",
                "agent": None,
            }
    await other_store.close()
    _, body = await ann.call("GET", "api/conversations?status=waiting")
    assert [c["id"] for c in body["conversations"]] == [conversation_id]


async def test_visitor_messages_and_live_chat_changes_arrive_live(
    inbox: InboxServer, ann: AgentClient
) -> None:
    conversation = await inbox.escalate("zoe", channel="livechat")
    async with event_stream(ann) as events:
        await inbox.livechat.record_visitor_message("zoe", "<b>hello?</b>", None, "livechat")
        message = await next_event(events, "message")
        assert (message["conversation_id"], message["author"], message["text"]) == (
            conversation.id,
            "visitor",
            "<b>hello?</b>",
        )
        await ann.call("POST", f"api/conversations/{conversation.id}/messages", {"text": "Hi"})
        assert await next_state(events, "live") == {
            "conversation_id": conversation.id,
            "state": "live",
            "agent": {"id": "1", "name": "Ann"},
        }
        await ann.call("POST", f"api/conversations/{conversation.id}/end")
        assert (await next_state(events, "bot"))["agent"] == {"id": "1", "name": "Ann"}


@pytest.fixture
async def quick_inbox(store: Store, database_url: str) -> AsyncIterator[InboxServer]:
    """An inbox whose streams re-check the session five times a second."""
    server = await start_inbox(store, [{"database": {"url": database_url}}], heartbeat=0.2)
    yield server
    await server.stop()


async def test_the_stream_ends_when_the_agent_is_logged_out(quick_inbox: InboxServer) -> None:
    await quick_inbox.add_agent()
    client = AgentClient(quick_inbox.url)
    try:
        await client.login()
        async with event_stream(client) as events:
            await quick_inbox.agents.remove("ann@example.com")
            assert await next_event(events, "logout") == {}
    finally:
        await client.close()
