"""The team desk of one inbox process: agents' presence, and the sweep that acts on the clock.

`tick()` looks at the queue and the live chats once, with the store's clock (tests inject one):
it closes escalations nobody answered within `routing.abandon_after` hours, tells a visitor
nobody answered within `routing.unanswered_after` minutes that the team follows up by email,
assigns waiting conversations when `routing.auto_assign` is on, tells visitors their new place in
line (at most once a minute), and ends live chats whose visitor was quiet for
`livechat.idle_close_after` minutes. Every replica runs it; each step that tells a visitor
something is a conditional write first, so exactly one process tells them.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from handoff_plugin.config.settings import Settings, SettingsProvider
from handoff_plugin.errors import InvalidInput
from handoff_plugin.inbox.conversations import InboxConversations
from handoff_plugin.livechat.broker import ConversationEvent
from handoff_plugin.models import PRESENCE_STATUSES, Agent, ConversationState, PresenceStatus
from handoff_plugin.routing import desk
from handoff_plugin.routing.desk import DeskMember
from handoff_plugin.store.queries.desk import DeskQueries, Waiting
from handoff_plugin.store.queries.inbox import InboxQueries

log = structlog.get_logger(__name__)

SWEEP_INTERVAL = 5.0  # seconds between sweeps
# A visitor hears of a new place in line at most this often.
POSITION_THROTTLE = timedelta(minutes=1)


def parse_presence(body: object) -> PresenceStatus:
    status = body.get("status") if isinstance(body, dict) else None
    if status not in PRESENCE_STATUSES:
        raise InvalidInput(f'send {{"status": ...}} with one of {", ".join(PRESENCE_STATUSES)}')
    return status  # type: ignore[return-value]


@dataclass
class Sweep:
    """What one tick did (conversation ids), for the log and for tests."""

    abandoned: list[int] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)
    assigned: list[int] = field(default_factory=list)
    positions: dict[int, int] = field(default_factory=dict)
    idle_closed: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(
            (self.abandoned, self.unanswered, self.assigned, self.positions, self.idle_closed)
        )


class TeamDesk:
    def __init__(
        self,
        settings: SettingsProvider,
        conversations: InboxConversations,
        interval: float = SWEEP_INTERVAL,
    ) -> None:
        self.settings = settings
        self.conversations = conversations
        self.store = conversations.store
        self.livechat = conversations.livechat
        self.interval = interval
        self.position_throttle = POSITION_THROTTLE

    # --- presence ---

    async def members(self) -> list[DeskMember]:
        settings = await self.settings.current()
        async with self.store.read() as tx:
            return await desk.members(tx, settings)

    async def me(self, agent: Agent) -> DeskMember:
        return next(m for m in await self.members() if m.agent.agent_id == agent.id)

    async def set_presence(self, agent: Agent, status: PresenceStatus) -> DeskMember:
        async with self.store.transaction() as tx:
            await DeskQueries(tx).set_presence(agent.id, status)
        log.info("handoff.desk.presence_set", agent_id=agent.id, status=status)
        return await self.me(agent)

    async def seen(self, agent: Agent, *, active: bool = False, opened: bool = False) -> None:
        """An inbox page of `agent` checked in (`opened`: it just opened; `active`: used)."""
        async with self.store.transaction() as tx:
            q = DeskQueries(tx)
            await (q.first_seen(agent.id) if opened else q.seen(agent.id, active=active))

    # --- the sweep ---

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                done = await self.tick()
                if done:
                    log.info("handoff.desk.swept", **{k: v for k, v in vars(done).items() if v})
            except Exception:  # a failed sweep is retried on the next one
                log.exception("handoff.desk.sweep_failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.interval)

    async def tick(self) -> Sweep:
        settings = await self.settings.current()
        routing = settings.routing
        done = Sweep()
        async with self.store.read() as tx:
            now = tx.clock()
            waiting = await DeskQueries(tx).waiting()
        still: list[Waiting] = []
        for w in waiting:
            if desk.is_due(now, w.created_at, routing.abandon_after * 60) and await self._abandon(
                w
            ):
                done.abandoned.append(w.conversation_id)
            else:
                still.append(w)
        for w in still:
            if w.unanswered_told_at is None and desk.is_due(
                now, w.created_at, routing.unanswered_after
            ):
                if await self._unanswered(w, settings):
                    done.unanswered.append(w.conversation_id)
        if routing.auto_assign:
            for w in still:
                if (
                    w.assignee_id is None
                    and await self.conversations.assignments.assign_automatically(
                        w.conversation_id, settings
                    )
                ):
                    done.assigned.append(w.conversation_id)
        await self._positions(still, done)
        idle = settings.livechat.idle_close_after
        if idle > 0:
            async with self.store.read() as tx:
                quiet = await DeskQueries(tx).quiet_live_chats(now - timedelta(minutes=idle))
            for chat in quiet:
                if await self.conversations.end_quiet(chat.conversation_id, idle):
                    done.idle_closed.append(chat.conversation_id)
        return done

    async def _abandon(self, w: Waiting) -> bool:
        async with self.store.transaction() as tx:
            if not await DeskQueries(tx).abandon(w.escalation_id, w.conversation_id):
                return False
            await InboxQueries(tx).add_event(
                "live.ended",
                w.conversation_id,
                self.conversations.origin,
                detail={"reason": "abandoned"},
            )
        log.info("handoff.desk.abandoned", conversation_id=w.conversation_id)
        await self.livechat.broker.publish(
            ConversationEvent(
                "state.changed", w.conversation_id, w.sender_id, state=ConversationState.BOT
            )
        )
        return True

    async def _unanswered(self, w: Waiting, settings: Settings) -> bool:
        async with self.store.transaction() as tx:
            if not await DeskQueries(tx).tell_unanswered(w.escalation_id):
                return False
        texts = await self.livechat.texts_for(w.conversation_id)
        await self.livechat.tell_visitor(
            w.conversation_id,
            texts.render("unanswered", email=w.email or "", chatbot_name=settings.chatbot.name),
        )
        return True

    async def _positions(self, waiting: list[Waiting], done: Sweep) -> None:
        """Tell each visitor who moved up in line their new place (throttled)."""
        wait: timedelta | None = None
        for number, w in enumerate(waiting, start=1):
            told = w.told_position
            if told is None or number >= told or w.unanswered_told_at is not None:
                continue
            if w.conversation_id in done.unanswered:
                continue
            async with self.store.transaction() as tx:
                if not await DeskQueries(tx).tell_position(
                    w.escalation_id, number, was=told, throttle=self.position_throttle
                ):
                    continue
                wait = wait or await desk.expected_wait(tx)
            texts = await self.livechat.texts_for(w.conversation_id)
            await self.livechat.tell_visitor(
                w.conversation_id, desk.queue_text(texts, number, wait)
            )
            done.positions[w.conversation_id] = number
