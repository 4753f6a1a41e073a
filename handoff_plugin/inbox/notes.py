"""Internal notes: what agents write on a conversation for each other.

A note is never a message: it is stored in its own table, so it never reaches the visitor's
socket, Rasa's tracker, Slack or a webhook, and writing one neither claims the conversation nor
starts live chat. Other agents viewing the conversation see it at once: it is published on this
process's broker and appended to the inbox event log (`note.created`), which every other inbox
process's `EventFeed` reads (see feed.py).
"""

from __future__ import annotations

from datetime import datetime

import structlog

from handoff_plugin.errors import InvalidInput, NotFound
from handoff_plugin.inbox.feed import ORIGIN
from handoff_plugin.livechat.broker import Broker, ConversationEvent
from handoff_plugin.models import Agent, InternalNote
from handoff_plugin.store import Store, StoreTransaction
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.inbox import InboxQueries
from handoff_plugin.store.queries.notes import NoteQueries

log = structlog.get_logger(__name__)

MAX_NOTE_LENGTH = 4000


def note_text(text: object) -> str:
    """The note as it will be stored; `InvalidInput` (400) if it is missing, empty or too long."""
    if not isinstance(text, str):
        raise InvalidInput('send {"text": "..."} with the note as a string')
    text = text.strip()
    if not text:
        raise InvalidInput("the note is empty: write something for your teammates")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"the note is longer than {MAX_NOTE_LENGTH} characters ({len(text)})")
    return text


class InboxNotes:
    def __init__(self, store: Store, broker: Broker, origin: str = ORIGIN) -> None:
        self.store = store
        self.broker = broker
        self.origin = origin

    async def add(self, agent: Agent, conversation_id: int, text: object) -> InternalNote:
        """Store the note and tell the agents watching; the visitor is told nothing."""
        checked = note_text(text)

        async def write(tx: StoreTransaction) -> tuple[InternalNote, str]:
            conversation = await ConversationQueries(tx).conversation(conversation_id)
            if conversation is None:
                raise NotFound(f"conversation {conversation_id} does not exist")
            note = await NoteQueries(tx).add_note(conversation_id, agent.id, agent.name, checked)
            await InboxQueries(tx).add_event(
                "note.created",
                conversation_id,
                self.origin,
                agent=agent.ref,
                detail=note.as_json(),
            )
            return note, conversation.sender_id

        note, sender_id = await self.store.run(write)
        await self.broker.publish(
            ConversationEvent("note.created", conversation_id, sender_id, note=note)
        )
        log.info("handoff.inbox.note_added", conversation_id=conversation_id, agent_id=agent.id)
        return note

    async def of(
        self, conversation_id: int, since: datetime | None = None, until: datetime | None = None
    ) -> list[InternalNote]:
        """The conversation's notes written in [since, until), oldest first."""
        return await self.store.run(
            lambda tx: NoteQueries(tx).notes(conversation_id, since, until), read_only=True
        )
