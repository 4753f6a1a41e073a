"""One visitor flooding is throttled; others are not."""

from __future__ import annotations

from handoff_plugin.livechat.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_flood_is_told_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=3, per_minute=60, clock=clock)
    assert [limiter.try_acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.try_acquire("a")
    assert 0.9 < wait <= 1.0
    clock.now += 1.0
    assert limiter.try_acquire("a") == 0.0


def test_another_visitor_is_not_affected_by_a_flood() -> None:
    limiter = RateLimiter(burst=2, per_minute=6, clock=Clock())
    for _ in range(20):
        limiter.try_acquire("flooder")
    assert limiter.try_acquire("calm") == 0.0


def test_memory_stays_bounded_with_many_visitors() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=1, per_minute=60, clock=clock, max_keys=10)
    for n in range(10):
        limiter.try_acquire(f"v{n}")
    clock.now += 5  # everybody's bucket is full again
    limiter.try_acquire("new")
    assert len(limiter._buckets) == 1
