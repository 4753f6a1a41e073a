"""Keeps the bot silent during live chat on every path into Rasa, and keeps every message.

Rasa's own pause (`ConversationPaused`) is not enough: the `/restart` intent bypasses it, an
expired session starts a new session that is not paused, and it lives in the tracker, not in the
product's state. So this guard wraps `MessageProcessor` (the one place every channel's messages,
reminders and external events go through, under the tracker lock) and asks the live-chat service:

- `handle_message` (every input channel: livechat, REST, socket.io, ...): the visitor message is
  recorded; if the conversation is `live` it is logged in the tracker *without* a session check
  and without predicting anything, then handed to the agents; otherwise Rasa handles it as usual
  and every bot message is recorded as it is sent.
- `handle_reminder` and `trigger_external_user_uttered` (reminders, `/trigger_intent`): skipped
  while live, so no bot message appears in the middle of an agent's chat.

`install(service)` is idempotent; channels call it when the server starts.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.processor import MessageProcessor

from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.models import ConversationState

log = structlog.get_logger(__name__)

_service: LiveChatService | None = None
_originals: dict[str, Callable[..., Awaitable[Any]]] = {}


class RecordingOutputChannel(OutputChannel):
    """Records each bot message in the transcript, then sends it on through `inner`."""

    def __init__(self, inner: OutputChannel, service: LiveChatService, channel: str | None):
        self.inner = inner
        self._service = service
        self._channel = channel

    def name(self) -> str:  # type: ignore[override]  # responses may vary by channel
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self._service.record_bot_message(recipient_id, message, self._channel)
        await self.inner.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, **kwargs})


async def _log_without_reply(processor: MessageProcessor, message: UserMessage) -> None:
    """The visitor's message in the tracker as Rasa would log it (intent and all), but no
    session start and no prediction: a paused conversation stays paused, even on /restart."""
    tracker = await processor.get_tracker(message.sender_id)
    await processor._handle_message_with_tracker(message, tracker)
    await processor.save_tracker(tracker)


async def _handle_message(processor: MessageProcessor, message: UserMessage) -> Any:
    original = _originals["handle_message"]
    service = _service
    if service is None:
        return await original(processor, message)
    conversation, recorded = await service.record_visitor_message(
        message.sender_id, message.text, message.metadata, message.input_channel
    )
    if conversation.state is ConversationState.LIVE:
        await _log_without_reply(processor, message)
        log.info(
            "handoff.livechat.visitor_message_to_agent",
            conversation_id=conversation.id,
            seq=recorded.seq,
            channel=message.input_channel,
        )
        inner = message.output_channel
        return [] if isinstance(inner, CollectingOutputChannel) else None
    inner = message.output_channel
    if getattr(inner, "records_messages", False):
        return await original(processor, message)
    wrapped = copy.copy(message)
    wrapped.output_channel = RecordingOutputChannel(inner, service, message.input_channel)
    await original(processor, wrapped)
    return inner.messages if isinstance(inner, CollectingOutputChannel) else None


async def _is_live(sender_id: str) -> bool:
    return _service is not None and (await _service.state_of(sender_id)) is ConversationState.LIVE


async def _handle_reminder(
    processor: MessageProcessor, reminder_event: Any, sender_id: str, output_channel: Any
) -> None:
    if await _is_live(sender_id):
        log.info(
            "handoff.livechat.reminder_skipped", reminder=getattr(reminder_event, "name", None)
        )
        return
    await _originals["handle_reminder"](processor, reminder_event, sender_id, output_channel)


async def _trigger_external_user_uttered(
    processor: MessageProcessor, intent_name: str, entities: Any, tracker: Any, output_channel: Any
) -> None:
    if await _is_live(tracker.sender_id):
        log.info("handoff.livechat.external_event_skipped", intent=intent_name)
        return
    await _originals["trigger_external_user_uttered"](
        processor, intent_name, entities, tracker, output_channel
    )


_WRAPPERS: dict[str, Callable[..., Awaitable[Any]]] = {
    "handle_message": _handle_message,
    "handle_reminder": _handle_reminder,
    "trigger_external_user_uttered": _trigger_external_user_uttered,
}


def install(service: LiveChatService) -> None:
    """Route every Rasa turn of this process through `service` (idempotent)."""
    global _service
    for name, wrapper in _WRAPPERS.items():
        if name not in _originals:
            _originals[name] = getattr(MessageProcessor, name)
            setattr(MessageProcessor, name, wrapper)
    _service = service
    log.info("handoff.livechat.pause_guard_installed")


def uninstall() -> None:
    global _service
    for name, original in _originals.items():
        setattr(MessageProcessor, name, original)
    _originals.clear()
    _service = None
