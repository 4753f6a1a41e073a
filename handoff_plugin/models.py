"""Typed value objects shared by the services, the notifiers and the channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal


class ConversationState(str, Enum):
    BOT = "bot"  # the bot answers
    ESCALATED = "escalated"  # waiting for an agent; the bot still answers
    LIVE = "live"  # an agent is talking; the bot is silent


class Trigger(str, Enum):
    INTENT = "intent"  # the visitor asked for a person
    FALLBACK = "fallback"  # the bot was unsure, offered a person, the visitor accepted
    PAYLOAD = "payload"  # the website sent /human_handoff (a button, a link)


@dataclass(frozen=True)
class VisitorProfile:
    """What is known about the visitor; every field optional."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Visitor:
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    created_at: datetime

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or f"Visitor {self.id}"


@dataclass(frozen=True)
class Conversation:
    id: int
    sender_id: str
    channel: str | None
    state: ConversationState
    visitor_id: int | None
    last_message: str | None
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TranscriptLine:
    """One line of the conversation as the team sees it in a notification."""

    speaker: Literal["visitor", "bot"]
    text: str


@dataclass(frozen=True)
class Escalation:
    id: int
    conversation_id: int
    visitor: Visitor
    trigger: Trigger
    message: str
    last_message: str | None
    created_at: datetime
    # The conversation's latest lines when it was escalated (not stored; the tracker has it all).
    transcript: tuple[TranscriptLine, ...] = ()


class Author(str, Enum):
    """Who wrote a message of a conversation."""

    VISITOR = "visitor"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"  # texts of the product itself, e.g. "Ann has joined the chat"


@dataclass(frozen=True)
class AgentRef:
    """The agent who speaks in a live chat, as shown to visitors and kept in transcripts."""

    id: str
    name: str


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation's transcript, numbered by `seq` (1, 2, ...) per conversation.

    `payload` holds what is not plain text (buttons, image, attachment, elements, custom) in Rasa's
    response shape."""

    conversation_id: int
    seq: int
    author: Author
    text: str | None
    payload: dict[str, Any] | None
    agent: AgentRef | None
    channel: str | None
    created_at: datetime


@dataclass(frozen=True)
class LiveChatSession:
    """A visitor's live-chat session: `key` is the conversation's Rasa sender id.

    Nothing is stored until the visitor first writes: until then `conversation_id` is None (a page
    view that never chats leaves no conversation behind)."""

    key: str
    conversation_id: int | None
    delivered_seq: int  # the newest message known to have been sent to one of its sockets
