"""Visitor limits shared by replicas through a real redis-server; this process's while it is down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from structlog.testing import capture_logs

from handoff_plugin.config.settings import LivechatSettings
from handoff_plugin.livechat import redis_limits
from handoff_plugin.livechat.redis_limits import RedisVisitorLimits
from tests.redis_server import RedisServer

ADDRESS = "203.0.113.1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
async def two_replicas(
    redis_server: RedisServer,
) -> AsyncIterator[tuple[RedisVisitorLimits, RedisVisitorLimits, Clock]]:
    clock = Clock()
    settings = LivechatSettings(
        rate_limit_per_address_burst=3,
        rate_limit_per_address_per_minute=60,
        sockets_per_address=2,
        sessions_per_address_per_minute=2,
    )
    a = RedisVisitorLimits(settings, redis_server.url, clock=clock, process="a")
    b = RedisVisitorLimits(settings, redis_server.url, clock=clock, process="b")
    yield a, b, clock
    await a.close()
    await b.close()


async def test_an_address_shares_one_message_budget_across_replicas(
    two_replicas: tuple[RedisVisitorLimits, RedisVisitorLimits, Clock],
) -> None:
    a, b, clock = two_replicas
    await a.socket_opened("s1", ADDRESS)
    await b.socket_opened("s2", ADDRESS)
    assert [await a.message("s1", "k1"), await b.message("s2", "k2"), await a.message("s1", "k1")] == [None] * 3
    refused = await b.message("s2", "k2")
    assert refused is not None and refused.code == "rate_limited"
    assert refused.retry_after and 0 < refused.retry_after <= 1
    clock.now += 1  # 60 per minute: one more a second
    assert await b.message("s2", "k2") is None


async def test_open_sockets_per_address_count_every_replica_and_a_closed_one_frees_its_place(
    two_replicas: tuple[RedisVisitorLimits, RedisVisitorLimits, Clock],
) -> None:
    a, b, _ = two_replicas
    assert await a.socket_opened("s1", ADDRESS) is None
    assert await b.socket_opened("s2", ADDRESS) is None
    refused = await a.socket_opened("s3", ADDRESS)
    assert refused is not None and refused.code == "too_many_sockets"
    await b.socket_closed("s2")
    assert await a.socket_opened("s4", ADDRESS) is None


async def test_new_sessions_per_address_are_counted_across_replicas(
    two_replicas: tuple[RedisVisitorLimits, RedisVisitorLimits, Clock],
) -> None:
    a, b, _ = two_replicas
    await a.socket_opened("s1", ADDRESS)
    await b.socket_opened("s2", ADDRESS)
    assert await a.session_minted("s1") is None and await b.session_minted("s2") is None
    refused = await a.session_minted("s1")
    assert refused is not None and refused.code == "too_many_sessions"


async def test_with_redis_down_each_replica_applies_its_own_limits_then_shares_again(
    two_replicas: tuple[RedisVisitorLimits, RedisVisitorLimits, Clock],
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _, _ = two_replicas
    monkeypatch.setattr(redis_limits, "RETRY_SECONDS", 0.0)  # ask Redis again on every call
    with capture_logs() as logs:
        redis_server.kill()
        assert await a.socket_opened("s1", ADDRESS) is None  # not refused: counted here
        assert [await a.message("s1", "k1") for _ in range(3)] == [None] * 3
        refused = await a.message("s1", "k1")  # this process's per-address budget
        assert refused is not None and refused.code == "rate_limited"
        redis_server.start()
        assert await a.message("s1", "k9") is None  # Redis counts again (empty after the restart)
    events = [entry["event"] for entry in logs]
    assert events.count("handoff.redis.down") == 1 and "handoff.redis.recovered" in events
