"""Queue the visitor's transcript email at End Live Chat (`livechat.transcript_email`).

Runs inside the transaction that ends the live chat, so the live chat ends with its transcript
queued or not at all; the dispatcher (in the action server) picks the outbox row up on its next
poll and sends it through the email section's SMTP server, retrying like every notification.
The row belongs to the conversation's escalation (the one End Live Chat closes, else its newest):
a conversation never escalated, or a visitor without an email address, gets nothing (logged).
"""

from __future__ import annotations

import structlog

from handoff_plugin.config.settings import Settings
from handoff_plugin.config.texts import Texts
from handoff_plugin.delivery.notifiers.transcript import (
    MAX_LINES,
    TRANSCRIPT_KIND,
    transcript_notification,
    visitor_timezone,
)
from handoff_plugin.delivery.outbox import new_message_id
from handoff_plugin.models import ChatMessage, Conversation
from handoff_plugin.store import StoreTransaction
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.livechat import LiveChatQueries
from handoff_plugin.store.queries.outbox import OutboxQueries

log = structlog.get_logger(__name__)


async def queue_transcript(
    tx: StoreTransaction,
    conversation: Conversation,
    notice: ChatMessage,
    settings: Settings,
    texts: Texts,
) -> int | None:
    """The transcript's delivery id, or None if it cannot be sent (said in the log)."""
    escalation = await ConversationQueries(tx).latest_escalation(conversation.id)
    if escalation is None:
        log.info(
            "handoff.transcript.not_sent", conversation_id=conversation.id, reason="no_escalation"
        )
        return None
    email = escalation.visitor.email
    if not email:
        log.info("handoff.transcript.not_sent", conversation_id=conversation.id, reason="no_email")
        return None
    q = LiveChatQueries(tx)
    lines = await q.messages_before(conversation.id, notice.seq + 1, MAX_LINES)
    zone = visitor_timezone(await q.visitor_metadata(conversation.id, "timezone"))
    notification = transcript_notification(
        conversation_id=conversation.id,
        message_id=new_message_id(),
        email=email,
        lines=lines,
        texts=texts,
        chatbot_name=settings.chatbot.name,
        zone=zone,
        ended_at=notice.created_at,
    )
    delivery_id = await OutboxQueries(tx).enqueue(
        escalation.id, TRANSCRIPT_KIND, notification.to_payload(), notification.message_id
    )
    log.info(
        "handoff.delivery.queued",
        delivery_id=delivery_id,
        escalation_id=escalation.id,
        kind=TRANSCRIPT_KIND,
        lines=len(notification.body["lines"]),
    )
    return delivery_id
