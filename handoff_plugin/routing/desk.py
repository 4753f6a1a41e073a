"""What the escalation and the inbox ask the desk: who is online, where a visitor stands in the
queue and how long they may wait, and whom a new conversation goes to."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff_plugin.config.settings import Settings
from handoff_plugin.config.texts import Texts
from handoff_plugin.models import AgentPresence, PresenceStatus
from handoff_plugin.routing.presence import effective_presence
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.queries.desk import DeskQueries
from handoff_plugin.store.queries.outbox import OutboxQueries

WAIT_HISTORY = 20  # the expected wait is the median of this many recent first replies
MIN_WAIT_HISTORY = 5  # fewer than this: no estimate shown
ROTATION = "auto_assign"


@dataclass(frozen=True)
class DeskMember:
    agent: AgentPresence
    presence: PresenceStatus
    live_chats: int

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.agent.agent_id,
            "name": self.agent.name,
            "email": self.agent.email,
            "presence": self.presence,
            "chosen_presence": self.agent.chosen,
            "live_chats": self.live_chats,
        }


async def members(tx: StoreTransaction, settings: Settings) -> list[DeskMember]:
    q = DeskQueries(tx)
    now = tx.clock()
    away_after = timedelta(minutes=settings.presence.away_after)
    counts = await q.live_chat_counts()
    return [
        DeskMember(p, effective_presence(p, now, away_after), counts.get(p.agent_id, 0))
        for p in await q.presences()
    ]


async def anyone_online(tx: StoreTransaction, settings: Settings) -> bool:
    return any(m.presence == "online" for m in await members(tx, settings))


def median_wait(waits: Sequence[timedelta]) -> timedelta | None:
    """The median first-reply wait, or None with too little history to say."""
    if len(waits) < MIN_WAIT_HISTORY:
        return None
    return timedelta(seconds=statistics.median(w.total_seconds() for w in waits))


async def expected_wait(tx: StoreTransaction) -> timedelta | None:
    return median_wait(await DeskQueries(tx).recent_waits(WAIT_HISTORY))


def queue_text(texts: Texts, position: int, wait: timedelta | None) -> str:
    """ "You are number 2 in line. The expected wait is about 4 minutes." """
    line = texts.render("queue_position", position=position)
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        # "about 1 minutes" reads wrong in every language: one minute has its own text.
        wait_line = (
            texts.render("expected_wait_one")
            if minutes == 1
            else texts.render("expected_wait", minutes=minutes)
        )
        line += " " + wait_line
    return line


def next_in_rotation(candidates: Sequence[str], last: str | None, _previous: object) -> str:
    """Round robin among equals: the first agent id after the one who got the last one."""
    ordered = sorted(candidates, key=int)
    if last is not None:
        for candidate in ordered:
            if int(candidate) > int(last):
                return candidate
    return ordered[0]


async def pick_agent(tx: StoreTransaction, settings: Settings) -> int | None:
    """The online agent with the fewest open conversations below `routing.max_live_chats`
    (round robin among equals), or None if nobody has room."""
    online = [
        m
        for m in await members(tx, settings)
        if m.presence == "online" and m.live_chats < settings.routing.max_live_chats
    ]
    if not online:
        return None
    fewest = min(m.live_chats for m in online)
    tied = [str(m.agent.agent_id) for m in online if m.live_chats == fewest]
    chosen = await OutboxQueries(tx).advance_rotation(ROTATION, tied, next_in_rotation)
    return int(chosen)


def is_due(now: datetime, since: datetime, minutes: float) -> bool:
    """`minutes` have passed since `since` (0 minutes: never)."""
    return minutes > 0 and now - since >= timedelta(minutes=minutes)
