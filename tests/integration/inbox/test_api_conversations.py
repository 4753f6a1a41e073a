"""The conversation list and view, replying (which starts live chat) and End Live Chat."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from handoff_plugin.livechat.service import Pause, Resume, Said
from handoff_plugin.models import Trigger
from handoff_plugin.rasa_bridge.transcript import RasaTranscript
from handoff_plugin.store.queries.conversations import ConversationQueries
from tests.conftest import FakeClock
from tests.integration.inbox.conftest import AgentClient, InboxServer


async def listing(client: AgentClient, query: str = "") -> dict[str, Any]:
    status, body = await client.call("GET", f"api/conversations{query}")
    assert status == 200, body
    return body


def titles(body: dict[str, Any]) -> list[str]:
    return [c["title"] for c in body["conversations"]]


async def test_the_list_shows_newest_activity_first_with_tabs_for_waiting_and_live(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    await inbox.livechat.record_visitor_message("bot-only", "what are your hours?", None, "rest")
    clock.advance(60)
    zoe = await inbox.escalate("zoe", email="zoe@example.com", first_name="Zoe")
    clock.advance(60)
    max_ = await inbox.escalate("max", email="max@example.com", first_name="Max")
    clock.advance(60)
    await ann.call("POST", f"api/conversations/{zoe.id}/messages", {"text": "Hi Zoe"})

    everything = await listing(ann, "?status=all")
    assert titles(everything) == ["Zoe", "Max", "Visitor (conversation #1)"]
    assert titles(await listing(ann, "?status=waiting")) == ["Max"]
    assert titles(await listing(ann, "?status=live")) == ["Zoe"]
    assert everything["counts"] == {"waiting": 1, "live": 1, "mine": 1}  # Ann answered Zoe
    first = everything["conversations"][1]
    assert first["id"] == max_.id
    assert first["state"] == "escalated"
    assert first["visitor"] == {"id": 2, "email": "max@example.com", "name": "Max"}
    assert first["last_message"] == "I want to talk to a human"


async def test_search_finds_conversations_by_email_name_or_message_text(
    inbox: InboxServer, ann: AgentClient
) -> None:
    await inbox.escalate("a", email="zoe@example.com", first_name="Zoe", last_name="Quinn")
    await inbox.escalate("b", email="max@shop.test", first_name="Max")
    await inbox.livechat.record_visitor_message("c", "My parcel 50% never arrived", None, "rest")
    assert titles(await listing(ann, "?q=shop.test")) == ["Max"]
    assert titles(await listing(ann, "?q=zoe%20quinn")) == ["Zoe Quinn"]
    assert titles(await listing(ann, "?q=QUINN")) == ["Zoe Quinn"]
    anonymous = "Visitor (conversation #3)"  # no visitor record: it never escalated
    assert titles(await listing(ann, "?q=parcel")) == [anonymous]
    assert titles(await listing(ann, "?q=50%25")) == [anonymous]  # % is a character here
    assert titles(await listing(ann, "?q=5_%25")) == []
    assert titles(await listing(ann, "?q=parcel&status=waiting")) == []
    assert titles(await listing(ann, "?q=50")) == [anonymous]  # short: no index, a scan
    assert titles(await listing(ann, "?q=%22never%22")) == []  # quotes are text, not syntax


async def test_pages_follow_each_other_without_gaps_or_repeats(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    for index in range(7):
        await inbox.livechat.record_visitor_message(f"v{index}", f"hello {index}", None, "rest")
        if index % 2:
            clock.advance(1)  # some conversations share a timestamp: the id breaks the tie
    seen: list[int] = []
    cursor = ""
    while True:
        body = await listing(ann, f"?limit=3{cursor}")
        seen += [c["id"] for c in body["conversations"]]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert seen == [7, 6, 5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("?status=closed", "status must be waiting, live, mine or all"),
        ("?cursor=bm9wZQ", "cursor is not one this server returned"),
        ("?limit=0", "limit must be a number from 1 to 200"),
        ("?limit=x", "limit must be a number from 1 to 200"),
        ("?q=" + "x" * 201, "the search is longer than 200 characters"),
    ],
)
async def test_a_bad_list_query_is_refused_with_the_reason(
    ann: AgentClient, query: str, reason: str
) -> None:
    status, body = await ann.call("GET", f"api/conversations{query}")
    assert status == 400
    assert reason in body["error"]


async def test_unread_markers_are_per_agent(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    conversation = await inbox.escalate("zoe", first_name="Zoe")
    await inbox.add_agent("bob@example.com", "Bob")
    bob = make_client()
    await bob.login("bob@example.com")
    assert (await listing(ann))["conversations"][0]["unread"] is True
    await ann.call("GET", f"api/conversations/{conversation.id}")
    assert (await listing(ann))["conversations"][0]["unread"] is False
    assert (await listing(bob))["conversations"][0]["unread"] is True
    await inbox.livechat.record_visitor_message("zoe", "are you there?", None, "rest")
    assert (await listing(ann))["conversations"][0]["unread"] is True


async def test_the_conversation_view_has_the_whole_transcript_and_the_visitor(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    await inbox.livechat.record_visitor_message("zoe", "hello", None, "livechat")
    clock.advance(1)
    await inbox.livechat.record_bot_message("zoe", {"text": "Hi! How can I help?"}, "livechat")
    clock.advance(1)
    conversation = await inbox.escalate(
        "zoe",
        "a person please",
        email="zoe@example.com",
        first_name="Zoe",
        last_name="Quinn",
        channel="livechat",
    )
    clock.advance(1)
    await inbox.livechat.record_bot_message(
        "zoe", {"text": "Thanks! I've passed it on."}, "livechat"
    )
    clock.advance(1)
    await ann.call("POST", f"api/conversations/{conversation.id}/messages", {"text": "Ann here"})
    clock.advance(1)
    await inbox.livechat.record_visitor_message("zoe", "great", None, "livechat")
    clock.advance(1)
    await ann.call("POST", f"api/conversations/{conversation.id}/end")

    status, body = await ann.call("GET", f"api/conversations/{conversation.id}")
    assert status == 200
    assert body["conversation"]["state"] == "bot"
    assert body["conversation"]["title"] == "Zoe Quinn"
    shown = [
        (item["type"], item.get("author"), item.get("text") or item.get("agent"))
        for item in body["timeline"]
    ]
    assert shown == [
        ("message", "visitor", "hello"),
        ("message", "bot", "Hi! How can I help?"),
        ("message", "visitor", "a person please"),
        ("escalation", None, None),
        ("message", "bot", "Thanks! I've passed it on."),
        ("live.started", None, "Ann"),
        ("message", "system", "Ann from our team has joined the chat."),
        ("message", "agent", "Ann here"),
        ("message", "visitor", "great"),
        ("live.ended", None, "Ann"),
        ("message", "system", "Ann has left the chat. You're back with Test Bot."),
        ("message", "system", "How did we do? Please rate this chat."),  # livechat.csat
    ]
    escalation = body["timeline"][3]
    assert escalation["trigger"] == "intent"
    assert escalation["message"] == "a person please"
    assert body["timeline"][7]["agent"] == {"id": "1", "name": "Ann"}
    assert body["visitor"]["email"] == "zoe@example.com"
    assert body["conversation"]["channel"] == "livechat"
    assert body["first_seen"] == "2026-02-09T12:00:00+00:00"
    assert [e["status"] for e in body["visitor_escalations"]] == ["closed"]


async def test_a_long_transcript_comes_newest_first_in_pages_that_join_without_gaps(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    for n in range(4):
        await inbox.livechat.record_visitor_message("zoe", f"visitor {n}", None, "livechat")
        clock.advance(1)
    conversation = await inbox.escalate(
        "zoe", "a person please", first_name="Zoe", channel="livechat"
    )
    for n in range(4):
        clock.advance(1)
        await inbox.livechat.record_bot_message("zoe", {"text": f"bot {n}"}, "livechat")
    url = f"api/conversations/{conversation.id}"
    _, whole = await ann.call("GET", url)
    assert whole["older"] is None and len(whole["timeline"]) == 10  # 9 messages + the escalation

    status, page = await ann.call("GET", f"{url}?limit=3")
    assert status == 200
    assert [i.get("text") for i in page["timeline"]] == ["bot 1", "bot 2", "bot 3"]
    pages = [page["timeline"]]
    while page["older"]:
        _, page = await ann.call("GET", f"{url}?limit=3&before_seq={page['older']['before_seq']}")
        pages.insert(0, page["timeline"])
    assert [item for p in pages for item in p] == whole["timeline"]


@pytest.mark.parametrize(
    ("query", "reason"),
    [("?limit=0", "limit"), ("?limit=x", "limit"), ("?before_seq=-1", "before_seq")],
)
async def test_a_bad_transcript_page_is_refused_with_the_reason(
    inbox: InboxServer, ann: AgentClient, query: str, reason: str
) -> None:
    conversation = await inbox.escalate("zoe", "a person please")
    status, body = await ann.call("GET", f"api/conversations/{conversation.id}{query}")
    assert status == 400 and reason in body["error"]


async def test_the_visitor_panel_lists_escalations_from_earlier_conversations(
    inbox: InboxServer, ann: AgentClient, clock: FakeClock
) -> None:
    first = await inbox.escalate("morning", "refund please", email="zoe@example.com")
    clock.advance(3 * 3600)
    second = await inbox.escalate(
        "afternoon", "/human_handoff", email="zoe@example.com", trigger=Trigger.PAYLOAD
    )
    status, body = await ann.call("GET", f"api/conversations/{second.id}")
    assert status == 200, body
    earlier = [
        (e["conversation_id"], e["trigger"], e["message"]) for e in body["visitor_escalations"]
    ]
    assert earlier == [
        (second.id, "payload", "/human_handoff"),
        (first.id, "intent", "refund please"),
    ]


@pytest.mark.parametrize("ident", ["999", "99999999999"])
async def test_an_unknown_conversation_is_not_found(ann: AgentClient, ident: str) -> None:
    for method, path, body in [
        ("GET", f"api/conversations/{ident}", None),
        ("POST", f"api/conversations/{ident}/messages", {"text": "hi"}),
        ("POST", f"api/conversations/{ident}/end", None),
    ]:
        status, answer = await ann.call(method, path, body)
        assert status == 404, (method, path)
        assert "does not exist" in answer["error"]


async def test_replying_starts_live_chat_and_the_visitor_is_told_who_joined(
    inbox: InboxServer, ann: AgentClient
) -> None:
    conversation = await inbox.escalate("zoe")
    status, body = await ann.call(
        "POST", f"api/conversations/{conversation.id}/messages", {"text": "  Hi, Ann here. "}
    )
    assert status == 201
    assert body["state"] == "live"
    assert body["message"]["text"] == "Hi, Ann here."
    assert body["message"]["agent"] == {"id": "1", "name": "Ann"}
    assert inbox.transcript.events["zoe"] == [
        Pause(),
        Said(
            "Ann from our team has joined the chat.",
            {"handoff": {"author": "system", "seq": 2}},
        ),
        Said(
            "Hi, Ann here.",
            {"handoff": {"author": "agent", "seq": 3, "agent": {"id": "1", "name": "Ann"}}},
        ),
    ]
    status, _ = await ann.call(
        "POST", f"api/conversations/{conversation.id}/messages", {"text": "Still here"}
    )
    assert status == 201
    assert len(inbox.transcript.events["zoe"]) == 3  # no second "joined"; the rest at the end


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"text": "   "}, "empty"),
        ({"text": "x" * 2001}, "longer than livechat.max_message_length"),
        ({"text": 5}, "as a string"),
        ({}, "as a string"),
        (["hi"], 'send {"text": "..."}'),
    ],
)
async def test_a_bad_reply_is_refused_and_nothing_changes(
    inbox: InboxServer, ann: AgentClient, body: Any, reason: str
) -> None:
    conversation = await inbox.escalate("zoe")
    status, answer = await ann.call("POST", f"api/conversations/{conversation.id}/messages", body)
    assert status == 400
    assert reason in answer["error"]
    assert "zoe" not in inbox.transcript.events
    async with inbox.store.transaction() as tx:
        assert (
            await ConversationQueries(tx).conversation(conversation.id)
        ).state.value == "escalated"  # type: ignore[union-attr]


async def test_a_reply_while_the_rasa_agent_is_loading_asks_to_retry_and_nothing_changes(
    inbox: InboxServer, ann: AgentClient
) -> None:
    conversation = await inbox.escalate("zoe")
    inbox.livechat.transcript = RasaTranscript(lambda: None)  # Rasa has not loaded a model yet
    status, answer = await ann.call(
        "POST", f"api/conversations/{conversation.id}/messages", {"text": "Hi"}
    )
    assert status == 503
    assert "not loaded yet; try again" in answer["error"]
    async with inbox.store.transaction() as tx:
        after = await ConversationQueries(tx).conversation(conversation.id)
    assert after is not None and after.state.value == "escalated"


async def test_a_reply_that_is_not_json_is_refused(inbox: InboxServer, ann: AgentClient) -> None:
    conversation = await inbox.escalate("zoe")
    async with ann.http.post(
        f"{ann.base}/api/conversations/{conversation.id}/messages",
        data=b"{not json",
        headers={"X-CSRF-Token": ann.csrf, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "the request body is not valid JSON"


async def test_end_live_chat_hands_the_conversation_back_to_the_bot(
    inbox: InboxServer, ann: AgentClient
) -> None:
    conversation = await inbox.escalate("zoe")
    await ann.call("POST", f"api/conversations/{conversation.id}/messages", {"text": "Hi"})
    status, body = await ann.call("POST", f"api/conversations/{conversation.id}/end")
    assert (status, body) == (200, {"ended": True, "state": "bot"})
    assert inbox.transcript.events["zoe"][-2:] == [
        Said(
            "Ann has left the chat. You're back with Test Bot.",
            {"handoff": {"author": "system", "seq": 4}},
        ),
        Resume(),
    ]
    assert (await listing(ann, "?status=live"))["conversations"] == []
    status, body = await ann.call("POST", f"api/conversations/{conversation.id}/end")
    assert (status, body) == (
        409,
        {"error": f"Conversation {conversation.id} is not in live chat."},
    )


async def test_two_agents_see_each_others_replies(
    inbox: InboxServer, ann: AgentClient, make_client: Callable[[], AgentClient]
) -> None:
    conversation = await inbox.escalate("zoe")
    await inbox.add_agent("bob@example.com", "Bob")
    bob = make_client()
    await bob.login("bob@example.com")
    await ann.call("POST", f"api/conversations/{conversation.id}/messages", {"text": "Ann here"})
    status, refused = await bob.call(  # Ann handles it now: Bob must take it over first
        "POST", f"api/conversations/{conversation.id}/messages", {"text": "Bob too"}
    )
    assert status == 409, refused
    assert refused["assignee"]["name"] == "Ann"
    status, _ = await bob.call(
        "POST", f"api/conversations/{conversation.id}/claim", {"take_over": True}
    )
    assert status == 200
    await bob.call("POST", f"api/conversations/{conversation.id}/messages", {"text": "Bob too"})
    _, body = await ann.call("GET", f"api/conversations/{conversation.id}")
    agents = [item["agent"]["name"] for item in body["timeline"] if item.get("author") == "agent"]
    assert agents == ["Ann", "Bob"]
    starts = [item for item in body["timeline"] if item["type"] == "live.started"]
    assert [s["agent"] for s in starts] == ["Ann"]
