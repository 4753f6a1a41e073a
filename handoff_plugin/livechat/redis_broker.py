"""The conversation and inbox event broker shared by every replica, over Redis pub/sub.

Same interface as `InProcessBroker`: `publish` sends the event to one Redis channel; one reader
per process receives every replica's events and fans them out to this process's subscribers.

Redis only makes things fast; the database holds every message. So when Redis is unreachable:
- `publish` still reaches this process's subscribers at once (other replicas miss it);
- every subscriber gets a `lagged` event every `poll_interval` seconds and catches up from the
  database (visitor sockets by `seq`, agents' streams by `resync`): slower, nothing lost;
- the reader reconnects with backoff, logs `handoff.redis.down` once and `handoff.redis.recovered`
  when it is back, and sends one more `lagged` for whatever was published in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

import structlog
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from handoff_plugin.config.settings import mask_url_password
from handoff_plugin.livechat.broker import LAGGED, ConversationEvent, InProcessBroker, Subscription

log = structlog.get_logger(__name__)

CHANNEL = "handoff:events"
REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def connect(url: str) -> aioredis.Redis:
    """A client that fails fast (a few seconds) instead of hanging when Redis is away, and
    retries a command once on a fresh connection (pooled ones break when Redis restarts)."""
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


class RedisBroker:
    shared = True  # subscribers hear every replica

    def __init__(
        self,
        url: str,
        *,
        channel: str = CHANNEL,
        poll_interval: float = 2.0,
        backoff: tuple[float, float] = (0.2, 5.0),
        max_queued: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.channel = channel
        self.poll_interval = poll_interval
        self.backoff = backoff
        self._monotonic = monotonic
        self._local = InProcessBroker(max_queued)
        self._redis = connect(url)
        self._up = False
        self._down_since: float | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @property
    def up(self) -> bool:
        """Whether events currently travel through Redis."""
        return self._up

    def start(self) -> None:
        """Start the reader (idempotent; needs the running loop)."""
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read())

    async def wait_connected(self, timeout: float) -> bool:
        """True once the reader is subscribed (tests; start-up checks)."""
        self.start()
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        with contextlib.suppress(*REDIS_ERRORS):
            await self._redis.close()

    def subscribe(self) -> Subscription:
        self.start()
        return self._local.subscribe()

    async def publish(self, event: ConversationEvent) -> None:
        if self._up:
            data = json.dumps(event.as_dict())
            for attempt in (1, 2):  # a pooled connection may predate a Redis restart
                try:
                    await self._redis.publish(self.channel, data)
                    return  # this process hears it back from Redis, in order with the others
                except REDIS_ERRORS as exc:
                    if attempt == 2:
                        self._went_down(exc)
                        self._restart_reader()  # it reconnects (or polls) and says when back
        await self._local.publish(event)

    def _restart_reader(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self._reader = asyncio.create_task(self._read())

    # --- the reader ---

    async def _read(self) -> None:
        delay = self.backoff[0]
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if self._came_up():  # what others published meanwhile is in the database
                    await self._local.publish(LAGGED)
                delay = self.backoff[0]
                while True:
                    message = await pubsub.get_message(timeout=self.poll_interval)
                    if message is not None and message.get("type") == "message":
                        await self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS as exc:
                self._went_down(exc)
            finally:
                with contextlib.suppress(*REDIS_ERRORS, RuntimeError):
                    await pubsub.reset()
            await self._poll_while_waiting(delay)
            delay = min(delay * 2, self.backoff[1])

    async def _deliver(self, data: bytes | str) -> None:
        try:
            event = ConversationEvent.from_dict(json.loads(data))
        except (ValueError, KeyError, TypeError):
            log.warning("handoff.redis.bad_event", size=len(data))
            return
        await self._local.publish(event)

    async def _poll_while_waiting(self, delay: float) -> None:
        """Until the next reconnect attempt, let subscribers catch up from the database."""
        deadline = self._monotonic() + delay
        while True:
            await self._local.publish(LAGGED)
            left = deadline - self._monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, self.poll_interval))

    def _came_up(self) -> bool:
        """Mark Redis usable; True if it had been down."""
        self._up = True
        self._subscribed.set()
        if self._down_since is None:
            return False
        log.info(
            "handoff.redis.recovered",
            url=mask_url_password(self.url),
            down_seconds=round(self._monotonic() - self._down_since, 1),
        )
        self._down_since = None
        return True

    def _went_down(self, exc: BaseException) -> None:
        self._up = False
        self._subscribed.clear()
        if self._down_since is None:
            self._down_since = self._monotonic()
            log.warning(
                "handoff.redis.down",
                url=mask_url_password(self.url),
                error=type(exc).__name__,
                detail=str(exc)[:200],
            )
