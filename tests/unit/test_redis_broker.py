"""The Redis broker against a real redis-server: two brokers stand for two replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone

import pytest
from structlog.testing import capture_logs

from handoff_plugin.livechat.broker import ConversationEvent, Subscription
from handoff_plugin.livechat.redis_broker import RedisBroker
from handoff_plugin.models import Author, ChatMessage
from tests.redis_server import RedisServer
from tests.servers import free_port


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    brokers = (
        RedisBroker(redis_server.url, poll_interval=0.05, backoff=(0.05, 0.2)),
        RedisBroker(redis_server.url, poll_interval=0.05, backoff=(0.05, 0.2)),
    )
    for broker in brokers:
        assert await broker.wait_connected(5)
    yield brokers
    for broker in brokers:
        await broker.close()


def message_event(seq: int, text: str = "hello") -> ConversationEvent:
    when = datetime(2026, 2, 9, 12, 0, tzinfo=timezone.utc)
    message = ChatMessage(7, seq, Author.VISITOR, text, None, None, "livechat", when)
    return ConversationEvent("message.created", 7, "visitor-1", message=message)


async def next_kind(subscription: Subscription, kind: str, timeout: float = 5) -> ConversationEvent:
    """The next event of `kind` (others skipped)."""

    async def find() -> ConversationEvent:
        async for event in subscription:
            if event.kind == kind:
                return event
        raise AssertionError("subscription ended")

    return await asyncio.wait_for(find(), timeout)


async def test_an_event_published_on_one_replica_reaches_subscribers_on_both_once(
    replicas: tuple[RedisBroker, RedisBroker],
) -> None:
    a, b = replicas
    on_a, on_b = a.subscribe(), b.subscribe()
    await a.publish(message_event(1, "from A"))
    await b.publish(message_event(2, "from B"))
    for subscription in (on_a, on_b):
        first = await next_kind(subscription, "message.created")
        second = await next_kind(subscription, "message.created")
        assert [first.message.text, second.message.text] == ["from A", "from B"]  # type: ignore[union-attr]
    await a.publish(message_event(3, "marker"))  # nothing doubled: the next one is the marker
    assert (await next_kind(on_b, "message.created")).message.seq == 3  # type: ignore[union-attr]


async def test_with_redis_down_this_replica_still_hears_itself_and_polls_the_database(
    replicas: tuple[RedisBroker, RedisBroker], redis_server: RedisServer
) -> None:
    a, _ = replicas
    subscription = a.subscribe()
    with capture_logs() as logs:
        redis_server.kill()
        await next_kind(subscription, "lagged")  # subscribers are told to catch up
        assert not a.up
        await a.publish(message_event(5, "while down"))
        event = await next_kind(subscription, "message.created")
        for _ in range(10):  # several reconnect attempts (backoff 0.05 s .. 0.2 s)
            await next_kind(subscription, "lagged")
    assert event.message is not None and event.message.text == "while down"
    # once per replica, not once per attempt
    assert [entry["event"] for entry in logs].count("handoff.redis.down") == 2


async def test_after_redis_restarts_events_travel_between_replicas_again(
    replicas: tuple[RedisBroker, RedisBroker], redis_server: RedisServer
) -> None:
    a, b = replicas
    on_b = b.subscribe()
    await a.publish(message_event(8, "before"))  # a pooled connection that the restart breaks
    await next_kind(on_b, "message.created")
    with capture_logs() as logs:
        redis_server.kill()
        await next_kind(on_b, "lagged")
        redis_server.start()
        assert await a.wait_connected(10) and await b.wait_connected(10)
    assert "handoff.redis.recovered" in [entry["event"] for entry in logs]
    await a.publish(message_event(9, "after restart"))
    event = await next_kind(on_b, "message.created")
    assert event.message is not None and event.message.text == "after restart"


async def test_the_redis_url_password_never_reaches_the_logs() -> None:
    broker = RedisBroker(
        f"redis://:hunter2secret@127.0.0.1:{_closed_port()}/0", poll_interval=0.05
    )
    with capture_logs() as logs:
        subscription = broker.subscribe()
        await next_kind(subscription, "lagged")
    await broker.close()
    down = [entry for entry in logs if entry["event"] == "handoff.redis.down"]
    assert down and "hunter2secret" not in repr(logs)


def _closed_port() -> int:
    return free_port()  # nothing listens there
