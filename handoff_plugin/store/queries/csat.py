"""Typed queries of satisfaction surveys (CSAT): asked once per ended live chat, rated 1-5, an
optional comment; averages per day and per agent for the Escalations page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from handoff_plugin.models import AgentRef
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import csat_surveys, escalations, messages

s = csat_surveys


@dataclass(frozen=True)
class Survey:
    id: int
    conversation_id: int
    escalation_id: int | None
    agent: AgentRef | None
    status: str  # asked | rated | commented
    rating: int | None
    comment: str | None
    asked_at: datetime


@dataclass(frozen=True)
class Average:
    """The mean of `count` ratings."""

    average: float
    count: int


@dataclass(frozen=True)
class Ratings:
    overall: Average | None
    by_day: dict[date, Average]  # the day (UTC) each was given
    by_agent: list[tuple[AgentRef, Average]]  # best first
    by_escalation: dict[int, tuple[int, str | None]]  # escalation id -> rating, comment


def _survey(row: sa.engine.Row) -> Survey:
    agent = AgentRef(row.agent_id, row.agent_name or "") if row.agent_id else None
    return Survey(
        row.id,
        row.conversation_id,
        row.escalation_id,
        agent,
        row.status,
        row.rating,
        row.comment,
        row.asked_at,
    )


class CsatQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    async def was_asked(self, conversation_id: int) -> bool:
        """Whether this conversation's visitor was ever asked (a visitor is asked only once)."""
        query = sa.select(s.c.id).where(s.c.conversation_id == conversation_id).limit(1)
        return (await self.conn.execute(query)).first() is not None

    async def ask(self, conversation_id: int, agent: AgentRef | None) -> int:
        latest = (
            sa.select(sa.func.max(escalations.c.id))
            .where(escalations.c.conversation_id == conversation_id)
            .scalar_subquery()
        )
        result = await self.conn.execute(
            s.insert().values(
                conversation_id=conversation_id,
                escalation_id=latest,
                agent_id=agent.id if agent else None,
                agent_name=agent.name if agent else None,
                status="asked",
                asked_at=self.tx.clock(),
            )
        )
        return int(result.inserted_primary_key[0])

    async def open_survey(self, conversation_id: int) -> Survey | None:
        """The conversation's survey still waiting for a rating, if any."""
        query = (
            sa.select(s)
            .where(s.c.conversation_id == conversation_id, s.c.status == "asked")
            .order_by(s.c.id.desc())
            .limit(1)
        )
        row = (await self.conn.execute(query)).first()
        return _survey(row) if row else None

    async def ignored(self, survey: Survey) -> bool:
        """Whether the visitor wrote since the question (then it stays unanswered for good)."""
        query = (
            sa.select(messages.c.id)
            .where(messages.c.conversation_id == survey.conversation_id)
            .where(messages.c.author == "visitor", messages.c.created_at > survey.asked_at)
            .limit(1)
        )
        return (await self.conn.execute(query)).first() is not None

    async def rate(self, survey_id: int, rating: int) -> bool:
        """Keep the rating; False if the survey was rated already (a second click)."""
        result = await self.conn.execute(
            s.update()
            .where(s.c.id == survey_id, s.c.status == "asked")
            .values(status="rated", rating=rating, rated_at=self.tx.clock())
        )
        return bool(result.rowcount)

    async def comment(self, survey_id: int, text: str) -> bool:
        result = await self.conn.execute(
            s.update()
            .where(s.c.id == survey_id, s.c.status == "rated")
            .values(status="commented", comment=text)
        )
        return bool(result.rowcount)

    async def ratings_between(self, start: datetime, end: datetime) -> Ratings:
        query = (
            sa.select(s.c.rating, s.c.rated_at, s.c.agent_id, s.c.agent_name, s.c.escalation_id,
                      s.c.comment)
            .where(s.c.rated_at >= start, s.c.rated_at < end, s.c.rating.is_not(None))
        )  # fmt: skip
        rows = (await self.conn.execute(query)).all()
        days: dict[date, list[int]] = {}
        agents: dict[str, tuple[AgentRef, list[int]]] = {}
        by_escalation: dict[int, tuple[int, str | None]] = {}
        for row in rows:
            days.setdefault(row.rated_at.date(), []).append(row.rating)
            if row.agent_id:
                ref = AgentRef(row.agent_id, row.agent_name or "")
                agents.setdefault(row.agent_id, (ref, []))[1].append(row.rating)
            if row.escalation_id is not None:
                by_escalation[row.escalation_id] = (row.rating, row.comment)
        by_agent = sorted(
            ((ref, _average(values)) for ref, values in agents.values()),
            key=lambda pair: (-pair[1].average, pair[0].name),
        )
        return Ratings(
            _average([row.rating for row in rows]) if rows else None,
            {day: _average(values) for day, values in days.items()},
            by_agent,
            by_escalation,
        )


def _average(values: list[int]) -> Average:
    return Average(round(sum(values) / len(values), 2), len(values))
