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
)

from handoff_plugin.errors import Unavailable
from handoff_plugin.livechat.service import Pause, Resume, Said, TranscriptEvent


def rasa_events(events: Sequence[TranscriptEvent]) -> list[Event]:
    """Pause and resume leave the tracker listening (else the bot would stay silent after)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, Pause):
            out += [ConversationPaused(), ActionExecuted(ACTION_LISTEN_NAME)]
        elif isinstance(event, Resume):
            out += [ConversationResumed(), ActionExecuted(ACTION_LISTEN_NAME)]
        elif isinstance(event, Said):
            out.append(BotUttered(event.text, metadata=dict(event.metadata)))
    return out


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

    async def append(self, sender_id: str, events: Sequence[TranscriptEvent]) -> None:
        agent = self._ready()
        processor = agent.processor
        assert processor is not None
        tracker = await processor.fetch_tracker_with_initial_session(sender_id)
        for event in rasa_events(events):
            tracker.update(event, agent.domain)
        await processor.save_tracker(tracker)
