"""`Transcript` over a running Rasa agent: tracker lock, fetch, update, save.

It does what `rasa/server.py` `append_events` does, so events appended here never race a turn
that is being processed for the same conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from rasa.core.agent import Agent
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from handoff_plugin.errors import Unavailable
from handoff_plugin.livechat.service import Heard, Missed, Pause, Resume, Said, TranscriptEvent


def rasa_events(events: Sequence[TranscriptEvent]) -> list[Event]:
    """Pause and resume leave the tracker listening (else the bot would stay silent after).
    A visitor's live-chat message is logged as Rasa logs a message it does not parse: text and
    no intent. Only the last one before End Live Chat ever enters a policy's state (no action
    runs in between), and Rasa's policies predict the next turn with it as usual
    (tests/integration/test_add_to_own_bot.py)."""
    out: list[Event] = []
    for event in events:
        at = event.at.timestamp() if isinstance(event, Said | Heard) and event.at else None
        if isinstance(event, Pause):
            out += [ConversationPaused(), ActionExecuted(ACTION_LISTEN_NAME)]
        elif isinstance(event, Resume):
            out += [ConversationResumed(), ActionExecuted(ACTION_LISTEN_NAME)]
        elif isinstance(event, Said):
            out.append(BotUttered(event.text, metadata=dict(event.metadata), timestamp=at))
        elif isinstance(event, Heard):
            out.append(
                UserUttered(
                    event.text,
                    input_channel=event.channel,
                    metadata=dict(event.metadata),
                    timestamp=at,
                )
            )
    return out


def newest_seq(tracker: DialogueStateTracker) -> int:
    """The newest transcript `seq` the tracker holds (lines written by `append`), 0 if none."""
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered):
            seq = ((event.metadata or {}).get("handoff") or {}).get("seq")
            if isinstance(seq, int):
                return seq
    return 0


class RasaTranscript:
    def __init__(self, agent: Callable[[], Agent | None]) -> None:
        self._agent = agent  # looked up per call: Rasa replaces its agent when a model loads

    def _ready(self) -> Agent:
        agent = self._agent()
        if agent is None or agent.processor is None:
            raise Unavailable("the Rasa agent is not loaded yet; try again in a moment")
        return agent

    def lock(self, sender_id: str) -> AbstractAsyncContextManager[Any]:
        return self._ready().lock_store.lock(sender_id)

    async def append(
        self, sender_id: str, events: Sequence[TranscriptEvent], *, missed: Missed | None = None
    ) -> None:
        agent = self._ready()
        processor = agent.processor
        assert processor is not None
        tracker = await processor.fetch_tracker_with_initial_session(sender_id)
        if missed is not None:
            synced = newest_seq(tracker)
            # A tracker with no line of ours (a tracker store emptied since) gets none of the
            # older ones: it would read them as if they had just been said.
            events = [*(await missed(synced) if synced else ()), *events]
        for event in rasa_events(events):
            tracker.update(event, agent.domain)
        await processor.save_tracker(tracker)
