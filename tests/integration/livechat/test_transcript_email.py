"""The visitor's transcript by email (`livechat.transcript_email`), end to end: a visitor in
rasa-webchat's protocol escalates through the trained bot, an agent answers and ends the live
chat in the inbox, and the action server's dispatcher (another process, on its poll) sends one
email to the visitor through the real local SMTP server; with the setting off, none is queued."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.models import DeliveryStatus
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.outbox import OutboxQueries
from tests.integration.conftest import NotificationServers
from tests.integration.inbox.conftest import AgentClient
from tests.integration.livechat.harness import RunningServer, WebchatVisitor, visitor
from tests.integration.livechat.test_typing import escalate
from tests.servers import Mail, eventually, wait_until

pytestmark = pytest.mark.slow

PASSWORD = "transcript test password"


@pytest.fixture
async def tess(livechat_server: RunningServer) -> AsyncIterator[AgentClient]:
    """Agent Tess (an admin: she turns the setting on and off), logged in."""
    service = AgentService(livechat_server.services.store)
    if "tess.transcript@example.com" not in {a.email for a in await service.all()}:
        await service.add("tess.transcript@example.com", "Tess", PASSWORD, "admin")
    client = AgentClient(f"{livechat_server.url}/webhooks/inbox")
    await client.login("tess.transcript@example.com", PASSWORD)
    yield client
    await client.call("PUT", "api/settings", {"livechat": {"transcript_email": False}})
    await client.call("PUT", "api/presence", {"status": "offline"})  # others' tests: nobody on
    await client.close()


async def chat_and_end(
    server: RunningServer, tab: WebchatVisitor, agent: AgentClient, conversation: int
) -> None:
    status, _ = await agent.call(
        "POST", f"api/conversations/{conversation}/messages", {"text": "Tess here, how can I help?"}
    )
    assert status == 201
    assert await tab.texts_until_quiet() == [
        "Tess from our team has joined the chat.",
        "Tess here, how can I help?",
    ]
    await tab.say("My parcel never arrived")
    await wait_for_visitor_line(server, tab, "My parcel never arrived")
    status, _ = await agent.call("POST", f"api/conversations/{conversation}/end")
    assert status == 200
    # The end happened: the visitor was told (the transcript is queued in the same transaction).
    left = await tab.next_bot()
    assert left["text"] == "Tess has left the chat. You're back with Test Bot."


async def wait_for_visitor_line(server: RunningServer, tab: WebchatVisitor, text: str) -> None:
    async def arrived() -> bool:
        return text in await server.visitor_texts(tab.sender_id)

    await eventually(arrived, what=f"the agent sees {text!r}")


async def transcript_deliveries(server: RunningServer, conversation: int) -> list[str]:
    async with server.services.store.transaction() as tx:
        escalation = await ConversationQueries(tx).latest_escalation(conversation)
        assert escalation is not None
        rows = await OutboxQueries(tx).recent(escalation_id=escalation.id)
    return [f"{d.kind}:{d.status.value}" for d in rows if d.kind == "transcript"]


def mails_to(servers: NotificationServers, address: str) -> list[Mail]:
    return [m for m in servers.smtp.mails if address in m.rcpt_tos]


async def test_the_visitor_gets_the_transcript_by_email_when_it_is_on(
    livechat_server: RunningServer, tess: AgentClient, notification_servers: NotificationServers
) -> None:
    status, _ = await tess.call("PUT", "api/settings", {"livechat": {"transcript_email": True}})
    assert status == 200
    address = "transcript.visitor1@example.com"
    async with visitor(livechat_server.url, language="en", timezone="Europe/Paris") as tab:
        conversation = await escalate(tab, tess, address)
        await chat_and_end(livechat_server, tab, tess, conversation)

    await wait_until(lambda: mails_to(notification_servers, address), 20, "the transcript")
    [mail] = mails_to(notification_servers, address)
    assert mail.rcpt_tos == [address]
    message = mail.message
    assert message["To"] == address
    assert message["Subject"] == "Your chat with Test Bot"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Here is a copy of your chat with Test Bot on " in text
    assert "Times are shown in Europe/Paris." in text
    assert "Tess: Tess here, how can I help?" in text
    assert "You: My parcel never arrived" in text
    assert "You: I want to talk to a human" in text
    assert message.get_body(("html",)) is not None

    async def delivered() -> bool:
        return await transcript_deliveries(livechat_server, conversation) == [
            f"transcript:{DeliveryStatus.DELIVERED.value}"
        ]

    await eventually(delivered, what="the delivery recorded as delivered")  # `handoff deliveries`


async def test_with_the_setting_off_nothing_is_queued_or_sent(
    livechat_server: RunningServer, tess: AgentClient, notification_servers: NotificationServers
) -> None:
    status, _ = await tess.call("PUT", "api/settings", {"livechat": {"transcript_email": False}})
    assert status == 200
    address = "transcript.visitor2@example.com"
    async with visitor(livechat_server.url, language="en") as tab:
        conversation = await escalate(tab, tess, address)
        await chat_and_end(livechat_server, tab, tess, conversation)

    # The end committed (the visitor saw its notice): a transcript would be queued by now.
    assert await transcript_deliveries(livechat_server, conversation) == []
    assert mails_to(notification_servers, address) == []
