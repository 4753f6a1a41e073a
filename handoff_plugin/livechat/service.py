"""The live-chat service: who answers a conversation (bot or agent), and its numbered transcript.

States (DESIGN.md): `bot` -> `escalated` (waiting; the bot still answers) -> `live` (an agent
talks; the bot is silent) -> `bot` after End Live Chat. The state lives in the database, so every
process and every restart agrees on it.

The agent inbox calls `send_agent_message` (the first one starts live chat), `start_live_chat`
and `end_live_chat`; it watches conversations through the `Broker` (`subscribe()`). Channels
call `open_session`, and the pause guard calls `record_visitor_message` / `record_bot_message`
on every turn. Pause and resume are recorded in the Rasa tracker through `Transcript`, under the
tracker lock of the conversation, so concurrent turns never interleave with them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from handoff_plugin.config.settings import Settings, SettingsProvider
from handoff_plugin.config.texts import Texts
from handoff_plugin.delivery.slack_thread import (
    BACK_TO_BOT,
    CLAIMED,
    LIVE,
    MIRRORED_STATES,
    WAITING,
    ThreadMirror,
)
from handoff_plugin.errors import InvalidInput, NotFound, PermissionDenied
from handoff_plugin.livechat.broker import Broker, ConversationEvent
from handoff_plugin.livechat.sessions import SessionSigner
from handoff_plugin.livechat.transcript_email import queue_transcript
from handoff_plugin.livechat.widget import MAX_METADATA_BYTES
from handoff_plugin.models import (
    AgentRef,
    Author,
    ChatMessage,
    Conversation,
    ConversationState,
    LiveChatSession,
    split_bot_response,
)
from handoff_plugin.store import Store, StoreTransaction
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.livechat import LiveChatQueries

log = structlog.get_logger(__name__)

CHANNEL = "livechat"
STARTABLE = (ConversationState.BOT, ConversationState.ESCALATED)


# --- what is written to the Rasa tracker (the Rasa adapter turns these into Rasa events) ---


@dataclass(frozen=True)
class Pause:
    """ConversationPaused, leaving the tracker listening."""


@dataclass(frozen=True)
class Resume:
    """ConversationResumed, leaving the tracker listening."""


@dataclass(frozen=True)
class Said:
    """A text shown to the visitor that the bot did not write (BotUttered with metadata)."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Heard:
    """A visitor's message during live chat (UserUttered: no NLU, the bot does not answer it)."""

    text: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None
    at: datetime | None = field(default=None, compare=False)


TranscriptEvent = Pause | Resume | Said | Heard
# The live chat's lines the tracker does not have yet, after the newest `seq` it holds.
Missed = Callable[[int], Awaitable[Sequence[TranscriptEvent]]]


@dataclass(frozen=True)
class AgentMessageSent:
    message: ChatMessage
    joined_notice: ChatMessage | None  # "Ann joined": this message started the live chat


# Queues a redraw of the conversation's Slack thread for its new assignee (None: nobody).
ClaimMirror = Callable[[StoreTransaction, int, AgentRef | None], Awaitable[None]]


class Transcript(Protocol):
    """The conversation's record in Rasa (its tracker), changed only under the tracker lock.

    During live chat its lines are kept in the database only: the tracker gets `Pause` and the
    lines up to it when live chat starts, and the rest (`missed`) when it ends. Rasa replays a
    whole tracker to load it (about 0.1 ms an event, and a SQL tracker store reads it on the
    event loop): one load per message made a long chat slower with every line, for everyone."""

    def lock(self, sender_id: str) -> AbstractAsyncContextManager[Any]: ...

    async def append(
        self, sender_id: str, events: Sequence[TranscriptEvent], *, missed: Missed | None = None
    ) -> None:
        """Append `missed(newest seq in the tracker)`, then `events`, to the tracker; the caller
        holds `lock(sender_id)`."""


class WrongChannel(PermissionDenied):
    """A message on one channel named a conversation that started on another: a session is
    bound to its channel, so knowing a sender id never opens a conversation elsewhere."""

    def __init__(self, bound_to: str, arrived_on: str | None) -> None:
        super().__init__(f"this conversation belongs to the {bound_to!r} channel")
        self.bound_to = bound_to
        self.arrived_on = arrived_on


@dataclass(frozen=True)
class OpenedSession:
    session: LiveChatSession
    token: str
    is_new: bool


def _said(message: ChatMessage) -> Said:
    meta: dict[str, Any] = {"author": message.author.value, "seq": message.seq}
    if message.agent is not None:
        meta["agent"] = message.agent.as_json()
    return Said(message.text or "", {"handoff": meta}, message.created_at)


def _as_logged(message: ChatMessage) -> TranscriptEvent:
    """A stored line as the tracker logs it: the visitor's as heard, the others' as said."""
    if message.author is Author.VISITOR:
        metadata = (message.payload or {}).get("metadata") or {}
        return Heard(message.text, dict(metadata), message.channel, message.created_at)
    return _said(message)


@dataclass
class LiveChatService:
    store: Store
    settings: SettingsProvider
    transcript: Transcript
    broker: Broker
    signer: SessionSigner
    # Answering from Slack: what the escalation's thread must show, queued with each change.
    mirror: ThreadMirror = field(default_factory=ThreadMirror)

    # --- visitor sessions ---

    async def open_session(self, token: object) -> OpenedSession:
        """The session `token` names if we signed it; otherwise a fresh one.

        A forged or altered token never reaches anyone else's conversation, nor does one not seen
        for `livechat.session_idle_days` (a shared computer's old tab). Opening writes nothing new:
        the conversation is stored when the visitor first writes (`ensure_session`)."""
        verified = self.signer.verify(token)
        if verified is not None:
            idle = timedelta(days=(await self.settings.recent()).livechat.session_idle_days)

            async def reopen(tx: StoreTransaction) -> tuple[LiveChatSession | None, bool]:
                q = LiveChatQueries(tx)
                existing = await q.session(verified.key)
                expired = bool(
                    existing and existing.last_seen_at and tx.clock() - existing.last_seen_at > idle
                )
                if existing and not expired:
                    await q.touch_session(verified.key)
                return existing, expired

            existing, expired = await self.store.run(reopen)
            if not expired:
                session = existing or LiveChatSession(verified.key, None, 0)
                return OpenedSession(session, verified.token, is_new=False)
            log.info("handoff.livechat.session_rejected", reason="expired")
        elif token:
            log.info("handoff.livechat.session_rejected", reason="bad_signature")
        minted = self.signer.mint()
        return OpenedSession(LiveChatSession(minted.key, None, 0), minted.token, is_new=True)

    async def ensure_session(self, key: str) -> LiveChatSession:
        """Store the session and its conversation (on the visitor's first message; idempotent)."""

        async def ensure(tx: StoreTransaction) -> tuple[LiveChatSession, bool]:
            q = LiveChatQueries(tx)
            existing = await q.session(key)
            if existing is not None:
                return existing, False
            conversation = await ConversationQueries(tx).ensure_conversation(key, CHANNEL)
            return await q.create_session(key, conversation.id), True

        session, created = await self.store.run(ensure)
        if created:
            log.info("handoff.livechat.session_created", conversation_id=session.conversation_id)
        return session

    async def mark_delivered(self, delivered: Mapping[str, int]) -> None:
        await self.store.run(lambda tx: LiveChatQueries(tx).mark_delivered(delivered))

    # --- the transcript ---

    async def state_of(self, sender_id: str) -> ConversationState:
        state = await self.store.run(
            lambda tx: LiveChatQueries(tx).state_of_sender(sender_id), read_only=True
        )
        return state or ConversationState.BOT

    async def refusal_of(self, text: str | None, metadata: Mapping[str, Any] | None) -> str | None:
        """Why a visitor message on any channel is too big to accept (a code), or None."""
        settings = await self.settings.recent()  # asked per message: may be a second old
        if text is not None and len(text) > settings.livechat.max_message_length:
            return "message_too_long"
        if metadata and len(json.dumps(metadata, default=str)) > MAX_METADATA_BYTES:
            return "metadata_too_large"
        return None

    async def record_visitor_message(
        self,
        sender_id: str,
        text: str | None,
        metadata: Mapping[str, Any] | None,
        channel: str | None,
    ) -> tuple[Conversation, ChatMessage]:
        """Keep a visitor message; the returned conversation says who answers it.

        Raises WrongChannel (storing nothing) if the conversation started on another channel."""
        payload = {"metadata": dict(metadata)} if metadata else None
        settings = await self.settings.recent()  # asked per message: may be a second old

        async def record(tx: StoreTransaction) -> tuple[Conversation, ChatMessage]:
            conversation = await ConversationQueries(tx).ensure_conversation(sender_id, channel)
            if conversation.channel is not None and conversation.channel != channel:
                raise WrongChannel(conversation.channel, channel)
            message = await LiveChatQueries(tx).append_message(
                conversation, Author.VISITOR, text, payload, channel=channel
            )
            await self.mirror.message(tx, settings, conversation.state, message)
            return conversation, message

        conversation, message = await self.store.run(record)  # one hop per turn (Store.run)
        await self._published(conversation, message)
        return conversation, message

    async def record_bot_message(
        self, sender_id: str, response: Mapping[str, Any], channel: str | None
    ) -> ChatMessage:
        text, rich = split_bot_response(response)

        async def record(tx: StoreTransaction) -> tuple[Conversation, ChatMessage]:
            conversation = await ConversationQueries(tx).ensure_conversation(sender_id, channel)
            message = await LiveChatQueries(tx).append_message(
                conversation, Author.BOT, text, rich, channel=channel
            )
            return conversation, message

        conversation, message = await self.store.run(record)
        await self._published(conversation, message)
        return message

    async def messages_after(
        self, conversation_id: int, after_seq: int, *, until_seq: int | None = None
    ) -> list[ChatMessage]:
        return await self.store.run(
            lambda tx: LiveChatQueries(tx).messages_after(
                conversation_id, after_seq, until_seq=until_seq
            ),
            read_only=True,
        )

    async def messages_before(
        self, conversation_id: int, before_seq: int | None, limit: int
    ) -> list[ChatMessage]:
        return await self.store.run(
            lambda tx: LiveChatQueries(tx).messages_before(conversation_id, before_seq, limit),
            read_only=True,
        )

    async def last_seq(self, conversation_id: int) -> int:
        return await self.store.run(
            lambda tx: LiveChatQueries(tx).last_seq(conversation_id), read_only=True
        )

    # --- the agent's side ---

    async def start_live_chat(self, conversation_id: int, agent: AgentRef) -> bool:
        """Pause the bot and tell the visitor `agent` joined; False if it was live already."""
        conversation = await self._conversation(conversation_id)
        settings = await self.settings.recent()
        async with self.transcript.lock(conversation.sender_id):

            async def start(tx: StoreTransaction) -> ChatMessage | None:
                return await self._go_live(tx, conversation, agent, settings)

            notice = await self.store.run(start)
            if notice is None:
                return False
            await self.transcript.append(conversation.sender_id, [Pause(), _said(notice)])
        self._started(conversation, agent)
        await self._state_changed(conversation, ConversationState.LIVE, agent)
        await self._published(conversation, notice)
        return True

    async def send_agent_message(
        self, conversation_id: int, agent: AgentRef, text: str, *, via: str | None = None
    ) -> ChatMessage:
        """Show the agent's message to the visitor; the first one starts live chat.

        `via`: where the agent wrote it ("slack": its Slack thread has it already)."""
        return (await self.relay_agent_message(conversation_id, agent, text, via=via)).message

    async def relay_agent_message(
        self, conversation_id: int, agent: AgentRef, text: str, *, via: str | None = None
    ) -> AgentMessageSent:
        """`send_agent_message`, also saying whether this message started the live chat."""
        text = await self.agent_text(text)
        conversation = await self._conversation(conversation_id)
        settings = await self.settings.recent()
        async with self.transcript.lock(conversation.sender_id):

            async def send(tx: StoreTransaction) -> tuple[ChatMessage | None, ChatMessage]:
                notice = await self._go_live(tx, conversation, agent, settings)
                message = await LiveChatQueries(tx).append_message(
                    conversation, Author.AGENT, text, agent=agent, channel=CHANNEL
                )
                await self.mirror.message(tx, settings, ConversationState.LIVE, message, via=via)
                return notice, message

            notice, message = await self.store.run(send)  # one trip (see Store.run)
            # Stored: on its way to the visitor now (a reconnecting visitor replays from the
            # database); the lock keeps the tracker's order.
            if notice is not None:
                self._started(conversation, agent)
                await self._state_changed(conversation, ConversationState.LIVE, agent)
                await self._published(conversation, notice)
            await self._published(conversation, message)
            if notice is not None:  # later lines reach the tracker at End Live Chat
                await self.transcript.append(
                    conversation.sender_id, [Pause(), _said(notice), _said(message)]
                )
        log.info(
            "handoff.livechat.agent_message",
            conversation_id=conversation.id,
            agent_id=agent.id,
            seq=message.seq,
        )
        return AgentMessageSent(message, notice)

    async def announce_agent(self, conversation_id: int, agent: AgentRef) -> ChatMessage | None:
        """Tell the visitor in live chat that `agent` answers from now on (a take over or a
        transfer); None if the conversation is not live."""
        conversation = await self._conversation(conversation_id)
        if conversation.state is not ConversationState.LIVE:
            return None
        texts = await self.texts_for(conversation.id)
        return await self.tell_visitor(
            conversation.id, texts.render("live_chat_started", agent_name=agent.name)
        )

    async def agent_text(self, text: object) -> str:
        """The agent's message as it will be sent; `InvalidInput` if it is empty or too long."""
        text = text.strip() if isinstance(text, str) else ""
        settings = await self.settings.recent()
        if not text:
            raise InvalidInput("the agent's message is empty")
        if len(text) > settings.livechat.max_message_length:
            raise InvalidInput(
                f"the agent's message is longer than livechat.max_message_length "
                f"({settings.livechat.max_message_length} characters)"
            )
        return text

    async def tell_visitor(
        self, conversation_id: int, text: str, payload: Mapping[str, Any] | None = None
    ) -> ChatMessage:
        """A notice from the desk (queue position, "we'll follow up by email"), shown to the
        visitor and kept in the transcript; the bot's state is left as it is. `payload` adds
        what is not text (e.g. `buttons`, in Rasa's response shape)."""
        conversation = await self._conversation(conversation_id)
        settings = await self.settings.recent()

        async def tell(tx: StoreTransaction) -> tuple[ChatMessage, bool]:
            q = LiveChatQueries(tx)
            notice = await q.append_message(
                conversation, Author.SYSTEM, text, payload, channel=CHANNEL
            )
            state = await q.state_of_sender(conversation.sender_id)
            if state is not None:
                await self.mirror.message(tx, settings, state, notice)
            return notice, state is ConversationState.LIVE

        async with self.transcript.lock(conversation.sender_id):
            notice, live = await self.store.run(tell)
            if not live:  # a live chat's lines reach the tracker when it ends
                await self.transcript.append(conversation.sender_id, [_said(notice)])
        await self._published(conversation, notice)
        return notice

    async def texts_for(self, conversation_id: int) -> Texts:
        """The visitor texts in the conversation's language."""
        settings = await self.settings.recent()
        return settings.localization.for_language(await self._language(conversation_id))

    async def end_live_chat(
        self, conversation_id: int, agent: AgentRef, *, text: str | None = None
    ) -> bool:
        """Hand the conversation back to the bot and close its escalation; False if not live.

        `text` replaces the "agent has left" notice (e.g. when a quiet chat is closed)."""
        conversation = await self._conversation(conversation_id)
        settings = await self.settings.recent()
        texts = settings.localization.for_language(await self._language(conversation.id))
        text = text or texts.render(
            "live_chat_ended", agent_name=agent.name, chatbot_name=settings.chatbot.name
        )

        async def end(tx: StoreTransaction) -> ChatMessage | None:
            q = LiveChatQueries(tx)
            if not await q.change_state(
                conversation.id, ConversationState.BOT, allowed_from=(ConversationState.LIVE,)
            ):
                return None
            ended = await q.append_message(conversation, Author.SYSTEM, text, channel=CHANNEL)
            await self.mirror.message(tx, settings, ConversationState.LIVE, ended)
            await self.mirror.state(tx, settings, conversation.id, BACK_TO_BOT)
            await ConversationQueries(tx).close_open_escalation(conversation.id)
            if settings.livechat.transcript_email:  # queued with the end, so never lost
                await queue_transcript(tx, conversation, ended, settings, texts)
            return ended

        async def missed(after_seq: int) -> list[TranscriptEvent]:
            assert notice is not None
            lines = await self._messages_between(conversation.id, after_seq, notice.seq - 1)
            return [_as_logged(line) for line in lines]

        async with self.transcript.lock(conversation.sender_id):
            notice = await self.store.run(end)
            if notice is None:
                return False
            await self.transcript.append(
                conversation.sender_id, [_said(notice), Resume()], missed=missed
            )
        log.info("handoff.livechat.ended", conversation_id=conversation.id, agent_id=agent.id)
        await self._state_changed(conversation, ConversationState.BOT, agent)
        await self._published(conversation, notice)
        return True

    # --- internals ---

    async def _go_live(
        self, tx: StoreTransaction, conversation: Conversation, agent: AgentRef, settings: Settings
    ) -> ChatMessage | None:
        """Make the conversation live and write the "agent joined" notice, in the visitor's
        language; None if it was live already. Runs inside a `Store.run` unit."""
        q = LiveChatQueries(tx)
        if not await q.change_state(
            conversation.id, ConversationState.LIVE, allowed_from=STARTABLE
        ):
            return None
        texts = settings.localization.for_language(await q.visitor_language(conversation.id))
        await self.mirror.state(tx, settings, conversation.id, LIVE, agent.name)
        notice = await q.append_message(
            conversation,
            Author.SYSTEM,
            texts.render("live_chat_started", agent_name=agent.name),
            channel=CHANNEL,
        )
        await self.mirror.message(tx, settings, ConversationState.LIVE, notice)
        return notice

    async def claim_mirror(self) -> ClaimMirror | None:
        """What an assignment's own unit of work calls so that the conversation's Slack thread
        shows who handles it now (None: two-way Slack is off). Asked before the unit, which
        may await nothing but its queries."""
        settings = await self.settings.recent()
        if not settings.slack.two_way:
            return None

        async def queue(tx: StoreTransaction, conversation_id: int, agent: AgentRef | None) -> None:
            conversation = await ConversationQueries(tx).conversation(conversation_id)
            if conversation is None or conversation.state not in MIRRORED_STATES:
                return
            if conversation.state is ConversationState.LIVE:
                if agent is not None:
                    await self.mirror.state(tx, settings, conversation_id, LIVE, agent.name)
                return
            state = CLAIMED if agent is not None else WAITING
            name = agent.name if agent is not None else None
            await self.mirror.state(tx, settings, conversation_id, state, name)

        return queue

    @staticmethod
    def _started(conversation: Conversation, agent: AgentRef) -> None:
        log.info("handoff.livechat.started", conversation_id=conversation.id, agent_id=agent.id)

    async def _conversation(self, conversation_id: int) -> Conversation:
        conversation = await self.store.run(
            lambda tx: ConversationQueries(tx).conversation(conversation_id), read_only=True
        )
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return conversation

    async def _messages_between(
        self, conversation_id: int, after_seq: int, until_seq: int
    ) -> list[ChatMessage]:
        """Every message with `after_seq < seq <= until_seq`, oldest first (pages of 500)."""
        found: list[ChatMessage] = []
        while after_seq < until_seq:
            page = await self.messages_after(conversation_id, after_seq, until_seq=until_seq)
            if not page:
                break
            found += page
            after_seq = page[-1].seq
        return found

    async def _language(self, conversation_id: int) -> str | None:
        return await self.store.run(
            lambda tx: LiveChatQueries(tx).visitor_language(conversation_id), read_only=True
        )

    async def _published(self, conversation: Conversation, message: ChatMessage) -> None:
        await self.broker.publish(
            ConversationEvent(
                "message.created", conversation.id, conversation.sender_id, message=message
            )
        )

    async def _state_changed(
        self, conversation: Conversation, state: ConversationState, agent: AgentRef
    ) -> None:
        await self.broker.publish(
            ConversationEvent(
                "state.changed", conversation.id, conversation.sender_id, state=state, agent=agent
            )
        )
