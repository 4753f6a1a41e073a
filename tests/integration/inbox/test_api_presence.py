"""Presence over the real inbox server: an open page (its event stream) keeps its agent online,
`PUT presence` sets it by hand, `GET agents` shows the team with live-chat counts, and what the
visitor is told at escalation follows who is online. The store's clock is injected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from handoff_plugin.escalation.service import EscalationRequest
from handoff_plugin.models import Trigger, VisitorProfile
from handoff_plugin.store import Store
from tests.conftest import FakeClock
from tests.integration.inbox.conftest import (
    AgentClient,
    InboxServer,
    event_stream,
    start_inbox,
)
from tests.servers import eventually


@pytest.fixture
async def inbox(store: Store, database_url: str) -> AsyncIterator[InboxServer]:
    """The inbox with a fast stream heartbeat (the presence check-in) and no sweeping."""
    server = await start_inbox(
        store, [{"database": {"url": database_url}}], heartbeat=0.05, sweep_interval=3600
    )
    yield server
    await server.stop()


async def presence_of(client: AgentClient) -> str:
    status, body = await client.call("GET", "api/presence")
    assert status == 200, body
    return str(body["presence"])


async def until_presence(client: AgentClient, wanted: str) -> None:
    async def shown() -> bool:
        return await presence_of(client) == wanted

    await eventually(shown, f"the agent shows as {wanted}", timeout=10, every=0.02)


async def escalate(inbox: InboxServer, sender: str) -> str:
    await inbox.livechat.record_visitor_message(sender, "a person please", None, "rest")
    outcome = await inbox.services.escalations.escalate(
        EscalationRequest(
            sender_id=sender,
            channel="rest",
            trigger=Trigger.INTENT,
            message="a person please",
            profile=VisitorProfile(email=f"{sender}@example.com"),
        )
    )
    assert outcome.status == "created"
    return outcome.visitor_reply


async def test_an_open_page_keeps_its_agent_online_and_a_closed_one_goes_offline(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    assert await presence_of(ann) == "offline"  # logged in, but no page open
    async with event_stream(ann):
        assert await presence_of(ann) == "online"
        clock.advance(61)  # a minute passes; the open page's heartbeat checks in again
        await until_presence(ann, "online")
    clock.advance(61)  # the page is closed: nothing checks in any more
    assert await presence_of(ann) == "offline"


async def test_an_agent_sets_away_and_back_by_hand_and_the_team_sees_it(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    await inbox.add_agent("bob@example.com", "Bob", role="agent")
    bob = make_client()
    await bob.login("bob@example.com")
    async with event_stream(ann):
        status, body = await ann.call("PUT", "api/presence", {"status": "away"})
        assert status == 200 and (body["presence"], body["chosen_presence"]) == ("away", "away")

        status, listed = await bob.call("GET", "api/agents")
        assert status == 200
        team = {a["email"]: a for a in listed["agents"]}
        assert team["ann@example.com"]["presence"] == "away"
        assert team["bob@example.com"]["presence"] == "offline"  # Bob has no page open

        status, body = await ann.call("PUT", "api/presence", {"status": "online"})
        assert status == 200 and body["presence"] == "online"


@pytest.mark.parametrize("body", [{"status": "busy"}, {}, ["online"], None])
async def test_a_wrong_presence_is_refused_naming_what_is_allowed(
    ann: AgentClient, body: Any
) -> None:
    async with event_stream(ann):
        status, answer = await ann.call("PUT", "api/presence", body)
        assert status == 400
        assert "online, away, offline" in answer["error"]
        assert await presence_of(ann) == "online"  # processed, and nothing changed


async def test_presence_cannot_be_set_without_the_csrf_token(ann: AgentClient) -> None:
    async with event_stream(ann):
        status, _ = await ann.call("PUT", "api/presence", {"status": "offline"}, csrf="")
        assert status == 403
        assert await presence_of(ann) == "online"


async def test_idle_for_away_after_is_away_until_the_page_sees_a_click(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    async with event_stream(ann):
        for _ in range(11):  # ten minutes and more without a click; the page keeps checking in
            clock.advance(60)
            await until_presence(ann, "online" if _ < 10 else "away")
        status, body = await ann.call("POST", "api/presence/activity")
        assert status == 200 and body["presence"] == "online"


async def test_what_the_visitor_is_told_follows_who_is_online(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    async with event_stream(ann):
        reply = await escalate(inbox, "visitor-online")
        assert "Someone will reply here or at visitor-online@example.com" in reply
        assert reply.endswith("You are number 1 in line.")
        status, waiting = await ann.call("GET", "api/conversations?status=waiting")
        first = waiting["conversations"][0]["id"]
        status, _ = await ann.call("POST", f"api/conversations/{first}/messages", {"text": "Hi"})
        assert status == 201
        status, listed = await ann.call("GET", "api/agents")
        assert listed["agents"][0]["live_chats"] == 1
    clock.advance(61)
    reply = await escalate(inbox, "visitor-nobody")
    assert "Nobody is online right now" in reply and "in line" not in reply


async def test_team_desk_settings_are_validated_and_saved(ann: AgentClient) -> None:
    for body, field in [
        ({"routing": {"max_live_chats": "0"}}, "routing.max_live_chats"),
        ({"routing": {"unanswered_after": "soon"}}, "routing.unanswered_after"),
        ({"presence": {"away_after": -1}}, "presence.away_after"),
        ({"livechat": {"idle_close_after": True}}, "livechat.idle_close_after"),
        ({"livechat": {"session_secret": "x" * 20}}, "livechat.session_secret"),
    ]:
        status, answer = await ann.call("PUT", "api/settings", body)
        assert status == 400, body
        assert answer["field"] == field, answer
    status, saved = await ann.call(
        "PUT",
        "api/settings",
        {
            "routing": {"auto_assign": True, "max_live_chats": "2", "unanswered_after": 5},
            "presence": {"away_after": "15"},
            "livechat": {"idle_close_after": 45},
        },
    )
    assert status == 200, saved
    assert saved["routing"] == {
        "auto_assign": True,
        "max_live_chats": 2,
        "unanswered_after": 5,
        "abandon_after": 24,
    }
    assert saved["presence"] == {"away_after": 15}
    assert saved["livechat"] == {"idle_close_after": 45, "csat": True, "transcript_email": False}
