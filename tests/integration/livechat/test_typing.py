"""Typing both ways and who is talking, on real sockets: a visitor speaking rasa-webchat's
protocol escalates through the trained bot; an agent answers through the inbox's JSON API and
watches its live stream (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from handoff_plugin.inbox.agents import AgentService
from tests.integration.inbox.conftest import AgentClient, event_stream
from tests.integration.livechat.harness import RunningServer, WebchatVisitor, visitor

pytestmark = pytest.mark.slow

PASSWORD = "typing test password"
AVATAR = "https://pictures.example.com/cleo.png"


@pytest.fixture
async def cleo(livechat_server: RunningServer) -> AsyncIterator[AgentClient]:
    """Agent Cleo, logged in, with a picture."""
    service = AgentService(livechat_server.services.store)
    if "cleo.typing@example.com" not in {a.email for a in await service.all()}:
        await service.add("cleo.typing@example.com", "Cleo", PASSWORD, "agent")
    client = AgentClient(f"{livechat_server.url}/webhooks/inbox")
    await client.login("cleo.typing@example.com", PASSWORD)
    status, body = await client.call("PUT", "api/profile", {"avatar_url": AVATAR})
    assert status == 200 and body["agent"]["avatar_url"] == AVATAR, body
    yield client
    await client.call("PUT", "api/presence", {"status": "offline"})  # others' tests: nobody on
    await client.close()


async def escalate(tab: WebchatVisitor, agent: AgentClient, email: str) -> int:
    """The visitor asks for a person through the bot; the conversation's id in the inbox."""
    await tab.say("I want to talk to a human")
    assert any("What email address" in t for t in await tab.texts_until_quiet())
    await tab.say(email)
    assert any("passed your request" in t for t in await tab.texts_until_quiet())
    status, page = await agent.call("GET", f"api/conversations?q={email}")
    assert status == 200 and page["conversations"], page
    return int(page["conversations"][0]["id"])


async def next_event(stream: asyncio.Queue[tuple[str, Any]], name: str) -> Any:
    while True:
        event, data = await asyncio.wait_for(stream.get(), 10)
        if event == name:
            return data


async def test_the_visitor_sees_who_is_typing_and_who_answers(
    livechat_server: RunningServer, cleo: AgentClient
) -> None:
    async with visitor(livechat_server.url) as tab:
        conversation = await escalate(tab, cleo, "typing.visitor1@example.com")

        status, body = await cleo.call(
            "POST", f"api/conversations/{conversation}/typing", {"typing": True}
        )
        assert (status, body) == (200, {"typing": True})
        typing = await asyncio.wait_for(tab.agent_typing.get(), 10)
        assert typing == {"name": "Cleo", "typing": True, "avatar_url": AVATAR}

        await cleo.call("POST", f"api/conversations/{conversation}/typing", {"typing": False})
        assert await asyncio.wait_for(tab.agent_typing.get(), 10) == {
            "name": "Cleo",
            "typing": False,
            "avatar_url": AVATAR,
        }

        status, _ = await cleo.call(
            "POST", f"api/conversations/{conversation}/messages", {"text": "Cleo here, hi!"}
        )
        assert status == 201
        joined, said = await tab.next_bot(), await tab.next_bot()
        assert joined["text"] == "Cleo from our team has joined the chat."  # plain widgets
        assert said["text"] == "Cleo here, hi!"
        assert set(said) == {"text", "metadata"}  # exactly what rasa-webchat shows as text
        assert said["metadata"]["author"] == "agent"
        assert said["metadata"]["agent_name"] == "Cleo"
        assert said["metadata"]["agent_avatar_url"] == AVATAR

    again = WebchatVisitor(livechat_server.url)  # a reload replays it the same way
    try:
        await again.connect(tab.session_id, last_seq=said["metadata"]["seq"] - 1)
        assert await again.next_bot() == said
    finally:
        await again.disconnect()


@pytest.fixture
def no_restart_wait(livechat_server: RunningServer) -> Iterator[None]:
    """A visitor's start right after a stop is passed on (in production: half a second later)."""
    runtime = livechat_server.channel._runtime
    assert runtime is not None
    wait, runtime.typing.restart = runtime.typing.restart, 0.0
    yield
    runtime.typing.restart = wait


async def test_the_agent_sees_the_visitor_typing_on_the_live_stream(
    livechat_server: RunningServer, cleo: AgentClient, no_restart_wait: None
) -> None:
    async with event_stream(cleo) as stream:
        async with visitor(livechat_server.url) as tab:
            conversation = await escalate(tab, cleo, "typing.visitor2@example.com")

            await tab.emit("user_typing", {"typing": True})
            assert await next_event(stream, "typing") == {
                "conversation_id": conversation,
                "typing": True,
                "agent": None,
            }
            await tab.emit("user_typing", {"typing": False})
            assert (await next_event(stream, "typing"))["typing"] is False

            # Junk is ignored, and the socket keeps working.
            for junk in (None, "yes", {"typing": "yes"}, {"typing": 1}, [True]):
                await tab.emit("user_typing", junk)
            await tab.emit("user_typing", {"typing": True})
            assert (await next_event(stream, "typing"))["typing"] is True
        # Leaving while typing clears the indicator.
        await livechat_server.noticed_gone(tab)
        assert (await next_event(stream, "typing")) == {
            "conversation_id": conversation,
            "typing": False,
            "agent": None,
        }


async def test_a_visitor_talking_to_the_bot_alone_tells_no_agent(
    livechat_server: RunningServer, cleo: AgentClient
) -> None:
    async with visitor(livechat_server.url) as tab, event_stream(cleo) as stream:
        await tab.say("hello")
        await tab.texts_until_quiet()
        await tab.emit("user_typing", {"typing": True})
        await tab.say("what are your opening hours?")
        await livechat_server.handled(tab.sender_id, "what are your opening hours?")
        seen = []
        while True:  # the visitor's message reached the stream after the typing was handled
            event, data = await asyncio.wait_for(stream.get(), 10)
            seen.append(event)
            if event == "message" and data["text"] == "what are your opening hours?":
                break
        assert "typing" not in seen


async def test_typing_is_refused_where_the_agent_may_not_answer(
    livechat_server: RunningServer, cleo: AgentClient
) -> None:
    service = AgentService(livechat_server.services.store)
    if "dan.typing@example.com" not in {a.email for a in await service.all()}:
        await service.add("dan.typing@example.com", "Dan", PASSWORD, "agent")
    dan = AgentClient(f"{livechat_server.url}/webhooks/inbox")
    await dan.login("dan.typing@example.com", PASSWORD)
    try:
        async with visitor(livechat_server.url) as tab:
            conversation = await escalate(tab, cleo, "typing.visitor3@example.com")
            await cleo.call("POST", f"api/conversations/{conversation}/messages", {"text": "Hi"})
            path = f"api/conversations/{conversation}/typing"

            status, body = await dan.call("POST", path, {"typing": True})
            assert status == 409 and body["assignee"]["name"] == "Cleo"  # Cleo's chat
            assert (await dan.call("POST", "api/conversations/999999/typing", {"typing": True}))[
                0
            ] == 404
            assert (await cleo.call("POST", path, {"typing": "yes"}))[0] == 400
            assert (await cleo.call("POST", path, {"typing": True}, csrf="wrong"))[0] == 403
            # Only Cleo's own report reached the visitor.
            status, _ = await cleo.call("POST", path, {"typing": True})
            assert status == 200
            assert (await asyncio.wait_for(tab.agent_typing.get(), 10))["name"] == "Cleo"
            assert tab.agent_typing.empty()
    finally:
        await dan.call("PUT", "api/presence", {"status": "offline"})
        await dan.close()


async def test_an_avatar_must_be_an_http_url(cleo: AgentClient) -> None:
    for bad in ("javascript:alert(1)", "ftp://x.example/a.png", 42, "https://"):
        status, body = await cleo.call("PUT", "api/profile", {"avatar_url": bad})
        assert status == 400 and "avatar_url" in body["error"], body
    status, body = await cleo.call("PUT", "api/profile", {"avatar_url": None})
    assert status == 200 and "avatar_url" not in body["agent"]
    status, body = await cleo.call("PUT", "api/profile", {"avatar_url": AVATAR})
    assert status == 200 and body["agent"]["avatar_url"] == AVATAR
