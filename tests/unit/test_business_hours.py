"""Business hours: the parsed windows, "open now?", "back when?", and what the visitor is told
when they escalate outside the hours (injected clock, no sleeping)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handoff_plugin.config.business_hours import BusinessHours, parse_windows
from handoff_plugin.config.settings import Settings, StaticSettings, build_settings
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.escalation.service import EscalationRequest, EscalationService
from handoff_plugin.models import Trigger, VisitorProfile
from handoff_plugin.store import Store
from tests.conftest import FakeClock

BERLIN_OFFICE = {"enabled": True, "timezone": "Europe/Berlin", "windows": "mon-fri 09:00-17:00"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_windows_expand_day_ranges_and_lists() -> None:
    windows = parse_windows("mon-wed 09:00-12:00; fri,sun 10:30-24:00")
    assert [(w.weekday, w.start, w.end) for w in windows] == [
        (0, 540, 720),
        (1, 540, 720),
        (2, 540, 720),
        (4, 630, 1440),
        (6, 630, 1440),
    ]


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ("mon-fri 17:00-09:00", "ends before it starts"),
        ("moon 09:00-10:00", "is not a window"),
        ("fri-mon 09:00-10:00", "runs backwards"),
        ("mon 09:00-25:00", "is not a time between 00:00 and 24:00"),
        (" ; ", "no opening window"),
    ],
)
def test_a_bad_window_is_refused_naming_the_key_and_the_value(windows: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        build_settings({"business_hours": {"windows": windows}})
    assert "business_hours.windows" in str(error.value)
    assert message in str(error.value)


def test_an_unknown_timezone_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="business_hours.timezone") as error:
        build_settings({"business_hours": {"timezone": "Mars/Olympus"}})
    assert "is not an IANA timezone" in str(error.value)


def test_off_means_always_open() -> None:
    assert build_settings({}).business_hours.hours() is None


def test_open_and_next_opening_are_in_the_business_timezone() -> None:
    hours = BusinessHours.parse("Europe/Berlin", "mon-fri 09:00-17:00")
    assert hours.is_open(utc(2026, 2, 9, 8, 0))  # Monday 09:00 in Berlin (UTC+1)
    assert not hours.is_open(utc(2026, 2, 9, 7, 59))
    assert not hours.is_open(utc(2026, 2, 9, 16, 0))  # 17:00 in Berlin: closed
    friday_evening = hours.next_opening(utc(2026, 2, 13, 18, 0))
    assert friday_evening.at.isoformat() == "2026-02-16T09:00:00+01:00"  # Monday
    assert friday_evening.city == "Berlin"
    assert hours.next_opening(utc(2026, 2, 10, 6, 0)).at.day == 10  # later the same morning


def test_opening_time_stays_on_the_wall_clock_across_daylight_saving() -> None:
    hours = BusinessHours.parse("Europe/Berlin", "mon 09:00-17:00")
    # Saturday before the change to summer time (29 March 2026): Monday 09:00 is UTC+2.
    opening = hours.next_opening(utc(2026, 3, 28, 12, 0))
    assert opening.at.strftime("%A %H:%M") == "Monday 09:00"
    assert opening.at.utcoffset() == timedelta(hours=2)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    st.sampled_from(["mon-fri 09:00-17:00", "sat 10:00-14:00", "sun 00:00-24:00; wed 12:00-13:00"]),
)
def test_the_next_opening_is_open_and_nothing_before_it_is(naive: datetime, spec: str) -> None:
    hours = BusinessHours.parse("America/New_York", spec)
    now = naive.replace(tzinfo=timezone.utc)
    opening = hours.next_opening(now).at
    assert now < opening <= now + timedelta(days=8)
    assert hours.is_open(opening)
    assert not hours.is_open(opening - timedelta(minutes=1)) or opening.hour == 0


def request(language: str | None = None) -> EscalationRequest:
    return EscalationRequest(
        sender_id="v-hours",
        channel="rest",
        trigger=Trigger.INTENT,
        message="a person please",
        profile=VisitorProfile(email="ann@example.com"),
        language=language,
    )


async def test_inside_hours_the_visitor_gets_the_usual_confirmation(
    store: Store, clock: FakeClock, make_settings: Callable[..., Settings]
) -> None:
    clock.now = utc(2026, 2, 9, 10, 0)  # Monday 11:00 in Berlin
    service = EscalationService(store, StaticSettings(make_settings(business_hours=BERLIN_OFFICE)))
    outcome = await service.escalate(request())
    assert outcome.status == "created"
    assert outcome.visitor_reply.startswith("Thanks! I've passed your request to our team.")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (None, "back on Monday at 09:00 (Berlin time). They will follow up at ann@example.com"),
        ("de", "am Montag um 09:00 Uhr (Zeitzone Berlin) wieder erreichbar"),
        ("fr", "de retour le lundi à 09:00 (heure de Berlin)"),
        ("es", "vuelve el lunes a las 09:00 (hora de Berlin)"),
    ],
)
async def test_outside_hours_the_visitor_is_told_when_the_team_is_back_in_their_language(
    store: Store,
    clock: FakeClock,
    make_settings: Callable[..., Settings],
    language: str | None,
    expected: str,
) -> None:
    clock.now = utc(2026, 2, 14, 12, 0)  # Saturday
    service = EscalationService(store, StaticSettings(make_settings(business_hours=BERLIN_OFFICE)))
    outcome = await service.escalate(request(language))
    assert outcome.status == "created"  # recorded and notified all the same
    assert outcome.escalation is not None
    assert expected in outcome.visitor_reply
