"""Typed value objects shared by the store, the services, the notifiers and the channels."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from handoff_plugin.errors import InvalidInput


def iso(value: datetime | None) -> str | None:
    """A moment as the JSON of the API, the broker and the SSE stream write it (ISO 8601)."""
    return value.isoformat() if value is not None else None


def full_name(first_name: str | None, last_name: str | None) -> str | None:
    return " ".join(p for p in (first_name, last_name) if p) or None


def visitor_display_name(
    *,
    visitor_id: int | None = None,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    conversation_id: int | None = None,
) -> str:
    """How the product names a visitor everywhere: the name, else the email, else
    "Visitor #<visitor id>"; a conversation with no visitor record yet names its conversation."""
    named = full_name(first_name, last_name) or email
    if named:
        return named
    if visitor_id is not None:
        return f"Visitor #{visitor_id}"
    return f"Visitor (conversation #{conversation_id})" if conversation_id else "Visitor"


def visitor_ref_json(
    visitor_id: int | None, email: str | None, first_name: str | None, last_name: str | None
) -> dict[str, Any]:
    """The visitor as lists show it (conversation list, escalations)."""
    return {"id": visitor_id, "email": email, "name": full_name(first_name, last_name)}


def short_id(sender_id: str | None) -> str:
    """A sender id as logs show it: a prefix to correlate lines, never the whole id (it is the
    visitor's session key on some channels)."""
    if not sender_id:
        return ""
    return sender_id if len(sender_id) <= 8 else f"{sender_id[:8]}\u2026"


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
        return visitor_display_name(
            visitor_id=self.id,
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            **visitor_ref_json(self.id, self.email, self.first_name, self.last_name),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "created_at": iso(self.created_at),
        }


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
    assignee_id: int | None = None  # the agent handling it (see `Assignee`)


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
    avatar_url: str | None = None  # the agent's picture for visitors (http(s)), if they set one

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.avatar_url:
            data["avatar_url"] = self.avatar_url
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AgentRef | None:
        if not data:
            return None
        avatar = data.get("avatar_url")
        return cls(str(data["id"]), str(data["name"]), str(avatar) if avatar else None)


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

    def as_json(self) -> dict[str, Any]:
        """The one JSON shape of a message: API answers, broker events and the SSE stream."""
        return {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "author": self.author.value,
            "text": self.text,
            "payload": self.payload,
            "agent": self.agent.as_json() if self.agent else None,
            "channel": self.channel,
            "created_at": iso(self.created_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatMessage:
        return cls(
            conversation_id=int(data["conversation_id"]),
            seq=int(data["seq"]),
            author=Author(data["author"]),
            text=data.get("text"),
            payload=data.get("payload"),
            agent=AgentRef.from_json(data.get("agent")),
            channel=data.get("channel"),
            created_at=datetime.fromisoformat(data["created_at"]),
        )


@dataclass(frozen=True)
class InternalNote:
    """A note an agent left on a conversation for the other agents; the visitor never sees it."""

    id: int
    conversation_id: int
    agent: AgentRef
    text: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The one JSON shape of a note: the API, the event log, the broker and the SSE stream."""
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "agent": self.agent.as_json(),
            "text": self.text,
            "created_at": iso(self.created_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InternalNote:
        agent = AgentRef.from_json(data.get("agent"))
        return cls(
            id=int(data["id"]),
            conversation_id=int(data["conversation_id"]),
            agent=agent or AgentRef("", ""),
            text=str(data["text"]),
            created_at=datetime.fromisoformat(data["created_at"]),
        )


@dataclass(frozen=True)
class CannedReply:
    """A saved reply agents insert with `/shortcut`; `text` may hold placeholders."""

    id: int
    language: str
    shortcut: str
    title: str
    text: str
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "language": self.language,
            "shortcut": self.shortcut,
            "title": self.title,
            "text": self.text,
            "updated_at": iso(self.updated_at),
        }


# The parts of a Rasa bot response worth keeping beside its text.
RICH_KEYS = ("quick_replies", "buttons", "image", "attachment", "elements", "custom")


def split_bot_response(response: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """A Rasa bot response (`BotUttered.message()`) as (text, rich parts worth keeping)."""
    text = response.get("text")
    rich = {key: response[key] for key in RICH_KEYS if response.get(key)}
    return (text if isinstance(text, str) and text else None), rich


@dataclass(frozen=True)
class LiveChatSession:
    """A visitor's live-chat session: `key` is the conversation's Rasa sender id.

    Nothing is stored until the visitor first writes: until then `conversation_id` is None (a page
    view that never chats leaves no conversation behind)."""

    key: str
    conversation_id: int | None
    delivered_seq: int  # the newest message known to have been sent to one of its sockets
    last_seen_at: datetime | None = None  # the visitor's last visit (None: not stored yet)


# Notification deliveries (the outbox).


class DeliveryStatus(str, Enum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    DELIVERED = "delivered"
    FAILED = "failed"  # permanent error, or retries exhausted
    DISABLED = "disabled"  # the notifier was turned off (or the webhook answered 410 Gone)


class AttemptStatus(str, Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient failure, another attempt is scheduled
    FAILED = "failed"  # permanent failure, or the last retry
    DISABLED = "disabled"
    INTERRUPTED = "interrupted"  # the sending process stopped before it knew the outcome


@dataclass(frozen=True)
class Delivery:
    id: int
    escalation_id: int
    kind: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    last_response_code: int | None
    webhook_id: str
    queued_at: datetime
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeliveryAttempt:
    delivery_id: int
    number: int
    started_at: datetime
    finished_at: datetime
    status: AttemptStatus
    error: str | None
    response_code: int | None
    owner: str | None


# The agent inbox.

Status = Literal["waiting", "live", "mine", "all"]
STATUSES: dict[str, ConversationState | None] = {
    "waiting": ConversationState.ESCALATED,
    "live": ConversationState.LIVE,
    "mine": None,  # assigned to the agent who asks, in any state
    "all": None,
}


Role = Literal["admin", "agent"]
ROLES: tuple[Role, ...] = ("admin", "agent")


@dataclass(frozen=True)
class Agent:
    id: int
    email: str
    name: str
    created_at: datetime
    last_login_at: datetime | None
    role: Role = "agent"  # admins also change settings, manage agents and export
    avatar_url: str | None = None  # shown to visitors next to the agent's messages (migration 0010)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def ref(self) -> AgentRef:
        """How the agent appears in live chat and transcripts."""
        return AgentRef(str(self.id), self.name, self.avatar_url)

    def as_json(self) -> dict[str, Any]:
        """The agent as the inbox API shows it (the login answer); never the password."""
        data: dict[str, Any] = {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
        }
        if self.avatar_url:
            data["avatar_url"] = self.avatar_url
        return data


@dataclass(frozen=True)
class Assignee:
    """The one agent handling a conversation: others see who, and cannot answer unless they take
    it over."""

    id: int
    name: str
    email: str

    @property
    def ref(self) -> AgentRef:
        return AgentRef(str(self.id), self.name)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Assignee | None:
        return cls(int(data["id"]), str(data["name"]), str(data["email"])) if data else None

    @classmethod
    def of(cls, agent: Agent) -> Assignee:
        return cls(agent.id, agent.name, agent.email)


AssignmentAction = Literal[
    "claimed", "taken_over", "transferred", "released", "ended", "assigned", "abandoned"
]

# Who changed an assignment when no agent did (automatic assignment, a timeout).
ROUTING = Assignee(0, "Automatic routing", "")

PresenceStatus = Literal["online", "away", "offline"]
PRESENCE_STATUSES: tuple[PresenceStatus, ...] = ("online", "away", "offline")


@dataclass(frozen=True)
class AgentPresence:
    """What the desk knows of an agent's presence: the status they chose, when an open inbox
    page of theirs last checked in, and when they last used it (see routing/presence.py)."""

    agent_id: int
    name: str
    email: str
    chosen: PresenceStatus
    last_seen_at: datetime | None
    last_active_at: datetime | None


@dataclass(frozen=True)
class Assignment:
    """A change of who handles a conversation, as the inbox shows it and its event log keeps it.

    `assignee` is who has it now (None: back in the queue), `previous` who had it, `by` who did it
    (for a transfer, the agent who handed it over), `note` the transfer's note to the new agent."""

    conversation_id: int
    action: AssignmentAction
    assignee: Assignee | None
    previous: Assignee | None
    by: Assignee
    note: str | None = None
    at: datetime | None = None

    def detail(self) -> dict[str, Any]:
        """What the event log's `detail` column keeps (the conversation is the row's own)."""
        return {
            "action": self.action,
            "assignee": self.assignee.as_json() if self.assignee else None,
            "previous": self.previous.as_json() if self.previous else None,
            "by": self.by.as_json(),
            "note": self.note,
        }

    def as_json(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, **self.detail(), "at": iso(self.at)}

    @classmethod
    def from_detail(
        cls, conversation_id: int, data: dict[str, Any], at: datetime | None = None
    ) -> Assignment:
        by = Assignee.from_json(data["by"])
        assert by is not None
        return cls(
            conversation_id,
            data["action"],
            Assignee.from_json(data.get("assignee")),
            Assignee.from_json(data.get("previous")),
            by,
            data.get("note"),
            at,
        )


@dataclass(frozen=True)
class AgentSession:
    """A logged-in browser: the agent, and the CSRF token its state-changing requests send."""

    agent: Agent
    csrf_token: str
    last_seen_at: datetime
    expires_at: datetime
    started_at: datetime | None = None  # the login; the session never outlives its max age


@dataclass(frozen=True)
class Cursor:
    """Where the next page of the conversation list starts: after (activity, id)."""

    activity_at: datetime
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.activity_at.isoformat(), self.id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            when, ident = json.loads(raw)
            activity_at = datetime.fromisoformat(when)
            if activity_at.tzinfo is None or not isinstance(ident, int):
                raise ValueError(value)
            return cls(activity_at, ident)
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
            raise InvalidInput(
                "cursor is not one this server returned; start again without it"
            ) from None


@dataclass(frozen=True)
class ConversationSummary:
    """One row of the conversation list."""

    id: int
    state: ConversationState
    channel: str | None
    visitor_id: int | None
    email: str | None
    first_name: str | None
    last_name: str | None
    last_message: str | None
    last_activity_at: datetime
    unread: bool
    assignee: Assignee | None = None
    waiting_since: datetime | None = None  # waiting for an agent: since the escalation

    @property
    def display_name(self) -> str:
        return visitor_display_name(
            visitor_id=self.visitor_id,
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            conversation_id=self.id,
        )


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[ConversationSummary]
    next_cursor: Cursor | None
    waiting: int  # conversations escalated and not yet taken, in the whole inbox
    live: int
    mine: int = 0  # assigned to the agent who asked


@dataclass(frozen=True)
class EscalationRecord:
    id: int
    conversation_id: int
    visitor_id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    trigger: Trigger
    message: str
    status: str  # open | closed
    created_at: datetime
    closed_at: datetime | None


MarkerKind = Literal["live.started", "live.ended"]


@dataclass(frozen=True)
class LiveMarker:
    """Live chat started or ended: shown in the transcript before the notice `seq`."""

    kind: MarkerKind
    seq: int
    agent_name: str | None
    created_at: datetime
    reason: dict[str, Any] | None = None  # live.ended by itself: {"reason": "idle", "minutes"}


EventKind = Literal[
    "escalation.created", "live.started", "live.ended", "assignment.changed", "note.created"
]


@dataclass(frozen=True)
class InboxEvent:
    """One row of the inbox event log."""

    id: int
    kind: EventKind
    conversation_id: int
    sender_id: str
    seq: int | None
    agent: AgentRef | None
    origin: str
    created_at: datetime
    detail: dict[str, Any] | None = None  # assignment.changed: `Assignment.detail()`


@dataclass(frozen=True)
class SettingChange:
    """One entry of the settings audit log. For a secret, `old` and `new` are None: the log only
    says that it changed."""

    id: int
    changed_at: datetime
    agent_id: int | None  # None: the server itself (e.g. it turned a broken notifier off)
    agent_email: str | None
    key: str  # section.key, e.g. "webhook.url" or "localization.texts.de.email_prompt"
    old: Any
    new: Any
    secret: bool
