"""Visitor abuse limits: token buckets per key (injectable clock), keyed by what a visitor cannot
mint for free. A session id or a socket costs nothing to make, so every limit also applies per
client address: messages per session, per socket and per address; new sessions per address per
minute; open sockets per address (this process's sockets).

`VisitorLimits` counts in this process; `redis_limits.RedisVisitorLimits` (with `redis.url`)
counts across replicas. The channel uses either through `Limits` (`LocalLimits` adapts this one)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from handoff_plugin.config.settings import LivechatSettings
from handoff_plugin.livechat.widget import ProtocolError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows `burst` messages at once, then `per_minute` per minute, for each key separately."""

    def __init__(
        self,
        burst: int,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def _refill(self, bucket: _Bucket, now: float) -> None:
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now

    def wait(self, key: str) -> float:
        """Like `try_acquire`, but takes nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        self._refill(bucket, self._clock())
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)

    def try_acquire(self, key: str) -> float:
        """0.0 if the message may pass, else the seconds to wait before the next one will."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full_buckets(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        self._refill(bucket, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_full_buckets(self, now: float) -> None:
        """A full bucket is the same as none: drop them to bound memory."""
        for key, bucket in list(self._buckets.items()):
            self._refill(bucket, now)
            if bucket.tokens >= self.burst:
                del self._buckets[key]


def acquire_all(checks: Sequence[tuple[RateLimiter, str]]) -> float:
    """Take one token from each (limiter, key) if all have one (else none): 0.0, or the wait."""
    wait = max((limiter.wait(key) for limiter, key in checks), default=0.0)
    if wait:
        return wait
    for limiter, key in checks:
        limiter.try_acquire(key)
    return 0.0


def client_address(peer: str | None, header_values: Sequence[str], trusted_header: str) -> str:
    """The visitor's address: the connection's peer, or, behind a proxy that sets
    `trusted_header`, the right-most address in that header (the one the proxy itself added;
    addresses to its left were sent by the client and prove nothing)."""
    if trusted_header:
        added = [part.strip() for value in header_values for part in value.split(",")]
        added = [part for part in added if part]
        if added:
            return added[-1]
    return peer or "unknown"


def too_many_sockets() -> ProtocolError:
    return ProtocolError(
        "too_many_sockets",
        "Too many chat windows are open from your network; close one and reload.",
    )


def too_many_sessions(wait: float) -> ProtocolError:
    return ProtocolError(
        "too_many_sessions",
        "Too many new chats were started from your network; please try again shortly.",
        retry_after=wait,
    )


def rate_limited(wait: float) -> ProtocolError:
    return ProtocolError(
        "rate_limited",
        "You are sending messages too quickly; this one was not delivered. "
        "Please wait a moment and send it again.",
        retry_after=wait,
    )


class VisitorLimits:
    """Every limit the socket.io channel applies; the channel calls one method per event."""

    def __init__(
        self, settings: LivechatSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        burst, per_minute = settings.rate_limit_burst, settings.rate_limit_per_minute
        self._per_session = RateLimiter(burst, per_minute, clock)
        self._per_socket = RateLimiter(burst, per_minute, clock)
        self._per_address = RateLimiter(
            settings.rate_limit_per_address_burst,
            settings.rate_limit_per_address_per_minute,
            clock,
        )
        sessions = settings.sessions_per_address_per_minute
        self._sessions = RateLimiter(sessions, sessions, clock)
        self._max_sockets = settings.sockets_per_address
        self._address_of: dict[str, str] = {}
        self._sockets_of: dict[str, set[str]] = {}

    def socket_opened(self, sid: str, address: str) -> ProtocolError | None:
        sockets = self._sockets_of.setdefault(address, set())
        if len(sockets) >= self._max_sockets:
            if not sockets:
                del self._sockets_of[address]
            return too_many_sockets()
        sockets.add(sid)
        self._address_of[sid] = address
        return None

    def socket_closed(self, sid: str) -> None:
        address = self._address_of.pop(sid, None)
        self._per_socket.forget(sid)
        sockets = self._sockets_of.get(address or "")
        if sockets is not None:
            sockets.discard(sid)
            if not sockets:
                del self._sockets_of[address or ""]

    def sockets(self) -> list[tuple[str, str]]:
        """(sid, address) of every open socket of this process."""
        return list(self._address_of.items())

    def address_of(self, sid: str) -> str:
        return self._address_of.get(sid, "unknown")

    def session_minted(self, sid: str) -> ProtocolError | None:
        wait = self._sessions.try_acquire(self.address_of(sid))
        if not wait:
            return None
        return too_many_sessions(wait)

    def message(self, sid: str, session_key: str) -> ProtocolError | None:
        wait = acquire_all(
            [
                (self._per_session, session_key),
                (self._per_socket, sid),
                (self._per_address, self.address_of(sid)),
            ]
        )
        if not wait:
            return None
        return rate_limited(wait)


class Limits(Protocol):
    """What the socket.io channel asks, one call per event."""

    async def socket_opened(self, sid: str, address: str) -> ProtocolError | None: ...

    async def socket_closed(self, sid: str) -> None: ...

    async def session_minted(self, sid: str) -> ProtocolError | None: ...

    async def message(self, sid: str, session_key: str) -> ProtocolError | None: ...

    async def close(self) -> None: ...


class LocalLimits:
    """`VisitorLimits` behind the `Limits` interface (one process)."""

    def __init__(self, limits: VisitorLimits) -> None:
        self.limits = limits

    async def socket_opened(self, sid: str, address: str) -> ProtocolError | None:
        return self.limits.socket_opened(sid, address)

    async def socket_closed(self, sid: str) -> None:
        self.limits.socket_closed(sid)

    async def session_minted(self, sid: str) -> ProtocolError | None:
        return self.limits.session_minted(sid)

    async def message(self, sid: str, session_key: str) -> ProtocolError | None:
        return self.limits.message(sid, session_key)

    async def close(self) -> None:
        pass
