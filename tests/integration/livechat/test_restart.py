"""Live-chat state is in the database: a restarted server keeps a live chat live."""

from __future__ import annotations

import pytest

from handoff_plugin.models import AgentRef
from tests.integration.conftest import ActionServer, server_layers
from tests.integration.livechat.harness import RunningServer, WebchatVisitor, rest_say
from tests.integration.livechat.test_visitor_chat import go_live

pytestmark = pytest.mark.slow

ANN = AgentRef("agent-ann", "Ann")


async def test_a_restarted_server_keeps_a_live_chat_live(
    livechat_server: RunningServer, action_server: ActionServer
) -> None:
    tab = WebchatVisitor(livechat_server.url)
    token = await tab.connect()
    await tab.say("hello")
    await tab.texts_until_quiet()
    conversation_id = await go_live(livechat_server, tab)
    await tab.disconnect()

    await livechat_server.restart(server_layers(action_server))

    back = WebchatVisitor(livechat_server.url)
    assert await back.connect(session_id=token) == token
    await back.say("hello, are you still there?")
    await livechat_server.handled(back.sender_id, "hello, are you still there?")
    assert await back.bot_messages_within() == []
    # REST cannot speak for a widget visitor (conversations are bound to their channel).
    assert await rest_say(livechat_server.url, back.sender_id, "hello") == []
    await back.say("anyone?")
    await livechat_server.handled(back.sender_id, "hello, are you still there?", "anyone?")
    assert await back.bot_messages_within() == []
    await livechat_server.livechat.send_agent_message(conversation_id, ANN, "Still here!")
    assert await back.texts_until_quiet() == ["Still here!"]
    await livechat_server.livechat.end_live_chat(conversation_id, ANN)
    await back.texts_until_quiet()
    await back.say("hello")
    assert (await back.next_bot())["text"].startswith("Hi! I'm the assistant")
    await back.disconnect()
