"""An agent's login ends after an idle period, and after its absolute lifetime however busy."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher

from handoff_plugin.inbox.agents import SESSION_IDLE, AgentService, Passwords
from handoff_plugin.store import Store
from tests.conftest import FakeClock

PASSWORD = "correct horse battery"


async def _logged_in(store: Store, **options: timedelta) -> tuple[AgentService, str]:
    agents = AgentService(
        store, Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)), **options
    )
    await agents.add("ann@example.com", "Ann", PASSWORD)
    return agents, (await agents.login("ann@example.com", PASSWORD, "127.0.0.1")).token


async def test_a_busy_agent_session_still_ends_at_its_maximum_age(
    store: Store, clock: FakeClock
) -> None:
    agents, token = await _logged_in(store, max_age=timedelta(hours=24))
    for _ in range(23):  # in use every hour: never idle
        clock.advance(3600)
        assert await agents.session(token) is not None
    clock.advance(3600)
    assert await agents.session(token) is None


async def test_an_unused_agent_session_ends_after_the_idle_period(
    store: Store, clock: FakeClock
) -> None:
    agents, token = await _logged_in(store, max_age=timedelta(days=30))
    clock.advance(SESSION_IDLE.total_seconds() - 60)
    assert await agents.session(token) is not None  # in use: extended
    clock.advance(SESSION_IDLE.total_seconds() - 60)
    assert await agents.session(token) is not None
    clock.advance(SESSION_IDLE.total_seconds() + 1)
    assert await agents.session(token) is None
