"""Keeps the bot silent during live chat on every path into Rasa, and keeps every message.

Rasa's own pause (`ConversationPaused`) is not enough: the `/restart` intent bypasses it, an
expired session starts a new session that is not paused, and it lives in the tracker, not in the
product's state. So this guard wraps `MessageProcessor` (the one place every channel's messages,
reminders and external events go through, under the tracker lock) and asks the live-chat service:

- `handle_message` (every input channel: livechat, REST, socket.io, ...): a message over
  `livechat.max_message_length` or the metadata cap is refused on any channel; a message naming
  a conversation that started on another channel is refused (`handoff.channel.mismatch`: a
  session is bound to its channel, so a sender id alone opens nothing). Otherwise the visitor
  message is recorded; if the conversation is `live` it is handed to the agents, and Rasa
  neither parses it nor predicts anything: the tracker gets it when live chat ends; otherwise Rasa
  handles it as usual and every bot message is recorded as it is sent.
- `handle_reminder`, `trigger_external_user_uttered` (reminders, `/trigger_intent`) and
  `execute_action` (`/conversations/<id>/execute`): skipped while live, so no bot message
  appears in the middle of an agent's chat.
- `execute_side_effects` (every bot message Rasa sends, including `/tracker/events?
  execute_side_effects=true`): bot messages are not sent while live. Inside a turn that the
  guard already found not live (under the tracker lock, so it cannot go live meanwhile) it
  does not ask again.

`install(service)` is idempotent; channels call it when the server starts.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

import structlog
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered

from handoff_plugin.livechat.service import LiveChatService, WrongChannel
from handoff_plugin.models import ConversationState, short_id

log = structlog.get_logger(__name__)

_service: LiveChatService | None = None
_originals: dict[str, Callable[..., Awaitable[Any]]] = {}
# The sender whose turn this task is running after the guard found it not live.
_not_live: ContextVar[str | None] = ContextVar("handoff_not_live", default=None)


@contextlib.contextmanager
def _known_not_live(sender_id: str) -> Iterator[None]:
    token = _not_live.set(sender_id)
    try:
        yield
    finally:
        _not_live.reset(token)


def _no_reply(message: UserMessage) -> Any:
    """What `handle_message` returns when the bot does not answer (REST answers `[]`)."""
    return [] if isinstance(message.output_channel, CollectingOutputChannel) else None


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


async def _handle_message(processor: MessageProcessor, message: UserMessage) -> Any:
    original = _originals["handle_message"]
    service = _service
    if service is None:
        return await original(processor, message)
    refused = await service.refusal_of(message.text, message.metadata)
    if refused is not None:
        log.info(
            "handoff.channel.message_refused",
            reason=refused,
            channel=message.input_channel,
            sender=short_id(message.sender_id),
        )
        return _no_reply(message)
    try:
        conversation, recorded = await service.record_visitor_message(
            message.sender_id, message.text, message.metadata, message.input_channel
        )
    except WrongChannel as wrong:
        log.warning(
            "handoff.channel.mismatch",
            channel=message.input_channel,
            bound_to=wrong.bound_to,
            sender=short_id(message.sender_id),
        )
        return _no_reply(message)
    if conversation.state is ConversationState.LIVE:
        # Kept in the database only: the tracker gets it when live chat ends (Transcript).
        log.info(
            "handoff.livechat.visitor_message_to_agent",
            conversation_id=conversation.id,
            seq=recorded.seq,
            channel=message.input_channel,
        )
        return _no_reply(message)
    inner = message.output_channel
    with _known_not_live(message.sender_id):
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
            "handoff.livechat.reminder_skipped",
            reminder=getattr(reminder_event, "name", None),
            sender=short_id(sender_id),
        )
        return
    with _known_not_live(sender_id):
        await _originals["handle_reminder"](processor, reminder_event, sender_id, output_channel)


async def _trigger_external_user_uttered(
    processor: MessageProcessor, intent_name: str, entities: Any, tracker: Any, output_channel: Any
) -> None:
    if await _is_live(tracker.sender_id):
        log.info(
            "handoff.livechat.external_event_skipped",
            intent=intent_name,
            sender=short_id(tracker.sender_id),
        )
        return
    with _known_not_live(tracker.sender_id):
        await _originals["trigger_external_user_uttered"](
            processor, intent_name, entities, tracker, output_channel
        )


async def _execute_action(
    processor: MessageProcessor, sender_id: str, action_name: str, *args: Any
) -> Any:
    if await _is_live(sender_id):
        log.info(
            "handoff.livechat.external_action_skipped",
            action=action_name,
            sender=short_id(sender_id),
        )
        return await processor.get_tracker(sender_id)
    with _known_not_live(sender_id):
        return await _originals["execute_action"](processor, sender_id, action_name, *args)


async def _execute_side_effects(
    processor: MessageProcessor, events: list[Any], tracker: Any, output_channel: Any
) -> None:
    sender_id = tracker.sender_id
    if _not_live.get() != sender_id and await _is_live(sender_id):
        kept = [e for e in events if not isinstance(e, BotUttered)]
        if len(kept) != len(events):
            log.info(
                "handoff.livechat.bot_message_skipped",
                count=len(events) - len(kept),
                sender=short_id(sender_id),
            )
        events = kept
    await _originals["execute_side_effects"](processor, events, tracker, output_channel)


_WRAPPERS: dict[str, Callable[..., Awaitable[Any]]] = {
    "handle_message": _handle_message,
    "handle_reminder": _handle_reminder,
    "trigger_external_user_uttered": _trigger_external_user_uttered,
    "execute_action": _execute_action,
    "execute_side_effects": _execute_side_effects,
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
