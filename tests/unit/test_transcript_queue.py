"""End Live Chat queues the visitor's transcript with the end (same transaction), on the
conversation's escalation; no email address or no escalation: nothing queued, and it is logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from handoff_plugin.config.settings import Settings, StaticSettings
from handoff_plugin.livechat.broker import InProcessBroker
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.livechat.sessions import SessionSigner
from handoff_plugin.models import ConversationState, Delivery, VisitorProfile
from handoff_plugin.store import Store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.outbox import OutboxQueries
from handoff_plugin.store.tables import escalations
from tests.unit.test_livechat_service import ANN, FakeTranscript


@pytest.fixture
def make_service(store: Store, make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    def make(on: bool) -> LiveChatService:
        return LiveChatService(
            store=store,
            settings=StaticSettings(make_settings(livechat={"transcript_email": on})),
            transcript=FakeTranscript(),
            broker=InProcessBroker(),
            signer=SessionSigner(b"unit-test-secret-0123456789"),
        )

    return make


async def escalated(service: LiveChatService, email: str | None, sender: str) -> int:
    conversation, _ = await service.record_visitor_message(sender, "I want a human", None, "rest")
    async with service.store.transaction() as tx:
        queries = ConversationQueries(tx)
        await queries.set_state(conversation.id, ConversationState.ESCALATED)
        visitor = await queries.save_visitor(conversation, VisitorProfile(email=email))
        await tx.conn.execute(
            escalations.insert().values(
                conversation_id=conversation.id,
                visitor_id=visitor.id,
                trigger="intent",
                message="I want a human",
                status="open",
                created_at=tx.clock(),
            )
        )
    return conversation.id


async def transcripts(store: Store) -> list[Delivery]:
    async with store.transaction() as tx:
        return [d for d in await OutboxQueries(tx).recent() if d.kind == "transcript"]


async def test_ending_queues_one_transcript_to_the_visitor_on_the_escalation(
    make_service: Callable[..., LiveChatService], store: Store
) -> None:
    service = make_service(True)
    conversation_id = await escalated(service, "v@example.com", "visitor-t1")
    await service.send_agent_message(conversation_id, ANN, "Hello, Ann here")
    assert await service.end_live_chat(conversation_id, ANN) is True

    [delivery] = await transcripts(store)
    async with store.transaction() as tx:
        escalation = await ConversationQueries(tx).latest_escalation(conversation_id)
    assert escalation is not None and delivery.escalation_id == escalation.id
    assert delivery.payload["recipients"] == ["v@example.com"]
    lines = [(line["speaker"], line["text"]) for line in delivery.payload["body"]["lines"]]
    assert lines == [
        ("You", "I want a human"),
        ("", "Ann from our team has joined the chat."),
        ("Ann", "Hello, Ann here"),
        ("", "Ann has left the chat. You're back with Assistant."),
    ]
    assert delivery.payload["body"]["timezone"] == "UTC"


async def test_nothing_is_queued_when_it_is_off(
    make_service: Callable[..., LiveChatService], store: Store
) -> None:
    service = make_service(False)
    conversation_id = await escalated(service, "v@example.com", "visitor-t2")
    await service.send_agent_message(conversation_id, ANN, "Hello")
    assert await service.end_live_chat(conversation_id, ANN) is True  # it did end
    assert await transcripts(store) == []


async def test_a_visitor_without_an_email_or_an_escalation_gets_nothing_and_it_is_logged(
    make_service: Callable[..., LiveChatService], store: Store
) -> None:
    service = make_service(True)
    no_email = await escalated(service, None, "visitor-t3")
    conversation, _ = await service.record_visitor_message("visitor-t4", "hi", None, "rest")
    with capture_logs() as logs:
        for conversation_id in (no_email, conversation.id):
            await service.send_agent_message(conversation_id, ANN, "Hello")
            assert await service.end_live_chat(conversation_id, ANN) is True
    assert await transcripts(store) == []
    said = [
        (e["conversation_id"], e["reason"])
        for e in logs
        if e["event"] == "handoff.transcript.not_sent"
    ]
    assert said == [(no_email, "no_email"), (conversation.id, "no_escalation")]
