"""A visitor in rasa-webchat (socket.io, polling) talks to the bot, to an agent, and to the bot
again: the trained model, the real action server, the livechat channel in a real Rasa server."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Restarted,
    SessionStarted,
    UserUttered,
)

from handoff_plugin.models import AgentRef, Author, ConversationState
from handoff_plugin.store import Store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.livechat import LiveChatQueries
from handoff_plugin.store.tables import conversations
from tests.integration.livechat.harness import RunningServer, rest_say, visitor

pytestmark = pytest.mark.slow

ANN = AgentRef("agent-ann", "Ann")


async def conversation_of(store: Store, sender_id: str) -> Any:
    async with store.transaction() as tx:
        return (
            await tx.conn.execute(
                sa.select(conversations).where(conversations.c.sender_id == sender_id)
            )
        ).one()


async def transcript(store: Store, conversation_id: int) -> list[tuple[str, str | None]]:
    async with store.transaction() as tx:
        messages = await LiveChatQueries(tx).messages_after(conversation_id, 0)
    return [(m.author.value, m.text) for m in messages]


async def tracker_of(server: RunningServer, sender_id: str) -> Any:
    return await server.app.ctx.agent.tracker_store.retrieve(sender_id)


async def go_live(server: RunningServer, tab: Any, text: str = "Hi, Ann here.") -> int:
    """The visitor has said something; an agent answers from the inbox."""
    conversation = await conversation_of(server.services.store, tab.sender_id)
    await server.livechat.send_agent_message(conversation.id, ANN, text)
    assert await tab.texts_until_quiet() == ["Ann from our team has joined the chat.", text]
    return int(conversation.id)


async def test_the_bot_answers_in_the_widgets_shapes(livechat_server: RunningServer) -> None:
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        greeting = await tab.next_bot()
        assert greeting["text"].startswith("Hi! I'm the assistant")
        assert set(greeting) == {"text", "metadata"}  # the widget shows it as plain text

        await tab.say("/nlu_fallback")  # the bot is unsure: it offers a person with buttons
        offer = await tab.next_bot()
        assert "Would you like to talk to a person" in offer["text"]
        assert [q["payload"] for q in offer["quick_replies"]] == ["/affirm", "/deny"]


async def test_asking_for_a_person_collects_the_email_and_confirms(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as tab:
        await tab.say("I want to talk to a human")
        assert any("What email address" in t for t in await tab.texts_until_quiet())
        await tab.say("ann@example.com")
        confirmed = await tab.texts_until_quiet()
        assert any("passed your request to our team" in t for t in confirmed)
        row = await conversation_of(livechat_server.services.store, tab.sender_id)
        assert row.state == ConversationState.ESCALATED.value
        assert row.channel == "livechat"


async def test_the_agents_first_message_reaches_the_visitor_after_a_joined_notice(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url, email="bo@example.com") as tab:
        await tab.say("get me a real person")
        assert any("passed your request" in t for t in await tab.texts_until_quiet())
        conversation_id = await go_live(livechat_server, tab, "Hello Bo, how can I help?")

        row = await conversation_of(livechat_server.services.store, tab.sender_id)
        assert row.state == ConversationState.LIVE.value
        tracker = await tracker_of(livechat_server, tab.sender_id)
        assert tracker.is_paused()
        agent_said = [e for e in tracker.events if isinstance(e, BotUttered)][-1]
        assert agent_said.text == "Hello Bo, how can I help?"
        assert agent_said.metadata["handoff"]["agent"] == {"id": "agent-ann", "name": "Ann"}
        assert conversation_id == row.id


async def test_during_live_chat_the_bot_says_nothing_and_every_message_is_kept(
    livechat_server: RunningServer,
) -> None:
    inbox = livechat_server.livechat.broker.subscribe()
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        conversation_id = await go_live(livechat_server, tab)

        said = ["my parcel never arrived", "hello", "/restart", "/human_handoff"]
        for text in said:
            await tab.say(text)
        # Sent at once, they queue on the tracker lock (which Rasa polls once a second).
        await livechat_server.handled(tab.sender_id, *said, timeout=20)
        assert await tab.bot_messages_within() == []
        kept = await transcript(livechat_server.services.store, conversation_id)
        assert kept[-4:] == [("visitor", text) for text in said]
        tracker = await tracker_of(livechat_server, tab.sender_id)
        assert tracker.is_paused()
        assert not any(isinstance(e, Restarted) for e in tracker.events)

        # The tracker gets the live chat's lines, in order and unparsed, when it ends.
        assert await livechat_server.livechat.end_live_chat(conversation_id, ANN)
        await tab.texts_until_quiet()
        tracker = await tracker_of(livechat_server, tab.sender_id)
        events = list(tracker.events)
        paused = max(i for i, e in enumerate(events) if isinstance(e, ConversationPaused))
        resumed = max(i for i, e in enumerate(events) if isinstance(e, ConversationResumed))
        heard = [e for e in events[paused:resumed] if isinstance(e, UserUttered)]
        assert [e.text for e in heard] == said
        assert all(e.intent_name is None and e.input_channel == "livechat" for e in heard)
        assert not any(isinstance(e, Restarted) for e in tracker.events)
    await inbox.close()
    published = [
        (e.message.author, e.message.text)
        async for e in inbox
        if e.kind == "message.created" and e.conversation_id == conversation_id and e.message
    ]
    assert (Author.VISITOR, "my parcel never arrived") in published
    assert (Author.VISITOR, "/restart") in published


async def test_during_live_chat_rest_messages_naming_the_visitor_are_refused_and_the_bot_is_silent(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        conversation_id = await go_live(livechat_server, tab)
        before = await transcript(livechat_server.services.store, conversation_id)

        assert (
            await rest_say(livechat_server.url, tab.sender_id, "what are your opening hours?") == []
        )
        assert await rest_say(livechat_server.url, tab.sender_id, "/restart") == []
        # Bound to the widget's channel: REST cannot write into it (tests/security/test_channel_binding.py).
        await tab.say("still there?")
        await livechat_server.handled(tab.sender_id, "still there?")
        assert await tab.bot_messages_within() == []
        kept = await transcript(livechat_server.services.store, conversation_id)
        assert kept == [*before, ("visitor", "still there?")]

        # Another sender on REST is answered as usual: the pause is per conversation.
        assert await rest_say(livechat_server.url, f"rest-{tab.sender_id}", "hello") != []


async def test_a_session_expiring_during_live_chat_does_not_wake_the_bot(
    livechat_server: RunningServer,
) -> None:
    agent = livechat_server.app.ctx.agent
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        await go_live(livechat_server, tab)

        tracker = await tracker_of(livechat_server, tab.sender_id)
        for event in tracker.events:  # the visitor went quiet for two hours (sessions: 60 min)
            event.timestamp -= 2 * 3600
        await agent.tracker_store.save(tracker)

        await tab.say("are you still there?")
        await livechat_server.handled(tab.sender_id, "are you still there?")
        assert await tab.bot_messages_within() == []
        tracker = await tracker_of(livechat_server, tab.sender_id)
        assert tracker.is_paused()
        assert sum(isinstance(e, SessionStarted) for e in tracker.events) == 1


async def test_after_end_the_bot_answers_again_with_the_whole_history(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        conversation_id = await go_live(livechat_server, tab)
        await tab.say("thanks, that solved it")
        await livechat_server.handled(tab.sender_id, "thanks, that solved it")
        assert await tab.bot_messages_within() == []

        assert await livechat_server.livechat.end_live_chat(conversation_id, ANN)
        assert await tab.texts_until_quiet() == [
            "Ann has left the chat. You're back with Test Bot."
        ]

        await tab.say("what are your opening hours?")
        assert any("Monday to Friday" in t for t in await tab.texts_until_quiet())

        row = await conversation_of(livechat_server.services.store, tab.sender_id)
        assert row.state == ConversationState.BOT.value
        tracker = await tracker_of(livechat_server, tab.sender_id)
        assert not tracker.is_paused()
        texts = [e.text for e in tracker.events if isinstance(e, UserUttered | BotUttered)]
        assert texts[0] == "hello"
        assert "thanks, that solved it" in texts
        assert "Ann has left the chat. You're back with Test Bot." in texts
        assert isinstance(
            [e for e in tracker.events if isinstance(e, ActionExecuted)][-1], ActionExecuted
        )
        kept = await transcript(livechat_server.services.store, conversation_id)
        assert kept[-2][0] == "visitor" and kept[-1][0] == "bot"


async def test_ending_live_chat_closes_the_escalation(livechat_server: RunningServer) -> None:
    async with visitor(livechat_server.url, email="cy@example.com") as tab:
        await tab.say("I need a human")
        await tab.texts_until_quiet()
        conversation_id = await go_live(livechat_server, tab)
        await livechat_server.livechat.end_live_chat(conversation_id, ANN)
        await tab.texts_until_quiet()
        async with livechat_server.services.store.transaction() as tx:
            assert await ConversationQueries(tx).open_escalation(conversation_id) is None
        # A new request for a person escalates afresh.
        await tab.say("I need a human again")
        assert any("passed your request" in t for t in await tab.texts_until_quiet())


async def trigger_intent(server: RunningServer, sender_id: str, intent: str) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/conversations/{sender_id}/trigger_intent?output_channel=latest",
            json={"name": intent},
        ) as resp:
            return resp.status


async def test_bot_messages_triggered_from_outside_reach_the_widget_but_not_during_live_chat(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        assert await trigger_intent(livechat_server, tab.sender_id, "faq_opening_hours") == 200
        assert any("Monday to Friday" in t for t in await tab.texts_until_quiet())

        await go_live(livechat_server, tab)
        # Rasa answers /trigger_intent once the turn is over: a bot message would already be
        # on its way to the widget.
        assert await trigger_intent(livechat_server, tab.sender_id, "faq_opening_hours") == 200
        assert await tab.bot_messages_within() == []
