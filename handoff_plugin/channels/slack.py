"""Answering from Slack as a Rasa input channel: Slack's Events API and Block Kit buttons at
`/webhooks/slack/events` and `/webhooks/slack/interactions`.

Register it in `credentials.yml` as `handoff_plugin.channels.slack.SlackInput:` (configured through
handoff settings: `slack.signing_secret`, `slack.note_prefix`). Every request is verified against
the app's signing secret and refused (401) when unsigned, wrongly signed or older than 5 minutes;
without a secret every request is refused (503). Slack wants an answer within 3 seconds: the
request is answered at once and handled in a background task, one at a time in arrival order.
What it decides lives in `handoff_plugin.inbox.slack_desk`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from handoff_plugin.channels.wiring import livechat_service
from handoff_plugin.inbox.conversations import InboxConversations
from handoff_plugin.inbox.notes import InboxNotes
from handoff_plugin.inbox.slack_desk import SlackDesk
from handoff_plugin.inbox.slack_requests import (
    MAX_BODY,
    ButtonClick,
    Ignored,
    ThreadReply,
    UrlVerification,
    parse_json,
    read_event,
    read_interaction,
    verify,
)
from handoff_plugin.services import Services, services

log = structlog.get_logger(__name__)


class SlackInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()  # configured through handoff settings, not credentials

    def __init__(self, services: Services | None = None) -> None:
        self._services = services
        self.desk: SlackDesk | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._turn: asyncio.Lock | None = None
        self._told_unconfigured = False

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("handoff_slack", __name__)

        @blueprint.listener("before_server_start")
        async def start(app: Sanic, _loop: Any) -> None:
            livechat = await livechat_service(app, self._services)
            shared = self._services or await services()
            self.desk = SlackDesk(
                shared.store,
                shared.settings,
                InboxConversations(shared.store, livechat),
                InboxNotes(shared.store, livechat.broker),
            )

        @blueprint.listener("before_server_stop")
        async def stop(_app: Sanic, _loop: Any) -> None:
            await self.drain()

        @blueprint.route("/events", methods=["POST"])
        async def events(request: Request) -> HTTPResponse:
            refused = await self._refusal(request)
            if refused is not None:
                return refused
            item = read_event(parse_json(request.body))
            if isinstance(item, UrlVerification):
                return response.json({"challenge": item.challenge})
            if isinstance(item, ThreadReply):
                self._spawn(item.event_id, self._reply(item))
            elif isinstance(item, Ignored):
                log.debug("handoff.slack.event_ignored", reason=item.reason)
            return response.empty(200)

        @blueprint.route("/interactions", methods=["POST"])
        async def interactions(request: Request) -> HTTPResponse:
            refused = await self._refusal(request)
            if refused is not None:
                return refused
            item = read_interaction(request.body)
            if isinstance(item, ButtonClick):
                self._spawn(f"click:{item.trigger_id}", self._click(item))
            else:
                log.debug("handoff.slack.interaction_ignored", reason=item.reason)
            return response.empty(200)

        return blueprint

    async def _refusal(self, request: Request) -> HTTPResponse | None:
        """Why this request is not acted on (an HTTP answer), or None if Slack sent it."""
        body = request.body or b""
        if len(body) > MAX_BODY:
            return response.json({"error": "too large"}, status=413)
        if self.desk is None:
            return response.json({"error": "starting; retry"}, status=503)
        settings = await self.desk.settings.recent()
        secret = settings.slack.signing_secret.get_secret_value()
        if not settings.slack.two_way:
            if not self._told_unconfigured:
                self._told_unconfigured = True
                log.warning(
                    "handoff.slack.not_configured",
                    fix="set slack.enabled, slack.bot_token, slack.channel and "
                    "slack.signing_secret (HANDOFF_SLACK_SIGNING_SECRET: the app's Signing "
                    "Secret, Basic Information page) to answer from Slack",
                )
            return response.json({"error": "answering from Slack is not set up"}, status=503)
        refusal = verify(secret, body, dict(request.headers))
        if refusal is not None:
            log.warning("handoff.slack.request_refused", reason=refusal, path=request.path)
            return response.json({"error": "not signed by Slack"}, status=401)
        return None

    def _spawn(self, request_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._once(request_id, work))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("handoff.slack.handling_failed", error=repr(task.exception()))

    async def _once(self, request_id: str, work: Coroutine[Any, Any, None]) -> None:
        """Handle a request in arrival order, unless it (or a retry of it) was handled before."""
        assert self.desk is not None
        self._turn = self._turn or asyncio.Lock()
        async with self._turn:
            try:
                if not await self.desk.first_time(request_id):
                    log.info("handoff.slack.duplicate_ignored", request_id=request_id)
                    work.close()
                    return
            except BaseException:
                work.close()
                raise
            await work

    async def _reply(self, reply: ThreadReply) -> None:
        assert self.desk is not None
        await self.desk.reply(reply)

    async def _click(self, click: ButtonClick) -> None:
        assert self.desk is not None
        await self.desk.click(click)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let requests being handled finish (tests wait on this too)."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(BaseException):
                    await task
