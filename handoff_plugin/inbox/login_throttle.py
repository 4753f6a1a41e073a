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

    async def blocked_for(self, q: AgentQueries, keys: list[str], now: datetime) -> float:
        """Seconds until a login may be tried with these keys (0.0: now)."""
        wait = 0.0
        for key in keys:
            row = await q.throttle(key)
            if row is not None and row.blocked_until is not None and row.blocked_until > now:
                wait = max(wait, (row.blocked_until - now).total_seconds())
        return wait

    async def failed(self, q: AgentQueries, keys: list[str], now: datetime) -> None:
        for key in keys:
            policy = self._policy(key)
            row = await q.throttle(key)
            if row is None or now - row.window_started_at > policy.window:
                failures, started = 1, now
            else:
                failures, started = row.failures + 1, row.window_started_at
            blocked = now + policy.lockout if failures >= policy.max_failures else None
            await q.save_throttle(key, failures, started, blocked)

    async def succeeded(self, q: AgentQueries, key: str) -> None:
        await q.clear_throttle(key)
