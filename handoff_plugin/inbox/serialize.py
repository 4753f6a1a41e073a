"""The JSON the inbox API returns (and the page renders, always as text)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from handoff_plugin.inbox.conversations import ConversationDetail
from handoff_plugin.inbox.review import TRIGGER_LABELS, Review
from handoff_plugin.models import (
    Agent,
    ChatMessage,
    ConversationPage,
    ConversationSummary,
    EscalationRecord,
    InternalNote,
    SettingChange,
    iso,
    visitor_display_name,
    visitor_ref_json,
)


def team_member_json(agent: Agent) -> dict[str, Any]:
    """An agent as admins see it on the Agents tab."""
    return {**agent.as_json(), "last_login_at": iso(agent.last_login_at)}


def change_json(change: SettingChange) -> dict[str, Any]:
    """An audit entry; a secret's values are never sent (they are not even stored)."""
    return {
        "id": change.id,
        "changed_at": iso(change.changed_at),
        "agent": {"id": change.agent_id, "email": change.agent_email}
        if change.agent_id is not None
        else None,
        "key": change.key,
        "secret": change.secret,
        "old": None if change.secret else change.old,
        "new": None if change.secret else change.new,
        "change": "changed" if change.secret else f"{_shown(change.old)} -> {_shown(change.new)}",
    }


def _shown(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, str):
        return repr(value) if len(value) <= 200 else repr(value[:200] + "…")
    return json.dumps(value, ensure_ascii=False)


def summary_json(item: ConversationSummary) -> dict[str, Any]:
    return {
        "id": item.id,
        "state": item.state.value,
        "channel": item.channel,
        "visitor": visitor_ref_json(item.visitor_id, item.email, item.first_name, item.last_name),
        "title": item.display_name,
        "last_message": item.last_message,
        "last_activity_at": iso(item.last_activity_at),
        "unread": item.unread,
        "assignee": item.assignee.as_json() if item.assignee else None,
        "waiting_since": iso(item.waiting_since),
    }


def page_json(page: ConversationPage) -> dict[str, Any]:
    return {
        "conversations": [summary_json(item) for item in page.conversations],
        "next_cursor": page.next_cursor.encode() if page.next_cursor else None,
        "counts": {"waiting": page.waiting, "live": page.live, "mine": page.mine},
    }


def escalation_json(e: EscalationRecord) -> dict[str, Any]:
    return {
        "id": e.id,
        "conversation_id": e.conversation_id,
        "trigger": e.trigger.value,
        "trigger_label": TRIGGER_LABELS[e.trigger],
        "message": e.message,
        "status": e.status,
        "created_at": iso(e.created_at),
        "closed_at": iso(e.closed_at),
        "visitor": visitor_ref_json(e.visitor_id, e.email, e.first_name, e.last_name),
    }


def timeline_message(m: ChatMessage) -> dict[str, Any]:
    return {"type": "message", **m.as_json()}


def escalation_item(e: EscalationRecord) -> dict[str, Any]:
    return {
        "type": "escalation",
        "created_at": iso(e.created_at),
        "trigger": e.trigger.value,
        "trigger_label": TRIGGER_LABELS[e.trigger],
        "message": e.message,
        "escalation_id": e.id,
    }


def note_item(note: InternalNote) -> dict[str, Any]:
    """An agent's internal note: for agents only (the visitor never sees it)."""
    return {"type": "note", **note.as_json()}


def timeline(detail: ConversationDetail) -> list[dict[str, Any]]:
    """Messages in `seq` order, with a marker before each live-chat notice and each escalation
    and internal note placed after the last message written before it."""
    markers = {m.seq: m for m in detail.markers}
    pending: list[tuple[datetime, int, dict[str, Any]]] = sorted(
        [(e.created_at, e.id, escalation_item(e)) for e in detail.escalations]
        + [(n.created_at, n.id, note_item(n)) for n in detail.notes],
        key=lambda entry: (entry[0], entry[2]["type"], entry[1]),
    )
    items: list[dict[str, Any]] = []

    def escalations_until(moment: datetime | None) -> None:
        """Escalations and agents' notes written before `moment` (None: all that are left)."""
        while pending and (moment is None or pending[0][0] < moment):
            items.append(pending.pop(0)[2])

    for message in detail.messages:
        escalations_until(message.created_at)
        marker = markers.get(message.seq)
        if marker is not None:
            items.append(
                {
                    "type": marker.kind,
                    "created_at": iso(marker.created_at),
                    "agent": marker.agent_name,
                    "reason": marker.reason,  # ended by itself: {"reason": "idle", "minutes"}
                }
            )
        items.append(timeline_message(message))
    escalations_until(None)
    return items


def detail_json(detail: ConversationDetail) -> dict[str, Any]:
    c = detail.conversation
    last_seq = detail.messages[-1].seq if detail.messages else 0  # of this page
    v = detail.visitor
    title = v.display_name if v else visitor_display_name(conversation_id=c.id)
    return {
        "conversation": {
            "id": c.id,
            "state": c.state.value,
            "channel": c.channel,
            "title": title,
            "created_at": iso(c.created_at),
            "last_seq": last_seq,
            "assignee": detail.assignee.as_json() if detail.assignee else None,
        },
        # The newest change of who handles it (who claimed, took over, transferred, with the
        # transfer's note); null: nobody ever did.
        "assignment": detail.assignment.as_json() if detail.assignment else None,
        "visitor": v.as_json() if v else None,
        "first_seen": iso(detail.first_seen),
        "timeline": timeline(detail),
        # The previous page: GET conversations/{id}?before_seq=<older.before_seq>; null: none.
        "older": {"before_seq": detail.older_before} if detail.older_before else None,
        "visitor_escalations": [escalation_json(e) for e in detail.visitor_escalations],
    }


def review_json(report: Review) -> dict[str, Any]:
    return {
        "from": report.period.first.isoformat(),
        "to": report.period.last.isoformat(),
        "truncated": report.truncated,
        "total": sum(len(d.escalations) for d in report.days),
        "days": [
            {
                "day": d.day.isoformat(),
                "counts": d.counts(),
                "escalations": [escalation_json(e) for e in d.escalations],
            }
            for d in report.days
        ],
        "csat": csat_json(report),
    }


def csat_json(report: Review) -> dict[str, Any]:
    """Satisfaction given in the period: `average` (1-5) and `count`, per day and per agent."""
    ratings = report.ratings

    def average(value: Any) -> dict[str, Any]:
        return {"average": value.average, "count": value.count}

    return {
        "average": ratings.overall.average if ratings.overall else None,
        "count": ratings.overall.count if ratings.overall else 0,
        "by_day": [
            {"day": day.isoformat(), **average(value)}
            for day, value in sorted(ratings.by_day.items(), reverse=True)
        ],
        "by_agent": [
            {"agent": agent.as_json(), **average(value)} for agent, value in ratings.by_agent
        ],
    }
