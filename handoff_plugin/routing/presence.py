"""The presence others see: online, away or offline, from what the desk knows of an agent.

An open inbox page checks in every few seconds (the event stream's heartbeat); a page not
heard from for `OFFLINE_AFTER` is gone. The status the agent chose comes next (away or offline by
hand), then idleness: no click or keystroke for `presence.away_after` minutes is away.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handoff_plugin.models import AgentPresence, PresenceStatus

OFFLINE_AFTER = timedelta(seconds=60)


def effective_presence(
    agent: AgentPresence, now: datetime, away_after: timedelta
) -> PresenceStatus:
    if agent.last_seen_at is None or now - agent.last_seen_at > OFFLINE_AFTER:
        return "offline"
    if agent.chosen != "online":
        return agent.chosen
    if agent.last_active_at is None or now - agent.last_active_at > away_after:
        return "away"
    return "online"
