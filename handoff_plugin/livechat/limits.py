"""Per-visitor message rate limit: a token bucket per key, with an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


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
