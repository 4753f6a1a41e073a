"""Typing indicators both ways: "Ann is typing…" for the visitor, "typing…" for the agent.

A typing event is a hint, not a record: it is published on the `Broker` (so it reaches every
replica's visitor sockets and inbox streams the way messages do) and never stored. A lost one
only leaves an indicator to time out on the other side: the adapter script and the inbox page
clear theirs a few seconds after the last refresh, and on the next message.

- The agent's side (`inbox/typing.py`): the inbox page, or a script, reports `{"typing": ...}`
  for a conversation it may answer; the visitor's sockets get `agent_typing`.
- The visitor's side: rasa-webchat with the adapter script sends `user_typing {"typing": ...}`;
  it is passed on only while an agent may be watching (escalated or live), and a "still
  typing" at most once every `refresh` seconds per socket (`VisitorTypingGate`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from handoff_plugin.errors import InvalidInput
from handoff_plugin.livechat.broker import Broker, ConversationEvent
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.models import AgentRef, Conversation, ConversationState

AGENT_TYPING = "agent_typing"  # to the visitor: {"name", "typing"[, "avatar_url"]}
USER_TYPING = "user_typing"  # from the visitor: {"typing": true | false}
WATCHED = (ConversationState.ESCALATED, ConversationState.LIVE)
REFRESH = 2.0  # seconds between two "still typing" of one visitor socket passed on
RESTART = 0.5  # seconds from a stop to the next start passed on (a toggling socket costs little)


def parse_typing(body: object) -> bool:
    """`{"typing": true | false}` -> the flag; anything else is `InvalidInput`."""
    if not isinstance(body, dict) or not isinstance(body.get("typing"), bool):
        raise InvalidInput('send {"typing": true} while typing, {"typing": false} when stopped')
    return bool(body["typing"])


def agent_typing_event(event: ConversationEvent) -> dict[str, Any] | None:
    """What the visitor's widget gets for a typing event (None: not the agent's)."""
    if event.kind != "typing" or event.agent is None or event.typing is None:
        return None
    data: dict[str, Any] = {"name": event.agent.name, "typing": event.typing}
    if event.agent.avatar_url:
        data["avatar_url"] = event.agent.avatar_url
    return data


async def publish_agent_typing(
    broker: Broker, conversation: Conversation, agent: AgentRef, typing: bool
) -> None:
    await broker.publish(
        ConversationEvent(
            "typing", conversation.id, conversation.sender_id, agent=agent, typing=typing
        )
    )


async def publish_visitor_typing(
    service: LiveChatService, conversation_id: int, sender_id: str, typing: bool
) -> bool:
    """Tell the agents' inbox pages; False (nothing sent) while the bot alone answers."""
    if await service.state_of(sender_id) not in WATCHED:
        return False
    await service.broker.publish(
        ConversationEvent("typing", conversation_id, sender_id, typing=typing)
    )
    return True


@dataclass
class VisitorTypingGate:
    """Which visitor socket last said what, and when (this process's sockets only)."""

    refresh: float = REFRESH
    restart: float = RESTART
    monotonic: Callable[[], float] = time.monotonic
    _last: dict[str, tuple[bool, float]] = field(default_factory=dict)

    def passes(self, sid: str, typing: bool) -> bool:
        """Whether to pass this on: a start, a "still typing" after `refresh` seconds, or a
        stop of a socket that had started (a stop with nothing shown clears nothing)."""
        previous = self._last.get(sid)
        now = self.monotonic()
        if typing and previous is not None:
            wait = self.refresh if previous[0] else self.restart
            if now - previous[1] < wait:
                return False
        if not typing and (previous is None or not previous[0]):
            return False
        self._last[sid] = (typing, now)
        return True

    def forget(self, sid: str) -> bool:
        """The socket is gone; True if it was typing (its indicator should be cleared)."""
        previous = self._last.pop(sid, None)
        return previous is not None and previous[0]
