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
    SettingChange,
    Visitor,
)


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def agent_json(agent: Agent) -> dict[str, Any]:
    return {"id": agent.id, "email": agent.email, "name": agent.name, "role": agent.role}


def team_member_json(agent: Agent) -> dict[str, Any]:
    """An agent as admins see it on the Agents tab."""
    return {**agent_json(agent), "last_login_at": when(agent.last_login_at)}


def change_json(change: SettingChange) -> dict[str, Any]:
    """An audit entry; a secret's values are never sent (they are not even stored)."""
    return {
        "id": change.id,
        "changed_at": when(change.changed_at),
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
        "visitor": {
            "id": item.visitor_id,
            "email": item.email,
            "name": " ".join(p for p in (item.first_name, item.last_name) if p) or None,
        },
        "title": item.display_name,
        "last_message": item.last_message,
        "last_activity_at": when(item.last_activity_at),
        "unread": item.unread,
    }


def page_json(page: ConversationPage) -> dict[str, Any]:
    return {
        "conversations": [summary_json(item) for item in page.conversations],
        "next_cursor": page.next_cursor.encode() if page.next_cursor else None,
        "counts": {"waiting": page.waiting, "live": page.live},
    }


def escalation_json(e: EscalationRecord) -> dict[str, Any]:
    return {
        "id": e.id,
        "conversation_id": e.conversation_id,
        "trigger": e.trigger.value,
        "trigger_label": TRIGGER_LABELS[e.trigger],
        "message": e.message,
        "status": e.status,
        "created_at": when(e.created_at),
        "closed_at": when(e.closed_at),
        "visitor": {
            "id": e.visitor_id,
            "email": e.email,
            "name": " ".join(p for p in (e.first_name, e.last_name) if p) or None,
        },
    }


def message_json(m: ChatMessage) -> dict[str, Any]:
    return {
        "type": "message",
        "seq": m.seq,
        "author": m.author.value,
        "text": m.text,
        "payload": m.payload,
        "agent": {"id": m.agent.id, "name": m.agent.name} if m.agent else None,
        "channel": m.channel,
        "at": when(m.created_at),
    }


def visitor_json(visitor: Visitor | None) -> dict[str, Any] | None:
    if visitor is None:
        return None
    name = " ".join(p for p in (visitor.first_name, visitor.last_name) if p)
    return {
        "id": visitor.id,
        "email": visitor.email,
        "first_name": visitor.first_name,
        "last_name": visitor.last_name,
        "name": name or None,
        "phone": visitor.phone,
        "created_at": when(visitor.created_at),
    }


def timeline(detail: ConversationDetail) -> list[dict[str, Any]]:
    """Messages in `seq` order, with a marker before each live-chat notice and each escalation
    placed after the last message written before it."""
    markers = {m.seq: m for m in detail.markers}
    pending = sorted(detail.escalations, key=lambda e: (e.created_at, e.id))
    items: list[dict[str, Any]] = []

    def escalations_until(moment: datetime | None) -> None:
        while pending and (moment is None or pending[0].created_at < moment):
            e = pending.pop(0)
            items.append(
                {
                    "type": "escalation",
                    "at": when(e.created_at),
                    "trigger": e.trigger.value,
                    "trigger_label": TRIGGER_LABELS[e.trigger],
                    "message": e.message,
                    "escalation_id": e.id,
                }
            )

    for message in detail.messages:
        escalations_until(message.created_at)
        marker = markers.get(message.seq)
        if marker is not None:
            items.append(
                {
                    "type": marker.kind,
                    "at": when(marker.created_at),
                    "agent": marker.agent_name,
                }
            )
        items.append(message_json(message))
    escalations_until(None)
    return items


def detail_json(detail: ConversationDetail) -> dict[str, Any]:
    c = detail.conversation
    last_seq = detail.messages[-1].seq if detail.messages else 0
    title = detail.visitor.display_name if detail.visitor else f"Visitor #{c.id}"
    return {
        "conversation": {
            "id": c.id,
            "state": c.state.value,
            "channel": c.channel,
            "title": title,
            "created_at": when(c.created_at),
            "last_seq": last_seq,
        },
        "visitor": visitor_json(detail.visitor),
        "first_seen": when(detail.first_seen),
        "timeline": timeline(detail),
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
    }
