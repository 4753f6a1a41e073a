"""The tracker lock store: Redis locks across replicas, this process's locks while Redis is down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from rasa.utils.endpoints import EndpointConfig
from structlog.testing import capture_logs

from handoff_plugin.rasa_bridge import lock_store
from handoff_plugin.rasa_bridge.lock_store import FallbackRedisLockStore
from tests.redis_server import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def make_store(server: RedisServer) -> FallbackRedisLockStore:
    config = EndpointConfig(url="127.0.0.1", port=server.port, db=1, key_prefix="handoff")
    return FallbackRedisLockStore(endpoint_config=config)


async def test_a_held_tracker_lock_is_visible_to_every_replica_through_redis(
    redis_server: RedisServer,
) -> None:
    store = make_store(redis_server)
    other_replica = redis.Redis(port=redis_server.port, db=1)
    async with store.lock("visitor-1"):
        assert other_replica.exists("handoff:lock:visitor-1")
    assert not other_replica.exists("handoff:lock:visitor-1")


async def test_with_redis_down_turns_still_take_a_lock_and_redis_is_used_again_after(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(redis_server)
    redis_server.kill()
    with capture_logs() as logs:
        async with store.lock("visitor-1"):
            assert store.memory.get_lock("visitor-1") is not None  # this process's lock
        assert "handoff.redis.down" in [entry["event"] for entry in logs]
        redis_server.start()
        monkeypatch.setattr(lock_store, "RETRY_SECONDS", 0.0)
        async with store.lock("visitor-1"):
            assert redis.Redis(port=redis_server.port, db=1).exists("handoff:lock:visitor-1")
    assert "handoff.redis.recovered" in [entry["event"] for entry in logs]
