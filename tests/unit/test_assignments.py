"""Claiming: at most one agent handles a conversation (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from handoff_plugin.errors import Conflict, InvalidInput, NotFound
from handoff_plugin.inbox.assignment import Assignments
from handoff_plugin.livechat.broker import ConversationEvent, InProcessBroker
from handoff_plugin.models import Agent, Assignee
from handoff_plugin.store import Store
from handoff_plugin.store.queries.agents import AgentQueries
from handoff_plugin.store.queries.assignments import AssignmentQueries
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.inbox import InboxQueries


async def add_agents(store: Store, *names: str, role: str = "agent") -> list[Agent]:
    added = []
    async with store.transaction() as tx:
        for name in names:
            agent = await AgentQueries(tx).add(f"{name.lower()}@example.com", name, "x", role)
            assert agent is not None
            added.append(agent)
    return added


async def conversation(store: Store, sender: str = "visitor-1") -> int:
    async with store.transaction() as tx:
        return (await ConversationQueries(tx).ensure_conversation(sender, "livechat")).id


async def test_of_many_agents_claiming_at_once_exactly_one_wins(store: Store) -> None:
    team = await add_agents(store, *[f"Agent{i}" for i in range(12)])
    chat = await conversation(store)
    assignments = Assignments(store, InProcessBroker())

    async def claim(agent: Agent) -> str:
        try:
            return "won" if await assignments.claim(agent, chat) else "had it"
        except Conflict as e:
            return f"409 {e.detail['assignee']['name']}"  # type: ignore[index]

    outcomes = await asyncio.gather(*(claim(agent) for agent in team))

    winner = await assignments.assignee(chat)
    assert winner is not None
    assert outcomes.count("won") == 1
    assert sorted(outcomes) == sorted(["won"] + [f"409 {winner.name}"] * 11)
    assert team[outcomes.index("won")].id == winner.id
    async with store.read() as tx:  # one assignment event, for the one claim that happened
        events = await InboxQueries(tx).events_after(0)
    assert [(e.kind, e.agent.name if e.agent else None) for e in events] == [
        ("assignment.changed", winner.name)
    ]


async def test_taking_over_tells_who_had_it_and_releasing_puts_it_back_in_the_queue(
    store: Store,
) -> None:
    ann, bob = await add_agents(store, "Ann", "Bob")
    chat = await conversation(store)
    broker = InProcessBroker()
    watched = broker.subscribe()
    assignments = Assignments(store, broker)

    assert await assignments.claim(ann, chat) is True
    assert await assignments.claim(ann, chat) is False  # hers already: nothing changes
    with pytest.raises(Conflict, match=r"Ann \(ann@example.com\) is handling conversation"):
        await assignments.claim(bob, chat)
    with pytest.raises(Conflict, match="only they or an admin"):
        await assignments.release(bob, chat)
    assert await assignments.claim(bob, chat, take_over=True) is True
    await assignments.release(bob, chat)
    assert await assignments.assignee(chat) is None
    with pytest.raises(Conflict, match="Nobody is handling"):
        await assignments.release(bob, chat)

    seen: list[ConversationEvent] = []
    async for event in watched:
        seen.append(event)
        if len(seen) == 3:
            break
    changes = [e.assignment for e in seen]
    assert [(c.action, c.assignee, c.previous, c.by) for c in changes if c] == [
        ("claimed", Assignee.of(ann), None, Assignee.of(ann)),
        ("taken_over", Assignee.of(bob), Assignee.of(ann), Assignee.of(bob)),
        ("released", None, Assignee.of(bob), Assignee.of(bob)),
    ]


async def test_a_transfer_hands_the_conversation_over_with_a_note(store: Store) -> None:
    ann, bob, cy = await add_agents(store, "Ann", "Bob", "Cy")
    (admin,) = await add_agents(store, "Root", role="admin")
    chat = await conversation(store)
    assignments = Assignments(store, InProcessBroker())
    await assignments.claim(ann, chat)

    with pytest.raises(InvalidInput, match="'nobody@example.com' is not an agent here"):
        await assignments.transfer(ann, chat, "nobody@example.com")
    with pytest.raises(InvalidInput, match="agent_email"):
        await assignments.transfer(ann, chat, None)
    with pytest.raises(InvalidInput, match="note is longer than 1000 characters"):
        await assignments.transfer(ann, chat, "bob@example.com", "x" * 1001)
    with pytest.raises(Conflict, match="Ann"):
        await assignments.transfer(cy, chat, "cy@example.com")  # not hers to give away

    assert await assignments.transfer(ann, chat, " BOB@example.com ", "  VIP, refund ok ") == (
        Assignee.of(bob)
    )
    async with store.read() as tx:
        latest = await AssignmentQueries(tx).latest(chat)
    assert latest is not None
    assert (latest.action, latest.assignee, latest.previous, latest.by, latest.note) == (
        "transferred",
        Assignee.of(bob),
        Assignee.of(ann),
        Assignee.of(ann),
        "VIP, refund ok",
    )
    with pytest.raises(InvalidInput, match="Bob is handling this conversation already"):
        await assignments.transfer(admin, chat, "bob@example.com")
    await assignments.transfer(admin, chat, "cy@example.com")  # an admin may reassign
    assert await assignments.assignee(chat) == Assignee.of(cy)


async def test_ending_the_chat_or_removing_the_agent_clears_the_assignee(store: Store) -> None:
    ann, bob = await add_agents(store, "Ann", "Bob")
    first, second = await conversation(store, "a"), await conversation(store, "b")
    assignments = Assignments(store, InProcessBroker())
    await assignments.claim(ann, first)
    await assignments.claim(bob, second)

    await assignments.ended(ann, first)
    assert await assignments.assignee(first) is None
    async with store.transaction() as tx:
        await AgentQueries(tx).remove(bob.id)
    assert await assignments.assignee(second) is None
    await assignments.claim(ann, second)  # free again for anyone
    assert await assignments.assignee(second) == Assignee.of(ann)


async def test_claiming_a_conversation_that_does_not_exist_is_not_found(store: Store) -> None:
    (ann,) = await add_agents(store, "Ann")
    with pytest.raises(NotFound, match="conversation 99 does not exist"):
        await Assignments(store, InProcessBroker()).claim(ann, 99)
