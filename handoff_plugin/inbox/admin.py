"""What only admins may do in the inbox: change settings, manage agents, read the settings audit
log, export escalations. The API's handlers ask here; agents get 403 with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handoff_plugin.errors import InvalidInput, PermissionDenied
from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.inbox.serialize import change_json, team_member_json
from handoff_plugin.models import Agent
from handoff_plugin.store import Store
from handoff_plugin.store.queries.settings import Actor, SettingsQueries

AUDIT_PAGE = 50
MAX_AUDIT_PAGE = 200


class AdminOnly(PermissionDenied):
    def __init__(self, what: str) -> None:
        super().__init__(f"Only admins can {what}. Ask an admin of this inbox.")


def require_admin(agent: Agent, what: str) -> None:
    if not agent.is_admin:
        raise AdminOnly(what)


def actor(agent: Agent) -> Actor:
    return Actor(agent.id, agent.email)


def _parse_int(value: str | None, name: str, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be a number from {low} to {high}")
    return number


@dataclass(frozen=True)
class Team:
    """Agents managed from the Settings page's Agents tab, and the audit log it shows."""

    agents: AgentService
    store: Store

    async def members(self, me: Agent) -> dict[str, Any]:
        require_admin(me, "manage agents")
        return {"agents": [team_member_json(a) for a in await self.agents.all()]}

    async def add(self, me: Agent, body: object) -> dict[str, Any]:
        require_admin(me, "manage agents")
        if not isinstance(body, dict):
            raise InvalidInput(
                'send {"email": "...", "name": "...", "password": "...", "role": "agent"}'
            )
        agent = await self.agents.add(
            body.get("email"), body.get("name"), body.get("password"), body.get("role", "agent")
        )
        return {"agent": team_member_json(agent)}

    async def remove(self, me: Agent, agent_id: int) -> dict[str, Any]:
        require_admin(me, "manage agents")
        agent = await self.agents.remove_by(me, agent_id)
        return {"removed": team_member_json(agent)}

    async def audit(self, me: Agent, query: dict[str, str]) -> dict[str, Any]:
        """Newest first; `next_cursor` is the `cursor` of the following page (None: no more)."""
        require_admin(me, "read the settings audit log")
        limit = _parse_int(query.get("limit"), "limit", 1, MAX_AUDIT_PAGE) or AUDIT_PAGE
        before = _parse_int(query.get("cursor"), "cursor", 1, 2**31 - 1)
        async with self.store.transaction() as tx:
            changes = await SettingsQueries(tx).changes(limit + 1, before)
        page, more = changes[:limit], len(changes) > limit
        return {
            "changes": [change_json(c) for c in page],
            "next_cursor": str(page[-1].id) if more else None,
        }
