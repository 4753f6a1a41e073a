"""Value objects of the agent inbox."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from handoff_plugin.errors import InvalidInput
from handoff_plugin.models import AgentRef, ConversationState, Trigger

Status = Literal["waiting", "live", "all"]
STATUSES: dict[str, ConversationState | None] = {
    "waiting": ConversationState.ESCALATED,
    "live": ConversationState.LIVE,
    "all": None,
}


@dataclass(frozen=True)
class Agent:
    id: int
    email: str
    name: str
    created_at: datetime
    last_login_at: datetime | None

    @property
    def ref(self) -> AgentRef:
        """How the agent appears in live chat and transcripts."""
        return AgentRef(str(self.id), self.name)


@dataclass(frozen=True)
class AgentSession:
    """A logged-in browser: the agent, and the CSRF token its state-changing requests send."""

    agent: Agent
    csrf_token: str
    last_seen_at: datetime
    expires_at: datetime


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

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or f"Visitor #{self.id}"


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[ConversationSummary]
    next_cursor: Cursor | None
    waiting: int  # conversations escalated and not yet taken, in the whole inbox
    live: int


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


EventKind = Literal["escalation.created", "live.started", "live.ended"]


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
