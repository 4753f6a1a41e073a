"""Rasa's `RedisLockStore`, falling back to this process's locks while Redis is unreachable.

With several replicas the tracker lock must be shared (Redis), or an agent's reply written on
one replica could interleave with the visitor's turn on another. Rasa's own `RedisLockStore`
fails every turn while Redis is down (LockError), so the bot and the agents stop. This one takes
an in-memory lock then: writes on one replica stay serialised, and with the proxy sticky by
client address a visitor's turns stay on one replica; service continues, and Redis locks are
used again once Redis answers (checked at most every `RETRY_SECONDS`).

endpoints.yml (the same keys as Rasa's `type: redis`; `url` is the host name, not a URL):

    lock_store:
      type: handoff_plugin.rasa_bridge.lock_store.FallbackRedisLockStore
      url: redis.internal
      port: 6379
      db: 1
      password: ${REDIS_PASSWORD}
      key_prefix: handoff
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

RETRY_SECONDS = 2.0


class FallbackRedisLockStore(LockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        options = dict(endpoint_config.kwargs) if endpoint_config else {}
        options.update(kwargs)
        options.pop("type", None)
        host = (endpoint_config.url if endpoint_config else None) or options.pop("host", "localhost")
        options.setdefault("socket_timeout", 2)  # a dead Redis must not hold a turn for long
        self.redis = RedisLockStore(host=host, **options)
        self.memory = InMemoryLockStore()
        self._down_since: float | None = None
        self._last_try = 0.0
        super().__init__()

    @property
    def _store(self) -> LockStore:
        if self._down_since is None:
            return self.redis
        if time.monotonic() - self._last_try < RETRY_SECONDS:
            return self.memory
        self._last_try = time.monotonic()
        try:
            self.redis.red.ping()
        except (RedisError, OSError):
            return self.memory
        log.info(
            "handoff.redis.recovered",
            store="lock",
            down_seconds=round(time.monotonic() - self._down_since, 1),
        )
        self._down_since = None
        return self.redis

    def _went_down(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = self._last_try = time.monotonic()
            log.warning("handoff.redis.down", store="lock", error=type(exc).__name__)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        store = self._store
        try:
            ticket = store.issue_ticket(conversation_id, lock_lifetime)
            acquired = await store._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        except (LockError, RedisError, OSError) as exc:
            if store is self.memory or not _is_redis_failure(exc):
                raise
            self._went_down(exc)
            store = self.memory
            ticket = store.issue_ticket(conversation_id, lock_lifetime)
            acquired = await store._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        try:
            yield acquired
        finally:
            try:
                store.cleanup(conversation_id, ticket)
            except (LockError, RedisError, OSError) as exc:  # the ticket expires by itself
                self._went_down(exc)

    # The single-lock operations Rasa's base class uses, on whichever store is in use.
    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self._store.save_lock(lock)


def _is_redis_failure(exc: BaseException) -> bool:
    """Rasa wraps Redis errors of `issue_ticket` in LockError; a real contention is not one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RedisError | OSError):
            return True
        seen = seen.__cause__ or seen.__context__
    return isinstance(exc, LockError) and "Error while acquiring lock" in str(exc)
