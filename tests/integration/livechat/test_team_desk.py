"""The team desk end to end: visitors on real sockets (rasa-webchat's protocol) escalate through
the trained bot and the real action server while two agents have the inbox open; the visitors
hear their place in line as it changes, and a live chat the visitor leaves quiet ends by itself.

In production the sweep runs in the server every few seconds; this server's is off (see
harness.py), so the test calls it (`tick()`) when it needs one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.inbox.team_desk import TeamDesk
from tests.integration.inbox.conftest import AgentClient, event_stream
from tests.integration.livechat.harness import RunningServer, WebchatVisitor, visitor
from tests.servers import eventually

pytestmark = pytest.mark.slow

PASSWORD = "team desk test password"
LINE = re.compile(r"You are number (\d+) in line\.")


def desk_of(server: RunningServer) -> TeamDesk:
    assert server.inbox is not None and server.inbox.runtime is not None
    return server.inbox.runtime.api.desk


@pytest.fixture
async def agents(livechat_server: RunningServer) -> AsyncIterator[tuple[AgentClient, AgentClient]]:
    service = AgentService(livechat_server.services.store)
    known = {a.email for a in await service.all()}
    clients = []
    for email, name in (("ann.desk@example.com", "Ann"), ("bob.desk@example.com", "Bob")):
        if email not in known:
            await service.add(email, name, PASSWORD, "agent")
        client = AgentClient(f"{livechat_server.url}/webhooks/inbox")
        await client.login(email, PASSWORD)
        clients.append(client)
    yield clients[0], clients[1]
    for client in clients:
        await client.close()


async def place_in_line(tab: WebchatVisitor) -> int:
    """The visitor's place, from the next message that tells it."""
    for text in await tab.texts_until_quiet():
        found = LINE.search(text)
        if found:
            return int(found.group(1))
    raise AssertionError("the visitor was not told a place in line")


async def conversation_id(agent: AgentClient, email: str) -> int:
    status, page = await agent.call("GET", f"api/conversations?q={email}")
    assert status == 200 and page["conversations"], page
    return int(page["conversations"][0]["id"])


async def test_visitors_hear_their_place_in_line_and_a_quiet_chat_ends(
    livechat_server: RunningServer, agents: tuple[AgentClient, AgentClient]
) -> None:
    ann, bob = agents
    desk = desk_of(livechat_server)
    throttle, desk.position_throttle = desk.position_throttle, timedelta(0)  # a minute, really
    try:
        await hear_place_in_line_and_idle_close(livechat_server, desk, ann, bob)
    finally:
        desk.position_throttle = throttle


async def hear_place_in_line_and_idle_close(
    livechat_server: RunningServer, desk: TeamDesk, ann: AgentClient, bob: AgentClient
) -> None:
    async with event_stream(ann), event_stream(bob):  # both have the inbox open: online
        async with (
            visitor(livechat_server.url, email="una.desk@example.com") as una,
            visitor(livechat_server.url, email="vic.desk@example.com") as vic,
        ):
            await una.say("I want to talk to a human")
            first = await place_in_line(una)
            await vic.say("I want to talk to a human")
            second = await place_in_line(vic)
            assert second == first + 1  # e.g. number 2, behind Una

            # Ann answers Una: Vic moves up and is told so on his socket.
            una_id = await conversation_id(ann, "una.desk@example.com")
            status, _ = await ann.call(
                "POST", f"api/conversations/{una_id}/messages", {"text": "Hi Una, Ann here."}
            )
            assert status == 201
            assert await una.texts_until_quiet() == [
                "Ann from our team has joined the chat.",
                "Hi Una, Ann here.",
            ]
            await desk.tick()
            # With 5+ answered escalations in the session's database (other tests' chats), the
            # expected wait follows: "... The expected wait is about 2 minutes."
            [told] = await vic.texts_until_quiet()
            assert told.startswith(f"You are number {first} in line.")
            status, detail = await bob.call("GET", f"api/conversations/{una_id}")
            assert detail["conversation"]["assignee"]["name"] == "Ann"

            # Una says nothing more: with idle_close_after at a few seconds the chat ends by itself.
            settings = livechat_server.services.settings
            await settings.save({"livechat": {"idle_close_after": 0.05}})
            try:

                async def closed() -> bool:
                    await desk.tick()
                    status, detail = await ann.call("GET", f"api/conversations/{una_id}")
                    return bool(detail["conversation"]["state"] == "bot")

                await eventually(closed, "the quiet live chat was ended", timeout=30, every=0.5)
            finally:
                await settings.save({"livechat": {"idle_close_after": 30}})
            assert await una.texts_until_quiet() == [
                "This chat was closed because it was quiet for a while. You're back with "
                "Test Bot; ask for a person again any time."
            ]
            status, detail = await ann.call("GET", f"api/conversations/{una_id}")
            ended = [i for i in detail["timeline"] if i["type"] == "live.ended"]
            assert ended[-1]["reason"] == {"reason": "idle", "minutes": 0.05}
            assert detail["conversation"]["assignee"] is None

            # The bot answers Una again.
            await una.say("hello")
            assert (await una.texts_until_quiet())[0].startswith("Hi! I'm the assistant")
