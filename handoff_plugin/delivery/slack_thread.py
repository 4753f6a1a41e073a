"""One Slack thread per escalation: the conversation mirrored into it, its first message kept up
to date.

`ThreadMirror` is called inside the transaction that stores a message or changes who answers, and
queues an outbox row of kind `slack_thread` there: nothing is lost, and the dispatcher retries it
like any notification. Those rows are sent one at a time per escalation, in the order they were
queued, and only once the escalation's Slack notification was posted (its `ts` is the thread;
see `OutboxQueries.claim_due(sequenced=...)`). `ThreadSender` sends them.

Nothing happens unless answering from Slack is on (`slack.enabled` and `slack.signing_secret`),
so a message costs nothing extra without it. Messages that came from Slack are not echoed back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from handoff_plugin.config.settings import Settings, SlackSettings
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification
from handoff_plugin.delivery.notifiers.slack import (
    BACK_TO_BOT,
    CLAIMED,
    LIVE,
    WAITING,
    blocks,
    classify,
    escape_mrkdwn,
    fallback_text,
    state_line,
)
from handoff_plugin.delivery.transports import SlackApi, TransportError, WebClientSlackApi
from handoff_plugin.models import Author, ChatMessage, ConversationState, Delivery
from handoff_plugin.store import Store, StoreTransaction
from handoff_plugin.store.queries.outbox import OutboxQueries
from handoff_plugin.store.queries.slack import SlackQueries, open_escalation_id

log = structlog.get_logger(__name__)

THREAD_KIND = "slack_thread"
SLACK_ORIGIN = "slack"  # `via` of a message written in the thread itself: never echoed back
# Rows of a sequenced kind go out one at a time per escalation, after that escalation's row of
# the other kind (the notification that starts the thread) is finished.
SEQUENCED = {THREAD_KIND: "slack"}
MIRRORED_STATES = (ConversationState.ESCALATED, ConversationState.LIVE)


def _new_id() -> str:
    return f"slk_{uuid.uuid4().hex}"


class ThreadMirror:
    """Queues what an escalation's thread must show, in the caller's transaction."""

    def __init__(self, on_enqueued: Callable[[], None] | None = None) -> None:
        self.on_enqueued = on_enqueued

    async def message(
        self,
        tx: StoreTransaction,
        settings: Settings,
        state: ConversationState,
        message: ChatMessage,
        *,
        via: str | None = None,
    ) -> None:
        """A message of a waiting or live conversation appears in its thread."""
        if not settings.slack.two_way or via == SLACK_ORIGIN or state not in MIRRORED_STATES:
            return
        if message.author is Author.BOT or not message.text:
            return
        await self._queue(
            tx,
            message.conversation_id,
            {
                "op": "post",
                "author": message.author.value,
                "agent_name": message.agent.name if message.agent else None,
                "text": message.text,
            },
        )

    async def state(
        self,
        tx: StoreTransaction,
        settings: Settings,
        conversation_id: int,
        state: str,
        agent_name: str | None = None,
    ) -> None:
        """The thread's first message shows who answers now (slack.CLAIMED, LIVE, BACK_TO_BOT)."""
        if not settings.slack.two_way:
            return
        payload = {"op": "state", "state": state, "agent_name": agent_name}
        await self._queue(tx, conversation_id, payload)

    async def _queue(
        self, tx: StoreTransaction, conversation_id: int, payload: dict[str, Any]
    ) -> None:
        escalation_id = await open_escalation_id(tx, conversation_id)
        if escalation_id is None:
            return
        await OutboxQueries(tx).enqueue(escalation_id, THREAD_KIND, payload, _new_id())
        if self.on_enqueued is not None:
            tx.after_commit(self.on_enqueued)


def thread_line(payload: Mapping[str, Any]) -> str:
    """How a message reads in the thread: "*Visitor:* ...", "*Ann (agent):* ...", "_notice_"."""
    text = escape_mrkdwn(str(payload.get("text") or ""))
    author = payload.get("author")
    if author == Author.VISITOR.value:
        return f"*Visitor:* {text}"
    if author == Author.AGENT.value:
        name = escape_mrkdwn(str(payload.get("agent_name") or "Agent"), 200)
        return f"*{name} (agent):* {text}"
    return f"_{text}_"


async def record_receipt(
    tx: StoreTransaction, delivery: Delivery, receipt: Mapping[str, str]
) -> None:
    """The escalation's Slack notification was posted: its message starts the thread."""
    if delivery.kind == "slack" and receipt.get("ts") and receipt.get("channel"):
        await SlackQueries(tx).thread_started(
            delivery.escalation_id, receipt["channel"], receipt["ts"]
        )


class ThreadSender:
    """Sends `slack_thread` rows: a line in the thread, or the first message redrawn."""

    kind = THREAD_KIND

    def __init__(self, store: Store, settings: SlackSettings, api: SlackApi | None = None) -> None:
        self.store = store
        self.api = api or WebClientSlackApi(settings)

    async def send(self, delivery: Delivery) -> DeliveryResult:
        thread = await self.store.run(
            lambda tx: SlackQueries(tx).thread_of_escalation(delivery.escalation_id),
            read_only=True,
        )
        if thread is None:  # claimed only once the notification finished: it was not posted
            return DeliveryResult.failed(
                "the escalation's Slack message was never posted, so it has no thread"
            )
        payload = delivery.payload
        try:
            if payload.get("op") == "state":
                return await self._redraw(delivery, thread.channel, thread.ts, payload)
            reply = await self.api.chat_post_message(
                channel=thread.channel, text=thread_line(payload), thread_ts=thread.ts
            )
        except TransportError as error:
            return DeliveryResult.retry(str(error))
        return classify(reply)

    async def _redraw(
        self, delivery: Delivery, channel: str, ts: str, payload: Mapping[str, Any]
    ) -> DeliveryResult:
        state = str(payload.get("state"))
        agent_name = payload.get("agent_name")
        found = await self.store.run(
            lambda tx: SlackQueries(tx).notification_payload(delivery.escalation_id),
            read_only=True,
        )
        if found is None:
            return DeliveryResult.failed("the escalation's Slack notification is gone")
        notification = Notification.from_payload(*found)
        reply = await self.api.chat_update(
            channel=channel,
            ts=ts,
            text=f"{fallback_text(notification)} ({state_line(state, agent_name)})",
            blocks=blocks(notification, two_way=True, state=state, agent_name=agent_name),
        )
        result = classify(reply)
        if reply.ok:
            await self.store.run(
                lambda tx: SlackQueries(tx).set_thread_state(delivery.escalation_id, state)
            )
        return result


__all__ = [
    "BACK_TO_BOT",
    "CLAIMED",
    "LIVE",
    "MIRRORED_STATES",
    "SEQUENCED",
    "SLACK_ORIGIN",
    "THREAD_KIND",
    "ThreadMirror",
    "WAITING",
    "ThreadSender",
    "record_receipt",
    "thread_line",
]
