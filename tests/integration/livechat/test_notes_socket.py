"""An internal note on a real visitor socket (rasa-webchat's protocol), through the trained bot
and the real action server: the agent's replies reach the socket, the note written between them
does not, and Rasa's tracker never records it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from rasa.shared.core.events import BotUttered

from handoff_plugin.inbox.agents import AgentService
from tests.integration.inbox.conftest import AgentClient
from tests.integration.livechat.harness import RunningServer, visitor

pytestmark = pytest.mark.slow

PASSWORD = "notes socket test password"


@pytest.fixture
async def nora(livechat_server: RunningServer) -> AsyncIterator[AgentClient]:
    service = AgentService(livechat_server.services.store)
    if "nora.notes@example.com" not in {a.email for a in await service.all()}:
        await service.add("nora.notes@example.com", "Nora", PASSWORD, "agent")
    client = AgentClient(f"{livechat_server.url}/webhooks/inbox")
    await client.login("nora.notes@example.com", PASSWORD)
    yield client
    await client.close()


async def test_a_note_never_reaches_the_visitors_socket_or_the_tracker(
    livechat_server: RunningServer, nora: AgentClient
) -> None:
    async with visitor(livechat_server.url, email="vera.notes@example.com") as vera:
        await vera.say("I want to talk to a human")
        await vera.texts_until_quiet()
        status, page = await nora.call("GET", "api/conversations?q=vera.notes@example.com")
        assert status == 200 and page["conversations"], page
        chat = page["conversations"][0]["id"]
        path = f"api/conversations/{chat}"

        # A reply reaches the socket (with the "joined" notice that starts live chat).
        assert (await nora.call("POST", f"{path}/messages", {"text": "Hi Vera, Nora here."}))[
            0
        ] == 201
        assert await vera.texts_until_quiet() == [
            "Nora from our team has joined the chat.",
            "Hi Vera, Nora here.",
        ]

        # The note is stored and shown to agents...
        status, body = await nora.call("POST", f"{path}/notes", {"text": "NOTE: refund ok"})
        assert status == 201, body
        _, detail = await nora.call("GET", path)
        assert "NOTE: refund ok" in [item.get("text") for item in detail["timeline"]]

        # ...and the next reply is the very next thing the visitor's socket receives.
        assert (await nora.call("POST", f"{path}/messages", {"text": "Refund is on its way."}))[
            0
        ] == 201
        assert await vera.texts_until_quiet() == ["Refund is on its way."]

        # The tracker gets the live chat's lines when it ends: the reply, never the note.
        status, _ = await nora.call("POST", f"{path}/end")
        assert status == 200
        await vera.texts_until_quiet()
        tracker = await livechat_server.app.ctx.agent.tracker_store.retrieve(vera.sender_id)
        said = [e.text for e in tracker.events if isinstance(e, BotUttered)]
        assert "Refund is on its way." in said and "NOTE: refund ok" not in said
