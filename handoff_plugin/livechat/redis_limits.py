"""The visitor limits of `limits.py`, counted in Redis so they hold across replicas.

Same keys, same token buckets (burst, then per minute), each check one Lua script, so two
replicas never both take the last token. Open sockets per address are a sorted set of
`<process>:<sid>` scored by expiry; each process refreshes its own sockets, so a crashed
replica's sockets stop counting after `SOCKET_TTL` seconds.

While Redis is unreachable the limits of this process apply (`VisitorLimits`): the proxy is
sticky by client address, so one address's traffic still meets one set of counters. Redis is
tried again every `RETRY_SECONDS`; `handoff.redis.down` / `handoff.redis.recovered` say when.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Sequence

import structlog

from handoff_plugin.config.settings import LivechatSettings
from handoff_plugin.livechat.limits import (
    VisitorLimits,
    rate_limited,
    too_many_sessions,
    too_many_sockets,
)
from handoff_plugin.livechat.redis_broker import REDIS_ERRORS, connect
from handoff_plugin.livechat.widget import ProtocolError

log = structlog.get_logger(__name__)

PREFIX = "handoff:limit:"
SOCKET_TTL = 90.0
RETRY_SECONDS = 2.0

# KEYS: buckets. ARGV: now, then burst and rate (tokens/s) per key. All or none: "0" or the wait.
TAKE_ALL = """
local now = tonumber(ARGV[1])
local tokens, wait = {}, 0
for i = 1, #KEYS do
  local burst, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local saved = redis.call('HMGET', KEYS[i], 't', 'u')
  local t = tonumber(saved[1]) or burst
  local u = tonumber(saved[2]) or now
  t = math.min(burst, t + math.max(0, now - u) * rate)
  tokens[i] = t
  if t < 1 then wait = math.max(wait, (1 - t) / rate) end
end
if wait > 0 then return tostring(wait) end
for i = 1, #KEYS do
  local burst, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', KEYS[i], 't', tokens[i] - 1, 'u', now)
  redis.call('EXPIRE', KEYS[i], math.ceil(burst / rate) + 1)
end
return '0'
"""
# KEYS[1]: the address's sockets. ARGV: now, member, max, ttl. 1 if opened, 0 if full.
OPEN_SOCKET = """
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) == false
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(ttl) + 1)
return 1
"""


class RedisVisitorLimits:
    def __init__(
        self,
        settings: LivechatSettings,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        process: str | None = None,
    ) -> None:
        self.local = VisitorLimits(settings)  # addresses of this process's sockets; fallback
        self._settings = settings
        self._clock = clock
        self._process = process or secrets.token_hex(6)
        self._redis = connect(url)
        self._take_all = self._redis.register_script(TAKE_ALL)
        self._open_socket = self._redis.register_script(OPEN_SOCKET)
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._refresher: asyncio.Task[None] | None = None

    # --- the Limits interface ---

    async def socket_opened(self, sid: str, address: str) -> ProtocolError | None:
        self._start_refresher()
        if self._usable():
            try:
                opened = await self._open_socket(
                    keys=[self._sockets_key(address)],
                    args=[self._clock(), self._member(sid), self._settings.sockets_per_address,
                          SOCKET_TTL],
                )
                self._up()
                if not opened:
                    return too_many_sockets()
            except REDIS_ERRORS as exc:
                self._down(exc)
        return self.local.socket_opened(sid, address)

    async def socket_closed(self, sid: str) -> None:
        address = self.local.address_of(sid)
        self.local.socket_closed(sid)
        if self._usable():
            try:
                await self._redis.zrem(self._sockets_key(address), self._member(sid))
                await self._redis.delete(PREFIX + "socket:" + sid)
            except REDIS_ERRORS as exc:  # it expires with SOCKET_TTL
                self._down(exc)

    async def session_minted(self, sid: str) -> ProtocolError | None:
        per_minute = self._settings.sessions_per_address_per_minute
        address = self.local.address_of(sid)
        wait = await self._take([("sessions:" + address, per_minute, per_minute)])
        if wait is None:
            return self.local.session_minted(sid)
        return too_many_sessions(wait) if wait else None

    async def message(self, sid: str, session_key: str) -> ProtocolError | None:
        s = self._settings
        wait = await self._take(
            [
                ("session:" + session_key, s.rate_limit_burst, s.rate_limit_per_minute),
                ("socket:" + sid, s.rate_limit_burst, s.rate_limit_per_minute),
                (
                    "address:" + self.local.address_of(sid),
                    s.rate_limit_per_address_burst,
                    s.rate_limit_per_address_per_minute,
                ),
            ]
        )
        if wait is None:
            return self.local.message(sid, session_key)
        return rate_limited(wait) if wait else None

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        with contextlib.suppress(*REDIS_ERRORS):
            await self._redis.close()

    # --- internals ---

    async def _take(self, buckets: Sequence[tuple[str, int, int]]) -> float | None:
        """0.0 if every bucket had a token (one taken from each), the wait if not; None if
        Redis could not be asked (the caller asks this process's limits)."""
        if not self._usable():
            return None
        args: list[float] = [self._clock()]
        for _, burst, per_minute in buckets:
            args += [burst, per_minute / 60.0]
        try:
            wait = float(await self._take_all(keys=[PREFIX + k for k, _, _ in buckets], args=args))
        except REDIS_ERRORS as exc:
            self._down(exc)
            return None
        self._up()
        return wait

    def _sockets_key(self, address: str) -> str:
        return PREFIX + "sockets:" + address

    def _member(self, sid: str) -> str:
        return f"{self._process}:{sid}"

    def _usable(self) -> bool:
        return self._down_since is None or time.monotonic() >= self._retry_at

    def _up(self) -> None:
        if self._down_since is not None:
            log.info(
                "handoff.redis.recovered",
                store="limits",
                down_seconds=round(time.monotonic() - self._down_since, 1),
            )
            self._down_since = None

    def _down(self, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + RETRY_SECONDS
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("handoff.redis.down", store="limits", error=type(exc).__name__)

    def _start_refresher(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh_forever())

    async def _refresh_forever(self) -> None:
        """Keep this process's open sockets counted (their entries expire otherwise)."""
        while True:
            await asyncio.sleep(SOCKET_TTL / 3)
            if not self._usable():
                continue
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    expires = self._clock() + SOCKET_TTL
                    for sid, address in self.local.sockets():
                        pipe.zadd(self._sockets_key(address), {self._member(sid): expires})
                    await pipe.execute()
            except REDIS_ERRORS as exc:
                self._down(exc)
