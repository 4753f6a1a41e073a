"""The live-chat service: bot -> escalated -> live -> bot, with a whole numbered transcript."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from handoff_plugin.config.settings import Settings, StaticSettings
from handoff_plugin.errors import InvalidInput, NotFound
from handoff_plugin.livechat.broker import ConversationEvent, InProcessBroker
from handoff_plugin.livechat.service import (
    Heard,
    LiveChatService,
    Missed,
    Pause,
    Resume,
    Said,
    TranscriptEvent,
)
from handoff_plugin.livechat.sessions import SessionSigner
from handoff_plugin.models import AgentRef, Author, ConversationState
from handoff_plugin.store import Store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.tables import escalations
from tests.conftest import FakeClock

ANN = AgentRef("agent-1", "Ann")


class FakeTranscript:
    """Records tracker events and checks they are appended under the conversation's lock."""

    def __init__(self) -> None:
        self.events: dict[str, list[TranscriptEvent]] = {}
        self.locked: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def lock(self, sender_id: str) -> AsyncIterator[None]:
        async with self._locks.setdefault(sender_id, asyncio.Lock()):
            self.locked.add(sender_id)
            try:
                yield
            finally:
                self.locked.discard(sender_id)

    async def append(
        self, sender_id: str, events: Sequence[TranscriptEvent], *, missed: Missed | None = None
    ) -> None:
        assert sender_id in self.locked, "tracker events appended without the tracker lock"
        recorded = self.events.setdefault(sender_id, [])
        if missed is not None:
            seqs = [e.metadata["handoff"]["seq"] for e in recorded if isinstance(e, Said)]
            recorded.extend(await missed(seqs[-1]) if seqs else ())
        recorded.extend(events)


@pytest.fixture
def transcript() -> FakeTranscript:
    return FakeTranscript()


@pytest.fixture
def make_service(
    store: Store, transcript: FakeTranscript, make_settings: Callable[..., Settings]
) -> Callable[..., LiveChatService]:
    def make(**sections: Any) -> LiveChatService:
        return LiveChatService(
            store=store,
            settings=StaticSettings(make_settings(**sections)),
            transcript=transcript,
            broker=InProcessBroker(),
            signer=SessionSigner(b"unit-test-secret-0123456789"),
        )

    return make


@pytest.fixture
def service(make_service: Callable[..., LiveChatService]) -> LiveChatService:
    return make_service()


async def escalated_conversation(service: LiveChatService, sender: str = "visitor-1") -> int:
    conversation, _ = await service.record_visitor_message(sender, "I want a human", None, "rest")
    async with service.store.transaction() as tx:
        await ConversationQueries(tx).set_state(conversation.id, ConversationState.ESCALATED)
        visitor = await ConversationQueries(tx).save_visitor(conversation, _profile())
        await tx.conn.execute(
            escalations.insert().values(
                conversation_id=conversation.id,
                visitor_id=visitor.id,
                trigger="intent",
                message="I want a human",
                status="open",
                created_at=tx.clock(),
            )
        )
    return conversation.id


def _profile() -> Any:
    from handoff_plugin.models import VisitorProfile

    return VisitorProfile(email="v@example.com")


async def test_the_agents_first_message_starts_live_chat_and_pauses_the_bot(
    service: LiveChatService, transcript: FakeTranscript
) -> None:
    conversation_id = await escalated_conversation(service)
    await service.send_agent_message(conversation_id, ANN, "Hi, I'm Ann. How can I help?")

    assert await service.state_of("visitor-1") is ConversationState.LIVE
    messages = await service.messages_after(conversation_id, 0)
    assert [(m.author, m.text) for m in messages] == [
        (Author.VISITOR, "I want a human"),
        (Author.SYSTEM, "Ann from our team has joined the chat."),
        (Author.AGENT, "Hi, I'm Ann. How can I help?"),
    ]
    events = transcript.events["visitor-1"]
    assert isinstance(events[0], Pause)
    assert events[1] == Said(
        "Ann from our team has joined the chat.", {"handoff": {"author": "system", "seq": 2}}
    )
    assert events[2] == Said(
        "Hi, I'm Ann. How can I help?",
        {"handoff": {"author": "agent", "seq": 3, "agent": {"id": "agent-1", "name": "Ann"}}},
    )


async def test_later_agent_messages_do_not_announce_the_agent_again(
    service: LiveChatService, transcript: FakeTranscript
) -> None:
    conversation_id = await escalated_conversation(service)
    await service.send_agent_message(conversation_id, ANN, "one")
    await service.send_agent_message(conversation_id, ANN, "two")
    texts = [m.text for m in await service.messages_after(conversation_id, 0)]
    assert texts.count("Ann from our team has joined the chat.") == 1
    assert sum(isinstance(e, Pause) for e in transcript.events["visitor-1"]) == 1


async def test_two_agents_starting_at_once_announce_only_one(service: LiveChatService) -> None:
    conversation_id = await escalated_conversation(service)
    started = await asyncio.gather(
        service.start_live_chat(conversation_id, ANN),
        service.start_live_chat(conversation_id, AgentRef("agent-2", "Bob")),
    )
    assert sorted(started) == [False, True]
    notices = [
        m for m in await service.messages_after(conversation_id, 0) if m.author is Author.SYSTEM
    ]
    assert len(notices) == 1


async def test_ending_live_chat_hands_back_to_the_bot_and_closes_the_escalation(
    service: LiveChatService, transcript: FakeTranscript
) -> None:
    conversation_id = await escalated_conversation(service)
    await service.send_agent_message(conversation_id, ANN, "Hello")
    assert await service.end_live_chat(conversation_id, ANN) is True

    assert await service.state_of("visitor-1") is ConversationState.BOT
    last = (await service.messages_after(conversation_id, 0))[-1]
    assert (last.author, last.text) == (
        Author.SYSTEM,
        "Ann has left the chat. You're back with Assistant.",
    )
    assert isinstance(transcript.events["visitor-1"][-1], Resume)
    async with service.store.transaction() as tx:
        assert await ConversationQueries(tx).open_escalation(conversation_id) is None
    assert await service.end_live_chat(conversation_id, ANN) is False


async def test_a_live_chats_lines_reach_the_tracker_in_order_when_it_ends(
    service: LiveChatService, transcript: FakeTranscript
) -> None:
    conversation_id = await escalated_conversation(service)
    await service.send_agent_message(conversation_id, ANN, "Hello")
    await service.record_visitor_message("visitor-1", "my parcel", {"language": "en"}, "rest")
    await service.send_agent_message(conversation_id, ANN, "Let me check")
    await service.tell_visitor(conversation_id, "Bob joined the chat.")
    started = list(transcript.events["visitor-1"])
    assert [type(e) for e in started] == [Pause, Said, Said]  # the start, then nothing per line

    assert await service.end_live_chat(conversation_id, ANN)
    ended = transcript.events["visitor-1"][len(started) :]
    assert ended[0] == Heard("my parcel", {"language": "en"}, "rest")
    assert [(type(e), getattr(e, "text", None)) for e in ended[1:]] == [
        (Said, "Let me check"),
        (Said, "Bob joined the chat."),
        (Said, "Ann has left the chat. You're back with Assistant."),
        (Resume, None),
    ]


async def test_the_notices_speak_the_visitors_language(
    make_service: Callable[..., LiveChatService],
) -> None:
    service = make_service(
        localization={
            "texts": {
                "en": {},
                "de": {
                    "live_chat_started": "{agent_name} ist jetzt im Chat.",
                    "live_chat_ended": "{agent_name} hat den Chat verlassen.",
                },
            }
        }
    )
    conversation, _ = await service.record_visitor_message(
        "v-de", "Hallo", {"language": "de"}, "livechat"
    )
    await service.send_agent_message(conversation.id, ANN, "Guten Tag")
    await service.end_live_chat(conversation.id, ANN)
    texts = [m.text for m in await service.messages_after(conversation.id, 0)]
    assert texts == ["Hallo", "Ann ist jetzt im Chat.", "Guten Tag", "Ann hat den Chat verlassen."]


async def test_every_message_is_published_for_the_inbox(service: LiveChatService) -> None:
    subscription = service.broker.subscribe()
    conversation_id = await escalated_conversation(service)
    await service.send_agent_message(conversation_id, ANN, "Hi")
    await subscription.close()
    received: list[ConversationEvent] = [e async for e in subscription]
    assert [(e.kind, e.message.seq if e.message else e.state) for e in received] == [
        ("message.created", 1),
        ("state.changed", ConversationState.LIVE),
        ("message.created", 2),
        ("message.created", 3),
    ]
    assert ConversationEvent.from_dict(received[3].as_dict()) == received[3]


async def test_empty_or_overlong_agent_messages_are_refused(
    make_service: Callable[..., LiveChatService],
) -> None:
    service = make_service(livechat={"max_message_length": 5})
    conversation_id = await escalated_conversation(service)
    with pytest.raises(InvalidInput):
        await service.send_agent_message(conversation_id, ANN, "   ")
    with pytest.raises(InvalidInput, match="max_message_length"):
        await service.send_agent_message(conversation_id, ANN, "too long")
    with pytest.raises(NotFound):
        await service.send_agent_message(999, ANN, "hi")
    assert await service.state_of("visitor-1") is ConversationState.ESCALATED


async def test_a_forged_session_id_gets_a_fresh_session_not_someone_elses(
    service: LiveChatService,
) -> None:
    first = await service.open_session(None)
    assert first.is_new
    stored = await service.ensure_session(first.session.key)
    again = await service.open_session(first.token)
    assert not again.is_new and again.session == stored
    forged = await service.open_session(first.session.key + "." + "A" * 43)
    assert forged.is_new and forged.session.key != first.session.key
    assert forged.session.conversation_id is None


async def test_a_page_view_stores_nothing_until_the_visitor_writes(
    service: LiveChatService,
) -> None:
    opened = await service.open_session(None)
    assert opened.session.conversation_id is None
    assert await service.state_of(opened.session.key) is ConversationState.BOT
    async with service.store.transaction() as tx:
        assert await ConversationQueries(tx).conversation_by_sender(opened.session.key) is None
    reopened = await service.open_session(opened.token)  # a reload before writing anything
    assert not reopened.is_new and reopened.session.key == opened.session.key
    stored = await service.ensure_session(opened.session.key)
    assert stored.conversation_id is not None
    assert await service.ensure_session(opened.session.key) == stored


async def test_a_session_id_idle_longer_than_the_limit_gets_a_fresh_conversation(
    make_service: Callable[..., LiveChatService], clock: FakeClock
) -> None:
    service = make_service(livechat={"session_idle_days": 2})
    first = await service.open_session(None)
    stored = await service.ensure_session(first.session.key)
    clock.advance(1.5 * 86400)
    kept = await service.open_session(first.token)  # a visit within the limit restarts the idle time
    assert not kept.is_new and kept.session.conversation_id == stored.conversation_id
    clock.advance(1.5 * 86400)
    assert not (await service.open_session(first.token)).is_new
    clock.advance(2 * 86400 + 1)
    expired = await service.open_session(first.token)
    assert expired.is_new and expired.session.key != first.session.key
    assert expired.session.conversation_id is None and expired.token != first.token


async def test_delivered_cursors_of_many_sessions_are_saved_together_and_never_go_back(
    service: LiveChatService,
) -> None:
    keys = [(await service.open_session(None)).session.key for _ in range(3)]
    for key in keys:
        await service.ensure_session(key)
    await service.mark_delivered({keys[0]: 5, keys[1]: 3})
    await service.mark_delivered({keys[0]: 2, keys[1]: 4})  # a late save of an older cursor
    saved = [await service.ensure_session(key) for key in keys]
    assert [session.delivered_seq for session in saved] == [5, 4, 0]
