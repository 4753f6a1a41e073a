"""Escalation review: escalations by day with their trigger and the message that caused them,
so bot builders see what the bot failed at; and the same as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from handoff_plugin.errors import InvalidInput
from handoff_plugin.models import EscalationRecord, Trigger, full_name
from handoff_plugin.store import Store
from handoff_plugin.store.queries.csat import CsatQueries, Ratings
from handoff_plugin.store.queries.inbox import InboxQueries

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_ROWS = 10_000
TRIGGER_LABELS = {
    Trigger.INTENT: "asked for a person",
    Trigger.FALLBACK: "accepted the bot's offer (low confidence)",
    Trigger.PAYLOAD: "website button or link",
}


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), timezone.utc)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), timezone.utc)


def parse_period(start: str | None, end: str | None, today: date) -> Period:
    """`from`/`to` as YYYY-MM-DD (UTC days, inclusive); by default the last 30 days."""

    def day(value: str, name: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name} must be a date like 2026-02-09, not {value!r}") from None

    last = day(end, "to") if end else today
    first = day(start, "from") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput("from must not be after to")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"choose at most {MAX_DAYS} days")
    return Period(first, last)


@dataclass(frozen=True)
class Day:
    day: date
    escalations: list[EscalationRecord]

    def counts(self) -> dict[str, int]:
        return {t.value: sum(1 for e in self.escalations if e.trigger is t) for t in Trigger}


@dataclass(frozen=True)
class Review:
    period: Period
    days: list[Day]  # newest first, only days with escalations
    truncated: bool  # more than MAX_ROWS escalations: narrow the period
    # Satisfaction (CSAT) given in the period: overall, per day, per agent, per escalation.
    ratings: Ratings = Ratings(None, {}, [], {})


async def review(store: Store, period: Period) -> Review:
    async with store.transaction() as tx:
        rows = await InboxQueries(tx).escalations_between(period.start, period.end, MAX_ROWS + 1)
        ratings = await CsatQueries(tx).ratings_between(period.start, period.end)
    by_day: dict[date, list[EscalationRecord]] = {}
    for row in rows[:MAX_ROWS]:
        by_day.setdefault(row.created_at.astimezone(timezone.utc).date(), []).append(row)
    days = [Day(d, items) for d, items in by_day.items()]
    return Review(period, days, len(rows) > MAX_ROWS, ratings)


# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets (the
# full-width forms too: some normalise them), even after leading spaces.
_FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula: such text gets a leading `'`."""
    text = "" if value is None else str(value)
    return "'" + text if text.lstrip(" ")[:1] in _FORMULA_STARTS else text


def to_csv(report: Review) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["escalation_id", "created_at", "day", "trigger", "trigger_label", "message",
         "conversation_id", "visitor_email", "visitor_name", "status", "csat_rating",
         "csat_comment"]
    )  # fmt: skip
    for day in report.days:
        for e in day.escalations:
            rating, comment = report.ratings.by_escalation.get(e.id, (None, None))
            writer.writerow(
                [_cell(v) for v in (
                    e.id, e.created_at.isoformat(timespec="seconds"), day.day.isoformat(),
                    e.trigger.value, TRIGGER_LABELS[e.trigger], e.message, e.conversation_id,
                    e.email, full_name(e.first_name, e.last_name), e.status, rating, comment,
                )]
            )  # fmt: skip
    return out.getvalue()
