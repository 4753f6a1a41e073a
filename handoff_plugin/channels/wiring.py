"""The live-chat service of one Rasa server process, shared by every channel of its Sanic app.

`livechat_service(app)` builds it on first use (the visitor channel at start-up, later the agent
inbox), keeps it on `app.ctx`, and installs the pause guard, so the bot stays silent during live
chat on every channel of this server. Building it is also when the server's exposure is checked
(once per app: both channels share it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from handoff_plugin.delivery.slack_thread import ThreadMirror
from handoff_plugin.livechat.broker import Broker, InProcessBroker
from handoff_plugin.livechat.redis_broker import RedisBroker
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.livechat.sessions import SessionSigner, session_secret
from handoff_plugin.rasa_bridge import pause_guard
from handoff_plugin.rasa_bridge.api_guard import warn_if_rasa_api_unprotected
from handoff_plugin.rasa_bridge.transcript import RasaTranscript
from handoff_plugin.services import Services, reset_services, services

log = structlog.get_logger(__name__)

_ATTR = "handoff_livechat"
_LOCK_ATTR = "handoff_livechat_lock"
_OWNS_ATTR = "handoff_owns_services"


def make_broker(redis_url: str) -> Broker:
    """One process: in memory. Several replicas (`redis.url`): Redis pub/sub."""
    if not redis_url:
        return InProcessBroker()
    broker = RedisBroker(redis_url)
    broker.start()
    return broker


async def livechat_service(app: Any, given: Services | None = None) -> LiveChatService:
    existing: LiveChatService | None = getattr(app.ctx, _ATTR, None)
    if existing is not None:
        return existing
    if getattr(app.ctx, _LOCK_ATTR, None) is None:
        setattr(app.ctx, _LOCK_ATTR, asyncio.Lock())
    async with getattr(app.ctx, _LOCK_ATTR):
        existing = getattr(app.ctx, _ATTR, None)
        if existing is not None:
            return existing
        shared = given or await services()
        setattr(app.ctx, _OWNS_ATTR, given is None)
        settings = await shared.settings.current()
        service = LiveChatService(
            store=shared.store,
            settings=shared.settings,
            transcript=RasaTranscript(lambda: getattr(app.ctx, "agent", None)),
            broker=make_broker(settings.redis.url),
            signer=SessionSigner(await session_secret(settings, shared.store)),
            mirror=ThreadMirror(on_enqueued=shared.dispatcher.wake_after_reply),
        )
        setattr(app.ctx, _ATTR, service)
        pause_guard.install(service)
        warn_if_rasa_api_unprotected(app)
        return service


async def release(app: Any) -> None:
    """After the server stopped: close the services this app opened (their database pool keeps
    threads that would hold `rasa run` open). Services a caller passed in are the caller's."""
    if getattr(app.ctx, _OWNS_ATTR, False):
        setattr(app.ctx, _OWNS_ATTR, False)
        setattr(app.ctx, _ATTR, None)
        await reset_services()
        log.info("handoff.services.closed")
