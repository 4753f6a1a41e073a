"""Attacks on a running Rasa server (trained model, livechat + REST + inbox channels, Rasa's HTTP
API on): knowing a visitor's sender id opens nothing on another channel, and while an agent is
in live chat no other path makes the bot speak to the visitor."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from rasa.shared.core.events import UserUttered

from handoff_plugin.livechat.broker import ConversationEvent, Subscription
from handoff_plugin.models import AgentRef
from handoff_plugin.store.queries.conversations import ConversationQueries
from tests.integration.livechat.harness import RunningServer, rest_say, visitor
from tests.integration.livechat.test_visitor_chat import conversation_of, go_live, transcript

pytestmark = pytest.mark.slow

ANN = AgentRef("agent-ann", "Ann")


class AgentStream:
    """What the agents' inbox is told, in order (the broker the inbox's SSE stream reads)."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self._events = subscription.__aiter__()

    async def until(self, found: Callable[[ConversationEvent], bool]) -> list[ConversationEvent]:
        """Every event up to and including the first that is `found`."""
        seen: list[ConversationEvent] = []
        while True:
            event = await asyncio.wait_for(self._events.__anext__(), 20)
            seen.append(event)
            if found(event):
                return seen


@pytest.fixture
async def agents(livechat_server: RunningServer) -> AsyncIterator[AgentStream]:
    subscription = livechat_server.livechat.broker.subscribe()
    yield AgentStream(subscription)
    await subscription.close()


def visitor_said(sender_id: str, text: str) -> Callable[[ConversationEvent], bool]:
    def found(event: ConversationEvent) -> bool:
        message = event.message
        return event.sender_id == sender_id and message is not None and message.text == text

    return found


async def api_post(server: RunningServer, path: str, body: Any) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}{path}", json=body) as resp:
            assert resp.status == 200, await resp.text()
            result: dict[str, Any] = await resp.json()
            return result


async def test_a_rest_message_naming_a_widget_visitor_is_refused(
    livechat_server: RunningServer, agents: AgentStream
) -> None:
    store = livechat_server.services.store
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        conversation_id = await go_live(livechat_server, tab)

        await tab.say("my order is late")  # the widget's own message reaches the agent
        await agents.until(visitor_said(tab.sender_id, "my order is late"))
        assert (await transcript(store, conversation_id))[-1] == ("visitor", "my order is late")

        assert await rest_say(livechat_server.url, tab.sender_id, "injected via REST") == []
        await tab.say("still there?")  # processed after the REST message
        seen = await agents.until(visitor_said(tab.sender_id, "still there?"))
        assert not any(e.message and e.message.text == "injected via REST" for e in seen)
        kept = await transcript(store, conversation_id)
        assert ("visitor", "injected via REST") not in kept
        assert kept[-1] == ("visitor", "still there?")
        assert await tab.bot_messages_within() == []

        await livechat_server.livechat.end_live_chat(conversation_id, ANN)
        await tab.texts_until_quiet()
        # Not live any more: REST still cannot talk as the widget visitor, nor read the bot.
        before = len(await transcript(store, conversation_id))
        assert await rest_say(livechat_server.url, tab.sender_id, "hello") == []
        await tab.say("what are your opening hours?")
        assert any("Monday to Friday" in t for t in await tab.texts_until_quiet())
        since = (await transcript(store, conversation_id))[before:]
        assert since[0] == ("visitor", "what are your opening hours?")
        assert ("visitor", "hello") not in since


async def test_rasas_api_cannot_make_the_bot_speak_during_live_chat(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        conversation_id = await go_live(livechat_server, tab)
        path = f"/conversations/{tab.sender_id}"

        await api_post(
            livechat_server,
            f"{path}/tracker/events?execute_side_effects=true&output_channel=livechat",
            [{"event": "bot", "text": "a bot message from the API"}],
        )
        await api_post(
            livechat_server, f"{path}/execute?output_channel=livechat", {"name": "utter_greet"}
        )
        await api_post(
            livechat_server, f"{path}/trigger_intent?output_channel=livechat", {"name": "greet"}
        )

        # The socket is alive: the agent's next message is the first thing it receives.
        await livechat_server.livechat.send_agent_message(conversation_id, ANN, "Ann again.")
        assert await tab.texts_until_quiet() == ["Ann again."]
        texts = [
            text for _, text in await transcript(livechat_server.services.store, conversation_id)
        ]
        assert "a bot message from the API" not in texts


async def test_the_api_reaches_the_visitor_again_after_live_chat(
    livechat_server: RunningServer,
) -> None:
    """The same call that was muted during live chat is delivered when the bot answers."""
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        await api_post(
            livechat_server,
            f"/conversations/{tab.sender_id}/tracker/events"
            "?execute_side_effects=true&output_channel=livechat",
            [{"event": "bot", "text": "a bot message from the API"}],
        )
        assert await tab.texts_until_quiet() == ["a bot message from the API"]


async def test_a_conversation_started_on_rest_pauses_and_resumes_on_rest(
    livechat_server: RunningServer,
) -> None:
    sender = f"rest-{uuid.uuid4().hex}"
    url = livechat_server.url
    assert any(
        "Hi! I'm the assistant" in m.get("text", "") for m in await rest_say(url, sender, "hello")
    )
    conversation = await conversation_of(livechat_server.services.store, sender)
    assert conversation.channel == "rest"

    await livechat_server.livechat.send_agent_message(conversation.id, ANN, "Ann here.")
    assert await rest_say(url, sender, "what are your opening hours?") == []
    kept = await transcript(livechat_server.services.store, conversation.id)
    assert kept[-1] == ("visitor", "what are your opening hours?")

    await livechat_server.livechat.end_live_chat(conversation.id, ANN)
    answer = await rest_say(url, sender, "what are your opening hours?")
    assert any("Monday to Friday" in m.get("text", "") for m in answer)


async def test_an_oversized_rest_message_is_refused_and_not_stored(
    livechat_server: RunningServer,
) -> None:
    sender = f"rest-{uuid.uuid4().hex}"
    url = livechat_server.url
    assert await rest_say(url, sender, "hello") != []
    conversation = await conversation_of(livechat_server.services.store, sender)
    before = await transcript(livechat_server.services.store, conversation.id)

    assert await rest_say(url, sender, "x" * 2001) == []  # livechat.max_message_length: 2000
    assert await transcript(livechat_server.services.store, conversation.id) == before
    tracker = await livechat_server.app.ctx.agent.tracker_store.retrieve(sender)
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hello"]
    assert await rest_say(url, sender, "hello") != []  # the next normal message is answered

    stranger = f"rest-{uuid.uuid4().hex}"
    assert await rest_say(url, stranger, "y" * 5000) == []
    async with livechat_server.services.store.transaction() as tx:
        assert await ConversationQueries(tx).conversation_by_sender(stranger) is None
