"""Satisfaction (CSAT) through the trained bot: after End Live Chat the visitor in rasa-webchat's
protocol is asked once "How did we do?", answers with a button (a payload the bot never sees),
may add a comment, and the Escalations page (JSON and CSV) shows the average per day and agent."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from handoff_plugin.inbox.agents import AgentService
from tests.integration.inbox.conftest import AgentClient
from tests.integration.livechat.harness import RunningServer, WebchatVisitor, visitor
from tests.integration.livechat.test_typing import escalate

pytestmark = pytest.mark.slow

PASSWORD = "inbox browser test password"  # the browser tests log in with it
RATINGS = ["Very poor", "Poor", "Okay", "Good", "Excellent"]


@pytest.fixture
async def gus(livechat_server: RunningServer) -> AsyncIterator[AgentClient]:
    """Agent Gus (an admin: he exports the CSV), logged in."""
    service = AgentService(livechat_server.services.store)
    if "gus.csat@example.com" not in {a.email for a in await service.all()}:
        await service.add("gus.csat@example.com", "Gus", PASSWORD, "admin")
    client = AgentClient(f"{livechat_server.url}/webhooks/inbox")
    await client.login("gus.csat@example.com", PASSWORD)
    yield client
    await client.call("PUT", "api/presence", {"status": "offline"})  # others' tests: nobody on
    await client.close()


async def live_chat_then_end(tab: WebchatVisitor, agent: AgentClient, conversation: int) -> None:
    status, _ = await agent.call(
        "POST", f"api/conversations/{conversation}/messages", {"text": "Gus here, sorted!"}
    )
    assert status == 201
    assert await tab.texts_until_quiet() == [
        "Gus from our team has joined the chat.",
        "Gus here, sorted!",
    ]
    status, _ = await agent.call("POST", f"api/conversations/{conversation}/end")
    assert status == 200


async def question(tab: WebchatVisitor) -> dict[str, Any]:
    left = await tab.next_bot()
    assert left["text"] == "Gus has left the chat. You're back with Test Bot."
    asked = await tab.next_bot()
    assert asked["text"] == "How did we do? Please rate this chat."
    return asked


async def test_the_visitor_rates_the_chat_and_comments_and_the_team_sees_it(
    livechat_server: RunningServer, gus: AgentClient
) -> None:
    async with visitor(livechat_server.url, language="en") as tab:
        conversation = await escalate(tab, gus, "csat.visitor1@example.com")
        await live_chat_then_end(tab, gus, conversation)
        asked = await question(tab)
        assert [(q["title"], q["payload"]) for q in asked["quick_replies"]] == [
            (title, f"/handoff_csat_{n}") for n, title in enumerate(RATINGS, start=1)
        ]

        await tab.say("/handoff_csat_4")  # the widget sends the button's payload
        assert await tab.texts_until_quiet() == [
            "Thank you for your rating! If you'd like to tell us more, just write it in your "
            "next message."
        ]  # and nothing from the bot: its NLU never saw the payload
        await tab.say("Quick and friendly, thanks")
        assert await tab.texts_until_quiet() == [
            "Thanks, we've passed your comment on to the team."
        ]
        # Back to normal: the bot answers the next message.
        await tab.say("what are your opening hours?")
        assert any("Monday to Friday" in t for t in await tab.texts_until_quiet())
        await livechat_server.handled(tab.sender_id, "what are your opening hours?")
        logged = await livechat_server.tracker_user_texts(tab.sender_id)
        assert "/handoff_csat_4" not in logged and "Quick and friendly, thanks" not in logged
        kept = await livechat_server.visitor_texts(tab.sender_id)
        assert kept[-3:] == ["Good (4/5)", "Quick and friendly, thanks", "what are your opening hours?"]

    status, review = await gus.call("GET", "api/escalations")
    assert status == 200
    csat = review["csat"]
    assert csat["count"] >= 1 and 1 <= csat["average"] <= 5
    mine = [a for a in csat["by_agent"] if a["agent"]["name"] == "Gus"]
    assert mine and mine[0]["count"] >= 1
    assert csat["by_day"] and csat["by_day"][0]["count"] >= 1
    async with gus.http.get(f"{gus.base}/api/escalations", params={"format": "csv"}) as response:
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    row = next(r for r in rows if r["visitor_email"] == "csat.visitor1@example.com")
    assert (row["csat_rating"], row["csat_comment"]) == ("4", "Quick and friendly, thanks")


async def test_a_visitor_who_ignores_the_question_is_not_asked_again(
    livechat_server: RunningServer, gus: AgentClient
) -> None:
    async with visitor(livechat_server.url, language="en") as tab:
        conversation = await escalate(tab, gus, "csat.visitor2@example.com")
        await live_chat_then_end(tab, gus, conversation)
        await question(tab)
        await tab.say("hello")  # not an answer: the bot answers it
        assert any("Hi! I'm the assistant" in t for t in await tab.texts_until_quiet())

        await live_chat_then_end(tab, gus, conversation)  # another live chat ends
        assert await tab.texts_until_quiet() == [
            "Gus has left the chat. You're back with Test Bot."
        ]  # and no second question
        await tab.say("/handoff_csat_5")  # a late click is taken by nobody, not even the bot
        await livechat_server.handled(tab.sender_id, "hello")
        assert await tab.bot_messages_within() == []
        assert "/handoff_csat_5" not in await livechat_server.tracker_user_texts(tab.sender_id)


async def test_the_question_is_localized_and_can_be_turned_off(
    livechat_server: RunningServer, gus: AgentClient
) -> None:
    async with visitor(livechat_server.url, language="de") as tab:
        await tab.say("I want to talk to a human")  # the reference bot's NLU is English
        assert any("E-Mail-Adresse" in t for t in await tab.texts_until_quiet())
        await tab.say("csat.visitor3@example.com")
        await tab.texts_until_quiet()
        status, page = await gus.call("GET", "api/conversations?q=csat.visitor3@example.com")
        conversation = page["conversations"][0]["id"]
        await gus.call(
            "POST", f"api/conversations/{conversation}/messages", {"text": "Hallo!"}
        )
        await tab.texts_until_quiet()
        await gus.call("POST", f"api/conversations/{conversation}/end")
        texts = await tab.texts_until_quiet()
        assert texts[-1] == "Wie war's? Bitte bewerte diesen Chat."

    status, _ = await gus.call("PUT", "api/settings", {"livechat": {"csat": False}})
    assert status == 200
    try:
        async with visitor(livechat_server.url, language="en") as tab:
            conversation = await escalate(tab, gus, "csat.visitor4@example.com")
            await live_chat_then_end(tab, gus, conversation)
            assert await tab.texts_until_quiet() == [
                "Gus has left the chat. You're back with Test Bot."
            ]
    finally:
        await gus.call("PUT", "api/settings", {"livechat": {"csat": True}})
