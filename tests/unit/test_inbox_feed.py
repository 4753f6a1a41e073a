"""The inbox event feed: every row written by any process is published once, in spite of rows
that commit out of id order (PostgreSQL) or never commit at all."""

from __future__ import annotations

from handoff_plugin.inbox.feed import EventFeed
from handoff_plugin.livechat.broker import ConversationEvent, InProcessBroker
from handoff_plugin.models import ConversationState
from handoff_plugin.store import Store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.tables import inbox_events
from tests.conftest import FakeClock


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def write(store: Store, clock: FakeClock, event_id: int, kind: str, origin: str) -> None:
    async with store.transaction() as tx:
        conversation = await ConversationQueries(tx).ensure_conversation(
            f"sender-{event_id}", "rest"
        )
        await tx.conn.execute(
            inbox_events.insert().values(
                id=event_id,
                kind=kind,
                conversation_id=conversation.id,
                origin=origin,
                agent_id="7" if kind.startswith("live") else None,
                agent_name="Ann" if kind.startswith("live") else None,
                seq=event_id if kind.startswith("live") else None,
                created_at=clock(),
            )
        )


def drain(subscription: object) -> list[ConversationEvent]:
    queue = subscription.queue  # type: ignore[attr-defined]
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


async def test_rows_of_other_processes_become_state_changes_on_the_broker(
    store: Store, clock: FakeClock
) -> None:
    broker = InProcessBroker()
    feed = EventFeed(store, broker, origin="inbox-process")
    await feed.start_at_newest()
    subscription = broker.subscribe()
    await write(store, clock, 1, "escalation.created", "action-server")
    await write(store, clock, 2, "live.started", "other-inbox-replica")
    await write(store, clock, 3, "live.ended", "inbox-process")  # published here already
    await write(store, clock, 4, "escalation.created", "inbox-process")
    await feed.poll()
    events = drain(subscription)
    assert [(e.kind, e.sender_id, e.state) for e in events] == [
        ("state.changed", "sender-1", ConversationState.ESCALATED),
        ("state.changed", "sender-2", ConversationState.LIVE),
        ("state.changed", "sender-4", ConversationState.ESCALATED),
    ]
    assert events[1].agent is not None and events[1].agent.name == "Ann"
    assert feed.cursor == 4


class SharedBroker(InProcessBroker):
    shared = True  # like the Redis broker: other replicas' events arrive through it


async def test_with_a_shared_broker_only_escalations_come_from_the_feed(
    store: Store, clock: FakeClock
) -> None:
    broker = SharedBroker()
    feed = EventFeed(store, broker, origin="inbox-process")
    await feed.start_at_newest()
    subscription = broker.subscribe()
    await write(store, clock, 1, "live.started", "other-inbox-replica")  # the broker carried it
    await write(store, clock, 2, "escalation.created", "action-server")
    assert [e.id for e in await feed.poll()] == [1, 2]  # both read
    assert [(e.sender_id, e.state) for e in drain(subscription)] == [
        ("sender-2", ConversationState.ESCALATED)
    ]


async def test_the_feed_starts_after_what_was_written_before_it(
    store: Store, clock: FakeClock
) -> None:
    await write(store, clock, 1, "escalation.created", "actions")
    broker = InProcessBroker()
    feed = EventFeed(store, broker)
    await feed.start_at_newest()
    assert await feed.poll() == []


async def test_a_row_that_commits_late_is_still_published_once(
    store: Store, clock: FakeClock
) -> None:
    broker = InProcessBroker()
    feed = EventFeed(store, broker, origin="me")
    await feed.start_at_newest()
    await write(store, clock, 1, "escalation.created", "a")
    await write(store, clock, 3, "escalation.created", "b")  # 2 is not committed yet
    assert [e.id for e in await feed.poll()] == [1, 3]
    assert feed.cursor == 1
    await write(store, clock, 2, "escalation.created", "c")
    assert [e.id for e in await feed.poll()] == [2]
    assert feed.cursor == 3
    assert [e.id for e in await feed.poll()] == []


async def test_a_gap_that_never_fills_is_passed_after_the_grace_period(
    store: Store, clock: FakeClock
) -> None:
    seconds = Seconds()
    feed = EventFeed(store, InProcessBroker(), origin="me", gap_grace=30, monotonic=seconds)
    await feed.start_at_newest()
    await write(store, clock, 2, "escalation.created", "a")  # id 1 was rolled back
    await feed.poll()
    assert feed.cursor == 0
    seconds.now += 29
    await feed.poll()
    assert feed.cursor == 0
    seconds.now += 2
    await feed.poll()
    assert feed.cursor == 2


async def test_another_process_s_assignment_change_reaches_this_process_s_agents(
    store: Store,
) -> None:
    """Two replicas on one database without Redis: Bob takes over on replica B; Ann's stream on
    replica A hears who took it from whom."""
    from handoff_plugin.inbox.assignment import Assignments
    from handoff_plugin.store.queries.agents import AgentQueries

    async with store.transaction() as tx:
        ann = await AgentQueries(tx).add("ann@example.com", "Ann", "x")
        bob = await AgentQueries(tx).add("bob@example.com", "Bob", "x")
        chat = await ConversationQueries(tx).ensure_conversation("zoe", "livechat")
    assert ann is not None and bob is not None
    replica_a, replica_b = InProcessBroker(), InProcessBroker()
    feed = EventFeed(store, replica_a, origin="replica-a")
    await feed.start_at_newest()
    on_a = replica_a.subscribe()
    on_b = Assignments(store, replica_b, origin="replica-b")
    await on_b.claim(ann, chat.id)
    await on_b.claim(bob, chat.id, take_over=True)

    await feed.poll()

    heard = [e.assignment for e in drain(on_a)]
    assert [
        (a.action, a.previous and a.previous.name, a.assignee and a.assignee.name)
        for a in heard
        if a
    ] == [
        ("claimed", None, "Ann"),
        ("taken_over", "Ann", "Bob"),
    ]
    assert [a.by.email for a in heard if a] == ["ann@example.com", "bob@example.com"]


def test_an_assignment_crosses_redis_as_plain_data() -> None:
    from handoff_plugin.models import Assignee, Assignment

    ann, bob = Assignee(1, "Ann", "ann@example.com"), Assignee(2, "Bob", "bob@example.com")
    event = ConversationEvent(
        "assignment.changed",
        5,
        "zoe",
        assignment=Assignment(5, "transferred", bob, ann, ann, "refund, order 1234"),
    )
    assert ConversationEvent.from_dict(event.as_dict()) == event
