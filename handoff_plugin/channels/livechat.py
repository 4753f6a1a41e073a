"""The visitor live-chat channel: rasa-webchat's socket.io protocol on top of the live-chat service.

Register it in `credentials.yml` as `handoff_plugin.channels.livechat.LiveChatInput:`. It serves socket.io at
`livechat.socket_path` (default `/socket.io`), a health check at `/webhooks/livechat/`, and a demo
page with the rasa-webchat widget at `/webhooks/livechat/demo`. Everything it decides is in
`handoff_plugin` (sessions, protocol checks, delivery, live chat); this module only adapts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from handoff_plugin.channels.wiring import livechat_service, release
from handoff_plugin.config.settings import Settings, load_settings
from handoff_plugin.livechat.broker import Subscription
from handoff_plugin.livechat.connections import VisitorConnections
from handoff_plugin.livechat.csat import Satisfaction
from handoff_plugin.livechat.limits import Limits, LocalLimits, VisitorLimits, client_address
from handoff_plugin.livechat.redis_limits import RedisVisitorLimits
from handoff_plugin.livechat.service import CHANNEL, LiveChatService
from handoff_plugin.livechat.typing import USER_TYPING, VisitorTypingGate, publish_visitor_typing
from handoff_plugin.livechat.widget import (
    ERROR_EVENT,
    SESSION_CONFIRM,
    SESSION_REQUEST,
    USER_UTTERED,
    ProtocolError,
    parse_user_uttered,
)
from handoff_plugin.models import short_id
from handoff_plugin.services import Services

log = structlog.get_logger(__name__)

DEMO_PAGE = Path(__file__).resolve().parent.parent / "web" / "livechat_demo.html"
ADAPTER_SCRIPT = DEMO_PAGE.parent / "livechat_handoff.js"  # for websites too (README)
DEMO_ASSETS = {  # served next to the page: /webhooks/livechat/<name>
    "demo.js": (DEMO_PAGE.with_suffix(".js"), "application/javascript"),
    "demo.css": (DEMO_PAGE.with_suffix(".css"), "text/css"),
    "handoff-webchat.js": (ADAPTER_SCRIPT, "application/javascript"),
}
# Like the inbox's: no inline script, nothing from elsewhere. rasa-webchat's bundle injects its
# CSS as <style> elements (style-loader, no nonce support), so styles need 'unsafe-inline'; CSS
# cannot run script, and its Google Fonts @import stays blocked (system fonts are used). Its
# icons and icon font are data: URIs; agents' pictures (avatar_url) may be anywhere; socket.io polls and upgrades to a websocket on this origin.
DEMO_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https: http:; connect-src 'self'; font-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
DEMO_HEADERS = {
    "Content-Security-Policy": DEMO_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_pages = Environment(
    loader=FileSystemLoader(str(DEMO_PAGE.parent)),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    auto_reload=False,
)
MAX_HTTP_BUFFER = 256 * 1024  # one socket.io request; messages are far smaller (max_message_length)


class LiveChatOutput(OutputChannel):
    """Bot messages of a live-chat turn: recorded (numbered), then delivered to every socket of
    the visitor's session by `VisitorConnections`."""

    records_messages = True  # the pause guard must not record them a second time

    def __init__(self, service: LiveChatService) -> None:
        self._service = service

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self._service.record_bot_message(recipient_id, message, CHANNEL)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


def render_demo_page(chatbot_name: str, socket_path: str, script_url: str = "webchat.js") -> str:
    """The demo page. Values are escaped for where they land: HTML text, or JSON (`tojson`,
    which also escapes `<`, `>`, `&` and `'`) in the page's data block, which its script
    (`demo.js`, a file: the CSP allows no inline script) reads."""
    return _pages.get_template(DEMO_PAGE.name).render(
        chatbot_name=chatbot_name,
        config={"socketPath": socket_path, "title": chatbot_name},
        script_url=script_url,
        demo_script_url="demo.js",
        adapter_script_url="handoff-webchat.js",
        css_url="demo.css",
    )


def _origin_policy(configured: tuple[str, ...]) -> Any:
    """The page's own origin always; others only as configured (`*` only if asked for)."""
    if "*" in configured:
        return "*"

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin == own or origin in configured

    return allowed


def socket_manager(redis_url: str) -> AsyncRedisManager | None:
    """With `redis.url`, socket.io's own emits, rooms and disconnects reach the sockets of every
    replica (`sio.emit(..., to=sid)` from any process); without it, one process's sockets."""
    return AsyncRedisManager(redis_url, channel="handoff:socketio") if redis_url else None


class _SocketBlueprint(Blueprint):
    def __init__(self, sio: AsyncServer, socket_path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.socket_path = socket_path

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.sio.attach(app, self.ctx.socket_path)
        super().register(app, options)


class _Runtime:
    """What exists once the server runs: the service, this process's sockets, the limits."""

    def __init__(
        self, service: LiveChatService, connections: VisitorConnections, settings: Settings
    ):
        self.service = service
        self.connections = connections
        self.limits: Limits = (
            RedisVisitorLimits(settings.livechat, settings.redis.url)
            if settings.redis.url
            else LocalLimits(VisitorLimits(settings.livechat))
        )
        self.proxy_header = settings.livechat.trusted_proxy_header
        self.max_length = settings.livechat.max_message_length
        self.subscription: Subscription | None = None
        self.delivery: asyncio.Task[None] | None = None
        self.typing = VisitorTypingGate()
        self.satisfaction = Satisfaction(service)


class LiveChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Configured through handoff settings (handoff.yml, HANDOFF_LIVECHAT_*), not credentials.
        return cls()

    def __init__(self, settings: Settings | None = None, services: Services | None = None) -> None:
        self._settings = settings
        self._services = services
        self._runtime: _Runtime | None = None

    def get_output_channel(self) -> OutputChannel | None:
        """For bot messages Rasa sends outside a visitor's turn (reminders, `/trigger_intent`,
        `/execute`): recorded and delivered like any other."""
        return LiveChatOutput(self._runtime.service) if self._runtime else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = self._settings or load_settings()
        livechat = settings.livechat
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=_origin_policy(livechat.cors_allowed_origins),
            max_http_buffer_size=MAX_HTTP_BUFFER,
            client_manager=socket_manager(settings.redis.url),
        )
        blueprint = _SocketBlueprint(sio, livechat.socket_path, "handoff_livechat", __name__)

        async def emit(event: str, data: Any, to: str) -> None:
            # `to` is always a socket of this process (VisitorConnections holds only those, and
            # every replica's broker delivers to its own): sent directly, so it needs no Redis
            # round trip and still arrives while Redis is down.
            await sio.emit(event, data, to=to, ignore_queue=True)

        async def refuse(sid: str, error: ProtocolError, key: str | None = None) -> None:
            log.info("handoff.livechat.refused", code=error.code, session=short_id(key))
            await emit(ERROR_EVENT, error.as_event(), sid)

        @blueprint.listener("before_server_start")
        async def start(app: Sanic, _loop: Any) -> None:
            service = await livechat_service(app, self._services)
            current = await service.settings.current()
            runtime = _Runtime(service, VisitorConnections(service, emit), current)
            runtime.subscription = service.broker.subscribe()
            runtime.delivery = asyncio.create_task(runtime.connections.run(runtime.subscription))
            self._runtime = runtime

        @blueprint.listener("before_server_stop")
        async def stop(_app: Sanic, _loop: Any) -> None:
            runtime, self._runtime = self._runtime, None
            if runtime is None:
                return
            if runtime.subscription is not None:
                await runtime.subscription.close()
            if runtime.delivery is not None:
                runtime.delivery.cancel()
            await runtime.connections.save_cursors()
            await runtime.limits.close()

        @blueprint.listener("after_server_stop")
        async def close(app: Sanic, _loop: Any) -> None:
            await release(app)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/demo", methods=["GET"])
        async def demo(_: Request) -> HTTPResponse:
            current = await self._runtime.service.settings.current() if self._runtime else settings
            page = render_demo_page(current.chatbot.name, livechat.socket_path)
            return response.html(page, headers=DEMO_HEADERS)

        def demo_asset(name: str) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
            path, mime_type = DEMO_ASSETS[name]

            async def serve(_: Request) -> HTTPResponse:
                return await response.file(
                    str(path),
                    mime_type=f"{mime_type}; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
                )

            return serve

        for name in DEMO_ASSETS:
            blueprint.add_route(
                demo_asset(name),
                f"/{name}",
                methods=["GET"],
                name="demo_" + name.rsplit(".", 1)[-1] if name.startswith("demo.") else "adapter",
            )

        @blueprint.route("/webchat.js", methods=["GET"])
        async def webchat_script(_: Request) -> HTTPResponse:
            script = Path(livechat.webchat_script)
            if not await asyncio.to_thread(script.is_file):
                return response.text(
                    f"rasa-webchat is not installed at {script}: run `make webchat`", status=404
                )
            return await response.file(
                str(script),
                mime_type="application/javascript",
                headers={"Cache-Control": "public, max-age=3600"},
            )

        @sio.on("connect")
        async def connect(sid: str, environ: dict[str, Any], _auth: Any = None) -> bool:
            runtime = self._runtime
            if runtime is None:
                return True  # session_request answers `not_ready`
            request = environ.get("sanic.request")
            header = runtime.proxy_header
            values = request.headers.getall(header, []) if request is not None and header else []
            peer = request.ip if request is not None else None
            refused = await runtime.limits.socket_opened(sid, client_address(peer, values, header))
            if refused is not None:
                # The socket never opens, so the answer is socket.io's connect_error; its
                # `data` is what a livechat_error would carry.
                log.info("handoff.livechat.refused", code=refused.code)
                raise SocketRefused(refused.message, refused.as_event())
            return True

        @sio.on("disconnect")
        async def disconnect(sid: str, _reason: Any = None) -> None:
            runtime = self._runtime  # once: the server may stop while this awaits
            if runtime is not None:
                await runtime.limits.socket_closed(sid)
                conversation_id = runtime.connections.conversation_of(sid)
                key = runtime.connections.session_of(sid)
                await runtime.connections.detach(sid)
                if runtime.typing.forget(sid) and conversation_id and key:  # clear "typing…"
                    await publish_visitor_typing(runtime.service, conversation_id, key, False)

        @sio.on(SESSION_REQUEST)
        async def session_request(sid: str, data: Any = None) -> None:
            runtime = self._runtime
            if runtime is None:
                await refuse(sid, ProtocolError("not_ready", "the server is starting; retry"))
                return
            data = data if isinstance(data, dict) else {}
            opened = await runtime.service.open_session(data.get("session_id"))
            if opened.is_new:  # a session costs nothing to mint: limited per address
                too_many = await runtime.limits.session_minted(sid)
                if too_many is not None:
                    await refuse(sid, too_many)
                    return
            last_seq = data.get("last_seq")
            if opened.is_new or not isinstance(last_seq, int) or isinstance(last_seq, bool):
                last_seq = None
            await emit(SESSION_CONFIRM, {"session_id": opened.token}, sid)
            await runtime.connections.attach(sid, opened.session, last_seq)

        @sio.on(USER_TYPING)
        async def user_typing(sid: str, data: Any = None) -> None:
            """The adapter script's `{"typing": true|false}`: shown to the agent as "typing…".
            Silently dropped when nobody could be watching (no session, no message yet)."""
            runtime = self._runtime
            if runtime is None or not isinstance(data, dict):
                return
            typing = data.get("typing")
            key = runtime.connections.session_of(sid)
            conversation_id = runtime.connections.conversation_of(sid)
            if not isinstance(typing, bool) or key is None or conversation_id is None:
                return
            if runtime.typing.passes(sid, typing):
                await publish_visitor_typing(runtime.service, conversation_id, key, typing)

        @sio.on(USER_UTTERED)
        async def user_uttered(sid: str, data: Any = None) -> None:
            runtime = self._runtime
            key = runtime.connections.session_of(sid) if runtime else None
            if runtime is None or key is None:
                await refuse(sid, ProtocolError("no_session", "send session_request first"))
                return
            throttled = await runtime.limits.message(sid, key)
            if throttled is not None:
                await refuse(sid, throttled, key)
                return
            parsed = parse_user_uttered(data, runtime.max_length)
            if isinstance(parsed, ProtocolError):
                await refuse(sid, parsed, key)
                return
            runtime.typing.forget(sid)  # the message ends the typing (the inbox clears it)
            if not runtime.connections.is_stored(key):  # the visitor's first message
                runtime.connections.stored(await runtime.service.ensure_session(key))
            message = UserMessage(
                parsed.text,
                LiveChatOutput(runtime.service),
                key,
                input_channel=CHANNEL,
                metadata=parsed.metadata,
            )
            try:
                # A rating or its comment (livechat/csat.py) is never the bot's to read.
                if not await runtime.satisfaction.answer(key, parsed.text, parsed.metadata):
                    await on_new_message(message)
            except Exception:  # the visitor must learn that this message was not handled
                log.exception("handoff.livechat.turn_failed", session=short_id(key))
                failed = ProtocolError(
                    "internal_error", "Sorry, that message could not be handled."
                )
                await refuse(sid, failed, key)

        return blueprint
