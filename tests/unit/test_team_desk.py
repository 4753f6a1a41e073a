"""The team desk with an injected clock (no sleeping): presence, what a visitor is told when
they escalate (agent online, nobody online, outside hours), their place in line and the expected
wait, and the sweep's timeouts and automatic assignment."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from handoff_plugin.config.settings import Settings, StaticSettings
from handoff_plugin.config.texts import builtin_defaults
from handoff_plugin.escalation.service import EscalationRequest, EscalationService
from handoff_plugin.inbox.conversations import InboxConversations
from handoff_plugin.inbox.team_desk import TeamDesk
from handoff_plugin.livechat.broker import InProcessBroker
from handoff_plugin.livechat.service import LiveChatService, Said
from handoff_plugin.livechat.sessions import SessionSigner
from handoff_plugin.models import Agent, AgentPresence, ConversationState, Trigger, VisitorProfile
from handoff_plugin.routing.desk import median_wait, next_in_rotation, queue_text
from handoff_plugin.routing.presence import effective_presence
from handoff_plugin.store import Store
from handoff_plugin.store.queries.agents import AgentQueries
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.desk import DeskQueries
from handoff_plugin.store.tables import conversations, escalations
from tests.conftest import FakeClock
from tests.unit.test_livechat_service import FakeTranscript

NOW = datetime(2026, 2, 9, 12, 0, tzinfo=timezone.utc)
TEN_MINUTES = timedelta(minutes=10)


# --- presence ---


def presence(chosen: str = "online", seen: float | None = 5, active: float | None = 60) -> str:
    agent = AgentPresence(
        1,
        "Ann",
        "ann@example.com",
        chosen,  # type: ignore[arg-type]
        NOW - timedelta(seconds=seen) if seen is not None else None,
        NOW - timedelta(seconds=active) if active is not None else None,
    )
    return effective_presence(agent, NOW, TEN_MINUTES)


def test_an_open_page_used_lately_is_online() -> None:
    assert presence() == "online"


def test_no_page_heard_from_for_a_minute_is_offline_whatever_was_chosen() -> None:
    assert presence(seen=None) == "offline"
    assert presence(seen=61) == "offline"
    assert presence(chosen="away", seen=61) == "offline"


def test_the_chosen_status_wins_over_activity() -> None:
    assert presence(chosen="away") == "away"
    assert presence(chosen="offline") == "offline"


def test_an_open_page_not_used_for_away_after_is_away() -> None:
    assert presence(active=10 * 60 + 1) == "away"
    assert presence(active=10 * 60) == "online"


def test_the_expected_wait_needs_five_answered_escalations() -> None:
    waits = [timedelta(minutes=m) for m in (2, 4, 6, 8)]
    assert median_wait(waits) is None
    assert median_wait([*waits, timedelta(minutes=30)]) == timedelta(minutes=6)


def test_a_wait_of_about_a_minute_reads_as_one_minute_in_each_language() -> None:
    minute, two = timedelta(seconds=70), timedelta(minutes=2)
    assert queue_text(builtin_defaults("en"), 1, minute) == (
        "You are number 1 in line. The expected wait is about a minute."
    )
    assert queue_text(builtin_defaults("en"), 1, two).endswith("about 2 minutes.")
    assert queue_text(builtin_defaults("de"), 3, minute).endswith("etwa eine Minute.")
    assert queue_text(builtin_defaults("fr"), 3, minute).endswith("environ une minute.")
    assert queue_text(builtin_defaults("es"), 3, minute).endswith("un minuto aproximadamente.")


def test_round_robin_among_equals_goes_on_after_the_last_one() -> None:
    assert next_in_rotation(["3", "1", "2"], None, ()) == "1"
    assert next_in_rotation(["1", "2", "3"], "1", ()) == "2"
    assert next_in_rotation(["1", "2", "3"], "3", ()) == "1"
    assert next_in_rotation(["1", "3"], "2", ()) == "3"  # 2 is busy now: the next one after it


# --- the desk, on a real store ---


class Desk:
    """A store with agents, an escalation service, a live-chat service and the sweep."""

    def __init__(self, store: Store, clock: FakeClock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        provider = StaticSettings(settings)
        self.transcript = FakeTranscript()
        self.livechat = LiveChatService(
            store=store,
            settings=provider,
            transcript=self.transcript,
            broker=InProcessBroker(),
            signer=SessionSigner(b"unit-test-secret-0123456789"),
        )
        self.escalations = EscalationService(store, provider)
        self.conversations = InboxConversations(store, self.livechat)
        self.desk = TeamDesk(provider, self.conversations)

    async def agent(self, email: str, name: str, *, online: bool = True) -> Agent:
        async with self.store.transaction() as tx:
            agent = await AgentQueries(tx).add(email, name, "not-a-real-hash")
            assert agent is not None
            if online:
                await DeskQueries(tx).seen(agent.id, active=True)
        return agent

    async def online(self, *agents: Agent) -> None:
        async with self.store.transaction() as tx:
            for agent in agents:
                await DeskQueries(tx).seen(agent.id, active=True)

    async def escalate(self, sender: str, language: str | None = None) -> str:
        await self.livechat.record_visitor_message(sender, "I want a person", None, "livechat")
        outcome = await self.escalations.escalate(
            EscalationRequest(
                sender_id=sender,
                channel="livechat",
                trigger=Trigger.INTENT,
                message="I want a person",
                profile=VisitorProfile(email=f"{sender}@example.com"),
                language=language,
            )
        )
        assert outcome.status == "created"
        return outcome.visitor_reply

    async def conversation_id(self, sender: str) -> int:
        async with self.store.read() as tx:
            conversation = await ConversationQueries(tx).conversation_by_sender(sender)
        assert conversation is not None
        return conversation.id

    def told(self, sender: str) -> list[str]:
        """What the desk told the visitor (notices written to their tracker), in order."""
        return [e.text for e in self.transcript.events.get(sender, []) if isinstance(e, Said)]

    async def state(self, sender: str) -> ConversationState:
        return await self.livechat.state_of(sender)


@pytest.fixture
def make_desk(
    store: Store, clock: FakeClock, make_settings: Callable[..., Settings]
) -> Callable[..., Desk]:
    def make(**sections: Any) -> Desk:
        return Desk(store, clock, make_settings(**sections))

    return make


async def test_with_an_agent_online_the_visitor_is_told_their_place_in_line(
    make_desk: Callable[..., Desk],
) -> None:
    desk = make_desk()
    await desk.agent("ann@example.com", "Ann")
    first = await desk.escalate("amy")
    second = await desk.escalate("bea")
    assert first == (
        "Thanks! I've passed your request to our team. Someone will reply here or at "
        "amy@example.com within one business day. You are number 1 in line."
    )
    assert second.endswith("You are number 2 in line.")


async def test_with_nobody_online_the_visitor_is_told_the_team_follows_up_by_email(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk()
    await desk.agent("ann@example.com", "Ann")
    clock.advance(61)  # Ann's page has not checked in for a minute: she is offline
    reply = await desk.escalate("amy")
    assert reply == (
        "Thanks! I've passed your request to our team. Nobody is online right now, so they "
        "will follow up at amy@example.com within one business day. Meanwhile, Assistant is "
        "here to help."
    )
    de = await desk.escalate("ben", language="de")
    assert "Gerade ist niemand online" in de and "ben@example.com" in de
    assert "in line" not in reply  # no queue without an agent to answer it


async def test_an_away_agent_does_not_count_as_online(
    make_desk: Callable[..., Desk], store: Store
) -> None:
    desk = make_desk()
    ann = await desk.agent("ann@example.com", "Ann")
    async with store.transaction() as tx:
        await DeskQueries(tx).set_presence(ann.id, "away")
    assert "Nobody is online right now" in await desk.escalate("amy")


async def test_outside_business_hours_the_offline_confirmation_wins(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    clock.now = datetime(2026, 2, 14, 12, 0, tzinfo=timezone.utc)  # a Saturday
    desk = make_desk(
        business_hours={
            "enabled": True,
            "timezone": "Europe/Berlin",
            "windows": "mon-fri 09:00-17:00",
        }
    )
    await desk.agent("ann@example.com", "Ann")  # online, but the office is closed
    reply = await desk.escalate("amy")
    assert reply.startswith("Thanks! Our team is away right now and back on Monday at 09:00")
    assert "in line" not in reply


async def test_a_visitor_moving_up_is_told_at_most_once_a_minute(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk()
    ann = await desk.agent("ann@example.com", "Ann")
    await desk.escalate("amy")
    assert (await desk.escalate("bea")).endswith("You are number 2 in line.")
    await desk.conversations.send(ann, await desk.conversation_id("amy"), "Hi Amy!")

    # Amy is in live chat now, so Bea is first; she heard of her place less than a minute ago.
    assert not (await desk.desk.tick()).positions
    clock.advance(60)
    done = await desk.desk.tick()
    assert done.positions == {await desk.conversation_id("bea"): 1}
    assert desk.told("bea")[-1] == "You are number 1 in line."
    clock.advance(60)
    assert not (await desk.desk.tick()).positions  # nothing changed: nothing said


async def test_the_expected_wait_is_the_median_of_recent_first_replies(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk()
    ann = await desk.agent("ann@example.com", "Ann")
    for n, minutes in enumerate((2, 4, 6, 8, 30)):
        await desk.online(ann)
        await desk.escalate(f"old-{n}")
        clock.advance(minutes * 60)
        await desk.conversations.send(ann, await desk.conversation_id(f"old-{n}"), "Hello")
        await desk.conversations.end(ann, await desk.conversation_id(f"old-{n}"))
    await desk.online(ann)
    assert (await desk.escalate("amy")).endswith(
        "You are number 1 in line. The expected wait is about 6 minutes."
    )
    fr = await desk.escalate("bea", language="fr")
    assert fr.endswith(
        "Vous êtes numéro 2 dans la file d'attente. L'attente estimée est d'environ 6 minutes."
    )


async def test_nobody_answering_in_time_tells_the_visitor_once_and_the_bot_keeps_answering(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk(routing={"unanswered_after": 15})
    await desk.agent("ann@example.com", "Ann")
    await desk.escalate("amy")
    clock.advance(14 * 60)
    assert not (await desk.desk.tick()).unanswered
    clock.advance(60)
    assert (await desk.desk.tick()).unanswered == [await desk.conversation_id("amy")]
    assert desk.told("amy")[-1] == (
        "Sorry for the wait! Nobody could answer yet, so our team will follow up at "
        "amy@example.com. Meanwhile, Assistant is here to help."
    )
    clock.advance(15 * 60)
    assert not (await desk.desk.tick()).unanswered  # once
    assert await desk.state("amy") is ConversationState.ESCALATED  # still waiting; bot answers


async def test_a_visitor_told_nobody_is_online_is_not_told_it_again(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk(routing={"unanswered_after": 15})
    await desk.escalate("amy")  # no agent at all
    clock.advance(16 * 60)
    assert not (await desk.desk.tick()).unanswered
    assert desk.told("amy") == []


async def test_an_escalation_nobody_answered_is_closed_after_abandon_after(
    make_desk: Callable[..., Desk], clock: FakeClock, store: Store
) -> None:
    desk = make_desk(routing={"abandon_after": 24})
    await desk.agent("ann@example.com", "Ann")
    await desk.escalate("amy")
    clock.advance(24 * 3600 - 1)
    assert not (await desk.desk.tick()).abandoned
    clock.advance(1)
    amy = await desk.conversation_id("amy")
    assert (await desk.desk.tick()).abandoned == [amy]
    assert await desk.state("amy") is ConversationState.BOT  # off the Waiting tab
    async with store.read() as tx:
        row = (await tx.conn.execute(sa.select(escalations))).one()
        assert await DeskQueries(tx).waiting() == []
    assert (row.status, row.closed_reason) == ("closed", "abandoned")


async def test_a_quiet_live_chat_is_ended_and_the_agent_sees_why(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk(livechat={"idle_close_after": 30})
    ann = await desk.agent("ann@example.com", "Ann")
    await desk.escalate("amy")
    amy = await desk.conversation_id("amy")
    await desk.conversations.send(ann, amy, "Hi, how can I help?")
    clock.advance(20 * 60)
    await desk.livechat.record_visitor_message("amy", "One moment please", None, "livechat")
    clock.advance(29 * 60)  # 49 minutes into the chat, but the visitor wrote 29 minutes ago
    assert not (await desk.desk.tick()).idle_closed
    clock.advance(60)
    assert (await desk.desk.tick()).idle_closed == [amy]

    assert await desk.state("amy") is ConversationState.BOT
    assert desk.told("amy")[-1] == (
        "This chat was closed because it was quiet for a while. You're back with Assistant; "
        "ask for a person again any time."
    )
    detail = await desk.conversations.detail(ann, amy)
    assert detail.assignee is None
    ended = [m for m in detail.markers if m.kind == "live.ended"]
    assert ended[-1].reason == {"reason": "idle", "minutes": 30}


async def test_auto_assignment_goes_round_robin_to_online_agents_with_room(
    make_desk: Callable[..., Desk], store: Store
) -> None:
    desk = make_desk(routing={"auto_assign": True, "max_live_chats": 1})
    ann = await desk.agent("ann@example.com", "Ann")
    bob = await desk.agent("bob@example.com", "Bob")
    await desk.agent("cy@example.com", "Cy", online=False)
    for sender in ("amy", "bea", "cat"):
        await desk.escalate(sender)
    done = await desk.desk.tick()
    amy, bea, cat = [await desk.conversation_id(s) for s in ("amy", "bea", "cat")]
    assert done.assigned == [amy, bea]  # Cy is offline; nobody has room for Cat

    async def assignee(conversation_id: int) -> int | None:
        async with store.read() as tx:
            row = (
                await tx.conn.execute(
                    sa.select(conversations.c.assignee_id).where(
                        conversations.c.id == conversation_id
                    )
                )
            ).one()
        return row.assignee_id

    assert [await assignee(amy), await assignee(bea), await assignee(cat)] == [ann.id, bob.id, None]
    await desk.conversations.send(ann, amy, "Hi Amy")
    await desk.conversations.end(ann, amy)  # Ann has room again
    await desk.online(ann, bob)
    assert (await desk.desk.tick()).assigned == [cat]
    assert await assignee(cat) == ann.id


async def test_two_processes_sweeping_at_once_tell_the_visitor_once(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk(routing={"unanswered_after": 15})
    other = TeamDesk(desk.desk.settings, desk.conversations)
    await desk.agent("ann@example.com", "Ann")
    await desk.escalate("amy")
    clock.advance(15 * 60)
    first, second = await asyncio.gather(desk.desk.tick(), other.tick())
    assert len(desk.told("amy")) == 1
    assert sorted([len(first.unanswered), len(second.unanswered)]) == [0, 1]
