"""Failed-login throttling per account and per client address, kept in the database so every
process counts the same failures and a restart forgets nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff_plugin.store.queries.agents import AgentQueries


@dataclass(frozen=True)
class ThrottlePolicy:
    """`max_failures` within `window` block the key for `lockout`."""

    max_failures: int
    window: timedelta
    lockout: timedelta


ACCOUNT_POLICY = ThrottlePolicy(5, timedelta(minutes=15), timedelta(minutes=15))
ADDRESS_POLICY = ThrottlePolicy(20, timedelta(minutes=15), timedelta(minutes=15))


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()[:320]}"


def address_key(address: str) -> str:
    return f"ip:{address[:64]}"


class LoginThrottle:
    def __init__(
        self, account: ThrottlePolicy = ACCOUNT_POLICY, address: ThrottlePolicy = ADDRESS_POLICY
    ) -> None:
        self._policies = {"account": account, "ip": address}

    def _policy(self, key: str) -> ThrottlePolicy:
        return self._policies[key.split(":", 1)[0]]

    async def attempt(self, q: AgentQueries, keys: list[str], now: datetime) -> float:
        """Check and count one login attempt in the caller's transaction: 0.0 and the attempt
        counted as a failure (until `succeeded` takes it back), or the seconds to wait and
        nothing counted. The counters stay locked until commit, so concurrent attempts queue
        here and each sees the others' counts (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE)."""
        rows = {key: await q.locked_throttle(key, now) for key in sorted(keys)}  # one lock order
        wait = 0.0
        for row in rows.values():
            if row.blocked_until is not None and row.blocked_until > now:
                wait = max(wait, (row.blocked_until - now).total_seconds())
        if wait:
            return wait
        for key, row in rows.items():
            policy = self._policy(key)
            if row.failures == 0 or now - row.window_started_at > policy.window:
                failures, started = 1, now
            else:
                failures, started = row.failures + 1, row.window_started_at
            blocked = now + policy.lockout if failures >= policy.max_failures else None
            await q.save_throttle(key, failures, started, blocked)
        return 0.0

    async def succeeded(self, q: AgentQueries, account: str, address: str | None = None) -> None:
        """The account's failures are forgotten; the address gets this attempt's count back
        (a team behind one address logging in all day is not a guessing attack)."""
        await q.clear_throttle(account)
        if address is None:
            return
        row = await q.throttle(address)
        if row is None or row.failures <= 0:
            return
        failures = row.failures - 1
        blocked = row.blocked_until if failures >= self._policy(address).max_failures else None
        await q.save_throttle(address, failures, row.window_started_at, blocked)
