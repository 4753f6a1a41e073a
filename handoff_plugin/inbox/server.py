"""The inbox of one Rasa server process: its API core and the event feed it runs."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from handoff_plugin.inbox.agents import AgentService, Passwords
from handoff_plugin.inbox.api import InboxApi
from handoff_plugin.inbox.conversations import InboxConversations
from handoff_plugin.inbox.feed import EventFeed
from handoff_plugin.inbox.pages import InboxPages
from handoff_plugin.inbox.stream import HEARTBEAT, LiveStream
from handoff_plugin.inbox.team_desk import SWEEP_INTERVAL, TeamDesk
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.store import Store
from handoff_plugin.store.saved_settings import StoredSettings

log = structlog.get_logger(__name__)


@dataclass
class InboxRuntime:
    api: InboxApi
    feed: EventFeed
    stopping: asyncio.Event
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        store: Store,
        settings: StoredSettings,
        livechat: LiveChatService,
        base_path: str,
        *,
        passwords: Passwords | None = None,
        feed_interval: float = 1.0,
        heartbeat: float = HEARTBEAT,
        sweep_interval: float = SWEEP_INTERVAL,
    ) -> InboxRuntime:
        stopping = asyncio.Event()
        conversations = InboxConversations(store, livechat)
        team_desk = TeamDesk(settings, conversations, sweep_interval)
        api = InboxApi(
            agents=AgentService(
                store,
                passwords,
                max_age=timedelta(hours=settings.base_settings.inbox.session_max_hours),
            ),
            conversations=conversations,
            desk=team_desk,
            settings=settings,
            stream=LiveStream(livechat.broker, heartbeat),
            pages=InboxPages(base_path),
            stopping=stopping,
        )
        feed = EventFeed(store, livechat.broker, interval=feed_interval)
        await feed.start_at_newest()
        runtime = cls(api, feed, stopping)
        runtime.tasks.append(asyncio.create_task(feed.run()))
        runtime.tasks.append(asyncio.create_task(team_desk.run(stopping)))
        log.info("handoff.inbox.started", base_path=base_path)
        return runtime

    async def stop(self) -> None:
        self.stopping.set()  # ends every open event stream
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
