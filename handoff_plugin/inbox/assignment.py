"""Claiming: at most one agent handles a conversation.

The first agent to reply claims it (atomically: of two agents replying at once exactly one
wins, the other gets a `Conflict` naming who has it). Others cannot answer or end the chat unless
they take it over explicitly, which tells the agent who had it. The assignee can transfer the
conversation to another agent, with a note, or release it back to the queue; End Live Chat clears
it. Every change is written to the inbox event log in the same transaction (so other processes'
inboxes hear of it, see feed.py) and published on this process's broker for its live streams.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import structlog

from handoff_plugin.config.settings import Settings
from handoff_plugin.errors import Conflict, InvalidInput, NotFound
from handoff_plugin.inbox.feed import ORIGIN
from handoff_plugin.livechat.broker import Broker, ConversationEvent
from handoff_plugin.livechat.service import ClaimMirror
from handoff_plugin.models import ROUTING, Agent, Assignee, Assignment, AssignmentAction
from handoff_plugin.routing import desk
from handoff_plugin.store import Store
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.queries.agents import AgentQueries
from handoff_plugin.store.queries.assignments import AssignmentQueries
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.inbox import InboxQueries

log = structlog.get_logger(__name__)

MAX_NOTE_LENGTH = 1000


def handled_by(assignee: Assignee, conversation_id: int) -> Conflict:
    return Conflict(
        f"{assignee.name} ({assignee.email}) is handling conversation {conversation_id}; "
        "take it over to answer.",
        {"assignee": assignee.as_json()},
    )


def parse_note(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("note must be a string")
    note = value.strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"note is longer than {MAX_NOTE_LENGTH} characters")
    return note or None


class Assignments:
    def __init__(
        self,
        store: Store,
        broker: Broker,
        origin: str = ORIGIN,
        mirror: Callable[[], Awaitable[ClaimMirror | None]] | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.origin = origin
        # The Slack thread learns of a change in the change's own transaction (see _record).
        self._mirror = mirror

    async def assignee(self, conversation_id: int) -> Assignee | None:
        return await self.store.run(
            lambda tx: AssignmentQueries(tx).assignee(conversation_id), read_only=True
        )

    async def claim(self, agent: Agent, conversation_id: int, *, take_over: bool = False) -> bool:
        """Make `agent` the conversation's assignee; False if it was theirs already.

        Raises `Conflict` if another agent has it, unless `take_over`."""
        me = Assignee.of(agent)
        # Every agent message asks, and it is nearly always theirs already: a snapshot read
        # says so without queueing behind the writes (the message's own write comes next).
        holder = await self.assignee(conversation_id)
        if holder is not None and holder.id == agent.id:
            return False
        mirror = await self._claim_mirror()

        async def claim(tx: StoreTransaction) -> tuple[str, Assignment | None]:
            sender_id = await self._sender_id(tx, conversation_id)
            q = AssignmentQueries(tx)
            previous = await q.assignee(conversation_id)
            if previous is not None and previous.id == agent.id:
                return sender_id, None
            if previous is not None and not take_over:
                raise handled_by(previous, conversation_id)
            if previous is None:
                won = await q.claim_if_free(conversation_id, agent.id)
            else:
                won = await q.assign(conversation_id, agent.id, held_by=previous.id)
            if not won:  # another agent's claim committed between our read and our write
                holder = await q.assignee(conversation_id)
                if holder is not None and holder.id != agent.id:
                    raise handled_by(holder, conversation_id)
                return sender_id, None
            action: AssignmentAction = "taken_over" if previous else "claimed"
            return sender_id, await self._record(
                tx, Assignment(conversation_id, action, me, previous, me), mirror
            )

        sender_id, change = await self.store.run(claim)
        if change is None:
            return False
        await self._publish(sender_id, change)
        return True

    async def release(self, agent: Agent, conversation_id: int) -> None:
        """Back to the queue: nobody handles the conversation (the assignee or an admin)."""
        mirror = await self._claim_mirror()
        async with self.store.transaction() as tx:
            sender_id = await self._sender_id(tx, conversation_id)
            q = AssignmentQueries(tx)
            previous = await q.assignee(conversation_id)
            if previous is None:
                raise Conflict(f"Nobody is handling conversation {conversation_id}.")
            self._may_hand_over(agent, previous, conversation_id)
            if not await q.assign(conversation_id, None, held_by=previous.id):
                raise Conflict(f"Conversation {conversation_id} changed hands meanwhile; reload.")
            change = await self._record(
                tx,
                Assignment(conversation_id, "released", None, previous, Assignee.of(agent)),
                mirror,
            )
        await self._publish(sender_id, change)

    async def transfer(
        self, agent: Agent, conversation_id: int, agent_email: object, note: object = None
    ) -> Assignee:
        """Hand the conversation to another agent, with an optional note for them."""
        if not isinstance(agent_email, str) or not agent_email.strip():
            raise InvalidInput('send {"agent_email": "...", "note": "..."} (note is optional)')
        text = parse_note(note)
        mirror = await self._claim_mirror()
        async with self.store.transaction() as tx:
            sender_id = await self._sender_id(tx, conversation_id)
            target = await AgentQueries(tx).by_email(agent_email)
            if target is None:
                raise InvalidInput(f"agent_email {agent_email.strip()!r} is not an agent here")
            q = AssignmentQueries(tx)
            previous = await q.assignee(conversation_id)
            if previous is not None:
                self._may_hand_over(agent, previous, conversation_id)
                if previous.id == target.id:
                    raise InvalidInput(f"{target.name} is handling this conversation already")
            held_by = previous.id if previous else None
            if not await q.assign(conversation_id, target.id, held_by=held_by):
                raise Conflict(f"Conversation {conversation_id} changed hands meanwhile; reload.")
            new = Assignee.of(target)
            change = await self._record(
                tx,
                Assignment(conversation_id, "transferred", new, previous, Assignee.of(agent), text),
                mirror,
            )
        await self._publish(sender_id, change)
        return new

    async def may_answer(self, agent: Agent, conversation_id: int) -> None:
        """Raises `Conflict` if another agent handles the conversation."""
        holder = await self.assignee(conversation_id)
        if holder is not None and holder.id != agent.id:
            raise handled_by(holder, conversation_id)

    async def ended(self, by: Assignee, conversation_id: int) -> None:
        """Live chat ended (by an agent, or `ROUTING` when it went quiet): nobody handles the
        conversation any more."""
        async with self.store.transaction() as tx:
            sender_id = await self._sender_id(tx, conversation_id)
            q = AssignmentQueries(tx)
            previous = await q.assignee(conversation_id)
            if previous is None or not await q.assign(conversation_id, None, held_by=previous.id):
                return
            change = await self._record(
                tx, Assignment(conversation_id, "ended", None, previous, by)
            )
        await self._publish(sender_id, change)

    async def assign_automatically(self, conversation_id: int, settings: Settings) -> bool:
        """Give a waiting conversation nobody handles to the online agent with the most room
        (`routing.auto_assign`); False if someone took it meanwhile or nobody has room."""
        mirror = await self._claim_mirror()
        async with self.store.transaction() as tx:
            sender_id = await self._sender_id(tx, conversation_id)
            agent_id = await desk.pick_agent(tx, settings)
            if agent_id is None:
                return False
            q = AssignmentQueries(tx)
            if not await q.assign(conversation_id, agent_id, held_by=None):
                return False
            assignee = await q.assignee(conversation_id)
            assert assignee is not None
            change = await self._record(
                tx, Assignment(conversation_id, "assigned", assignee, None, ROUTING), mirror
            )
        await self._publish(sender_id, change)
        return True

    # --- internals ---

    @staticmethod
    def _may_hand_over(agent: Agent, holder: Assignee, conversation_id: int) -> None:
        if holder.id != agent.id and not agent.is_admin:
            raise Conflict(
                f"{holder.name} ({holder.email}) is handling conversation {conversation_id}; "
                "only they or an admin can hand it over (or take it over first).",
                {"assignee": holder.as_json()},
            )

    @staticmethod
    async def _sender_id(tx: StoreTransaction, conversation_id: int) -> str:
        conversation = await ConversationQueries(tx).conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return conversation.sender_id

    async def _claim_mirror(self) -> ClaimMirror | None:
        return await self._mirror() if self._mirror is not None else None

    async def _record(
        self, tx: StoreTransaction, change: Assignment, mirror: ClaimMirror | None = None
    ) -> Assignment:
        assignee = change.assignee.ref if change.assignee else None
        await InboxQueries(tx).add_event(
            "assignment.changed",
            change.conversation_id,
            self.origin,
            agent=assignee,
            detail=change.detail(),
        )
        if mirror is not None:
            await mirror(tx, change.conversation_id, assignee)
        log.info(
            "handoff.inbox.assignment_changed",
            conversation_id=change.conversation_id,
            action=change.action,
            assignee_id=change.assignee.id if change.assignee else None,
            previous_id=change.previous.id if change.previous else None,
            by_id=change.by.id,
        )
        return replace(change, at=tx.clock())

    async def _publish(self, sender_id: str, change: Assignment) -> None:
        await self.broker.publish(
            ConversationEvent(
                "assignment.changed", change.conversation_id, sender_id, assignment=change
            )
        )
