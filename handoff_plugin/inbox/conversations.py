"""What an agent does with conversations: list them, open one, answer, end live chat.

Answering and ending go through the live-chat service (it pauses and resumes the bot, tells the
visitor, keeps the transcript); this module adds the inbox's own records: read markers, and the
live-chat start/end markers of the transcript in the inbox event log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from handoff_plugin.errors import InvalidInput, NotFound
from handoff_plugin.inbox.assignment import Assignments
from handoff_plugin.inbox.feed import ORIGIN
from handoff_plugin.livechat.csat import Satisfaction
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.models import (
    ROUTING,
    Agent,
    Assignee,
    Assignment,
    ChatMessage,
    Conversation,
    ConversationPage,
    ConversationState,
    ConversationSummary,
    Cursor,
    EscalationRecord,
    InternalNote,
    LiveMarker,
    Status,
    Visitor,
)
from handoff_plugin.store import Store, StoreTransaction
from handoff_plugin.store.queries.assignments import AssignmentQueries
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.desk import DeskQueries
from handoff_plugin.store.queries.inbox import InboxQueries
from handoff_plugin.store.queries.notes import NoteQueries

log = structlog.get_logger(__name__)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class ConversationDetail:
    conversation: Conversation
    visitor: Visitor | None
    messages: list[ChatMessage]
    escalations: list[EscalationRecord]  # of this conversation, oldest first
    visitor_escalations: list[EscalationRecord]  # of the visitor, in any conversation, newest first
    markers: list[LiveMarker]
    assignee: Assignee | None = None  # who handles it now
    assignment: Assignment | None = None  # the newest change of who handles it
    # Where the previous page of the transcript ends (`before_seq` to ask for it); None: no more.
    older_before: int | None = None
    is_newest_page: bool = True
    notes: list[InternalNote] = field(default_factory=list)  # agents' notes on this page

    @property
    def first_seen(self) -> datetime:
        seen = [self.conversation.created_at]
        if self.visitor is not None:
            seen.append(self.visitor.created_at)
        return min(seen)


def parse_status(value: str | None) -> Status:
    if value in (None, ""):
        return "all"
    if value not in ("waiting", "live", "mine", "all"):
        raise InvalidInput(f"status must be waiting, live, mine or all, not {value!r}")
    return value  # type: ignore[return-value]


TRANSCRIPT_PAGE = 200  # newest messages shown when a conversation opens
MAX_TRANSCRIPT_PAGE = 500


def parse_transcript_page(before: str | None, limit: str | None) -> tuple[int | None, int]:
    """`before_seq` and `limit` of GET conversations/{id}: (None, 200) unless given."""
    allowed = f"limit must be a number from 1 to {MAX_TRANSCRIPT_PAGE}"
    try:
        size = TRANSCRIPT_PAGE if limit in (None, "") else int(limit)
    except ValueError:
        raise InvalidInput(allowed) from None
    if not 1 <= size <= MAX_TRANSCRIPT_PAGE:
        raise InvalidInput(allowed)
    if before in (None, ""):
        return None, size
    if not re.fullmatch(r"[0-9]{1,12}", before) or int(before) < 1:  # not "³" (isdigit)
        raise InvalidInput("before_seq must be a message number (the previous page's cursor)")
    return int(before), size


def parse_limit(value: str | None) -> int:
    if value in (None, ""):
        return PAGE_SIZE
    try:
        limit = int(value)
    except ValueError:
        raise InvalidInput(f"limit must be a number from 1 to {MAX_PAGE_SIZE}") from None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be a number from 1 to {MAX_PAGE_SIZE}")
    return limit


def parse_query(value: str | None) -> str | None:
    text = (value or "").strip()
    if (
        "\x00" in text
    ):  # no message holds one, and SQLite's FTS5 refuses it (a 500, found by fuzzing)
        raise InvalidInput("the search may not contain a null character")
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"the search is longer than {MAX_QUERY_LENGTH} characters")
    return text or None


class InboxConversations:
    def __init__(self, store: Store, livechat: LiveChatService, origin: str = ORIGIN) -> None:
        self.store = store
        self.livechat = livechat
        self.origin = origin
        self.assignments = Assignments(store, livechat.broker, origin, livechat.claim_mirror)
        self.satisfaction = Satisfaction(livechat)

    async def page(
        self,
        agent: Agent,
        status: Status = "all",
        query: str | None = None,
        cursor: Cursor | None = None,
        limit: int = PAGE_SIZE,
    ) -> ConversationPage:

        async def read(
            tx: StoreTransaction,
        ) -> tuple[list[ConversationSummary], Cursor | None, dict[ConversationState, int], int]:
            q = InboxQueries(tx)
            items, next_cursor = await q.list_conversations(agent.id, status, query, cursor, limit)
            return items, next_cursor, await q.state_counts(), await q.assigned_count(agent.id)

        # Read-only, on a reader thread in one trip: a search over many conversations takes
        # a while and neither holds the write lock nor blocks the event loop meanwhile.
        items, next_cursor, counts, mine = await self.store.run(read, read_only=True)
        return ConversationPage(
            items,
            next_cursor,
            counts[ConversationState.ESCALATED],
            counts[ConversationState.LIVE],
            mine,
        )

    async def detail(
        self,
        agent: Agent,
        conversation_id: int,
        before_seq: int | None = None,
        limit: int = TRANSCRIPT_PAGE,
    ) -> ConversationDetail:
        """The conversation with one page of its transcript (the newest `limit` messages, or
        those before `before_seq`); the agent has now read it."""
        async with self.store.transaction() as tx:
            conversation = await ConversationQueries(tx).conversation(conversation_id)
            if conversation is None:
                raise NotFound(f"conversation {conversation_id} does not exist")
            visitor = (
                await ConversationQueries(tx).visitor(conversation.visitor_id)
                if conversation.visitor_id
                else None
            )
            q = InboxQueries(tx)
            escalations = await q.escalations_of_conversation(conversation_id)
            earlier = await q.escalations_of_visitor(visitor.id) if visitor else []
            markers = await q.live_markers(conversation_id)
            assignments = AssignmentQueries(tx)
            assignee = await assignments.assignee(conversation_id)
            assignment = await assignments.latest(conversation_id)
        page = await self.livechat.messages_before(conversation_id, before_seq, limit + 1)
        older = len(page) > limit
        messages = page[1:] if older else page
        if messages and before_seq is None:
            async with self.store.transaction() as tx:
                await InboxQueries(tx).mark_read(agent.id, conversation_id, messages[-1].seq)
        if messages:  # only the escalations serialize.timeline places on this page
            if older:  # those before the previous page's last message are shown there
                escalations = [e for e in escalations if e.created_at >= page[0].created_at]
            if before_seq is not None:  # those after this page's last message: on the next
                escalations = [e for e in escalations if e.created_at < messages[-1].created_at]
        since = page[0].created_at if older and messages else None  # the same window for notes
        until = messages[-1].created_at if messages and before_seq is not None else None
        notes = await self.store.run(
            lambda tx: NoteQueries(tx).notes(conversation_id, since, until), read_only=True
        )
        return ConversationDetail(
            conversation,
            visitor,
            messages,
            escalations,
            earlier,
            markers,
            assignee,
            assignment,
            older_before=messages[0].seq if older and messages else None,
            is_newest_page=before_seq is None,
            notes=notes,
        )

    async def mark_read(self, agent: Agent, conversation_id: int, seq: int) -> None:
        async with self.store.transaction() as tx:
            if await ConversationQueries(tx).conversation(conversation_id) is None:
                raise NotFound(f"conversation {conversation_id} does not exist")
            await InboxQueries(tx).mark_read(agent.id, conversation_id, seq)

    async def send(
        self, agent: Agent, conversation_id: int, text: object, *, via: str | None = None
    ) -> ChatMessage:
        """The agent's message to the visitor; the first one starts live chat and claims the
        conversation for `agent` (`Conflict` if another agent handles it). `via`: where the
        agent wrote it, if not in the inbox ("slack")."""
        if not isinstance(text, str):
            raise InvalidInput('send {"text": "..."} with the message as a string')
        await self.livechat.agent_text(text)  # an empty or too long message claims nothing
        await self.assignments.claim(agent, conversation_id)
        relayed = await self.livechat.relay_agent_message(conversation_id, agent.ref, text, via=via)
        message, notice = relayed.message, relayed.joined_notice

        async def sent(tx: StoreTransaction) -> None:
            q = InboxQueries(tx)
            if notice is not None:  # live chat started with this message
                await q.add_event(
                    "live.started", conversation_id, self.origin, seq=notice.seq, agent=agent.ref
                )
            await q.mark_read(agent.id, conversation_id, message.seq)
            desk = DeskQueries(tx)
            await desk.first_reply(conversation_id)  # the wait ends: the expected wait learns
            await desk.seen(agent.id, active=True)

        await self.store.run(sent)
        return message

    async def claim(self, agent: Agent, conversation_id: int, *, take_over: bool = False) -> None:
        """Make the conversation `agent`'s; in live chat the visitor is told who joined."""
        if await self.assignments.claim(agent, conversation_id, take_over=take_over):
            await self.livechat.announce_agent(conversation_id, agent.ref)

    async def release(self, agent: Agent, conversation_id: int) -> None:
        """Give the conversation back to the queue."""
        await self.assignments.release(agent, conversation_id)

    async def transfer(
        self, agent: Agent, conversation_id: int, agent_email: object, note: object = None
    ) -> Assignee:
        """Hand the conversation to another agent; in live chat the visitor is told who joined."""
        new = await self.assignments.transfer(agent, conversation_id, agent_email, note)
        await self.livechat.announce_agent(conversation_id, new.ref)
        return new

    async def end_quiet(self, conversation_id: int, minutes: float) -> bool:
        """End a live chat whose visitor has been quiet for `minutes`: the visitor is told and
        the bot is back; the agent's transcript says why it ended. False if it was not live."""
        texts = await self.livechat.texts_for(conversation_id)
        settings = await self.livechat.settings.current()
        text = texts.render("idle_closed", chatbot_name=settings.chatbot.name)
        before = await self.livechat.last_seq(conversation_id)
        if not await self.livechat.end_live_chat(conversation_id, ROUTING.ref, text=text):
            return False
        await self.assignments.ended(ROUTING, conversation_id)
        reason = {"reason": "idle", "minutes": minutes}
        async with self.store.transaction() as tx:
            await DeskQueries(tx).closed_because(conversation_id, "idle")
            q = InboxQueries(tx)
            notice = await q.first_system_message_after(conversation_id, before)
            if notice is not None:
                await q.add_event(
                    "live.ended", conversation_id, self.origin, seq=notice, detail=reason
                )
        log.info("handoff.desk.idle_closed", conversation_id=conversation_id, minutes=minutes)
        return True

    async def end(self, agent: Agent, conversation_id: int) -> bool:
        """End live chat (the bot answers again) and clear its assignee; False if it was not live.

        Only the assignee (if there is one) or an admin may end it: others take it over first."""
        if not agent.is_admin:
            await self.assignments.may_answer(agent, conversation_id)
        before = await self.livechat.last_seq(conversation_id)
        if not await self.livechat.end_live_chat(conversation_id, agent.ref):
            return False
        await self.assignments.ended(Assignee.of(agent), conversation_id)
        async with self.store.transaction() as tx:
            q = InboxQueries(tx)
            notice = await q.first_system_message_after(conversation_id, before)
            if notice is not None:
                await q.add_event(
                    "live.ended", conversation_id, self.origin, seq=notice, agent=agent.ref
                )
        await self.satisfaction.ask(conversation_id, agent.ref)  # "How did we do?" (once)
        return True
