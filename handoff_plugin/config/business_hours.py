"""Weekly opening hours in one IANA timezone: parsed once from "mon-fri 09:00-17:00; sat 10:00-14:00",
then asked "open at this instant?" and "when does it open next?"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(
    r"(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:,[a-z]{3}(?:-[a-z]{3})?)*)\s+(?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)"
)
FORMAT_HINT = 'windows like "mon-fri 09:00-17:00; sat 10:00-14:00"'


@dataclass(frozen=True)
class Window:
    weekday: int  # Monday is 0, as in datetime.weekday()
    start: int  # minutes after midnight
    end: int  # minutes after midnight, after start; 24:00 is 1440


@dataclass(frozen=True)
class Opening:
    """When the team is next open, in the business timezone."""

    at: datetime
    city: str  # "Berlin" for Europe/Berlin, "UTC" for UTC


def timezone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if not available_timezones():  # no zone is known: the machine lacks the database
            raise ValueError("this machine has no timezone database; install tzdata") from None
        raise ValueError(f"{name!r} is not an IANA timezone like Europe/Berlin or UTC") from None


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"{text} is not a time between 00:00 and 24:00")
    return hours * 60 + minutes


def _days(spec: str) -> list[int]:
    days: list[int] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        for name in (first, last or first):
            if name not in DAYS:
                raise ValueError(f"{name!r} is not a day; use {', '.join(DAYS)}")
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            raise ValueError(f"{part} runs backwards; write it as {last}-{first} or split it")
        days.extend(range(start, end + 1))
    return days


def parse_windows(text: str) -> tuple[Window, ...]:
    windows: list[Window] = []
    for chunk in (c.strip().lower() for c in text.split(";")):
        if not chunk:
            continue
        match = _WINDOW.fullmatch(chunk)
        if match is None:
            raise ValueError(f"{chunk!r} is not a window; use {FORMAT_HINT}")
        start, end = _minutes(match["start"]), _minutes(match["end"])
        if end <= start:
            raise ValueError(
                f"{chunk!r} ends before it starts; split a window across midnight in two"
            )
        windows.extend(Window(day, start, end) for day in _days(match["days"]))
    if not windows:
        raise ValueError(f"no opening window; use {FORMAT_HINT}")
    return tuple(sorted(windows, key=lambda w: (w.weekday, w.start)))


@dataclass(frozen=True)
class BusinessHours:
    timezone: ZoneInfo
    windows: tuple[Window, ...]

    @classmethod
    def parse(cls, timezone: str, windows: str) -> BusinessHours:
        return cls(timezone_named(timezone), parse_windows(windows))

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.timezone)
        minute = local.hour * 60 + local.minute
        return any(w.weekday == local.weekday() and w.start <= minute < w.end for w in self.windows)

    def next_opening(self, now: datetime) -> Opening:
        """The next window start after `now` (within a week: every week has a window)."""
        local = now.astimezone(self.timezone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            day = midnight + timedelta(days=offset)
            for window in self.windows:
                if window.weekday != day.weekday():
                    continue
                # Wall-clock arithmetic in the zone: 09:00 stays 09:00 across a DST change.
                start = day.replace(hour=window.start // 60, minute=window.start % 60)
                if start > local:
                    return Opening(start, self.timezone.key.rsplit("/", 1)[-1].replace("_", " "))
        raise AssertionError("a week without an opening window")  # parse() forbids it
