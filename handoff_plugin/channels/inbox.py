"""The agent inbox as a Rasa input channel: pages, assets, the JSON API and the live event stream
under `/webhooks/inbox/`.

Register it in `credentials.yml` as `handoff_plugin.channels.inbox.InboxInput:`. Everything it decides lives in
`handoff_plugin.inbox`; this module converts Sanic requests into `handoff_plugin.inbox.http`
requests and the results back, and starts and stops the inbox with the server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic
from sanic.request import Request as SanicRequest
from sanic.response import HTTPResponse

from handoff_plugin.channels.wiring import livechat_service, release
from handoff_plugin.inbox.agents import Passwords
from handoff_plugin.inbox.http import Request, Response, StreamResponse, is_https
from handoff_plugin.inbox.server import InboxRuntime
from handoff_plugin.services import Services, services

log = structlog.get_logger(__name__)

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def to_request(request: SanicRequest, path: str) -> Request:
    return Request(
        method=request.method,
        path=path,
        query={key: request.args.get(key) for key in request.args},
        headers={name.lower(): value for name, value in request.headers.items()},
        cookies=dict(request.cookies),
        body=request.body or b"",
        client=request.remote_addr or request.ip or "",
        secure=is_https(request.scheme, request.headers.get("x-forwarded-proto")),
    )


def to_response(result: Response) -> HTTPResponse:
    response = HTTPResponse(
        result.body, status=result.status, headers=result.headers, content_type=result.content_type
    )
    for cookie in result.cookies:
        response.cookies[cookie.name] = cookie.value
        morsel = response.cookies[cookie.name]
        morsel["path"] = cookie.path
        morsel["httponly"] = True
        morsel["samesite"] = "Lax"
        if cookie.secure:
            morsel["secure"] = True
        if cookie.max_age is not None:
            morsel["max-age"] = cookie.max_age
    return response


async def stream(request: SanicRequest, result: StreamResponse) -> None:
    response = await request.respond(
        headers=result.headers, content_type="text/event-stream; charset=utf-8"
    )
    try:
        async for chunk in result.chunks:
            await response.send(chunk)
            closing = getattr(request.transport, "is_closing", None)
            if closing is not None and closing():  # the browser went away
                break
    finally:
        with contextlib.suppress(Exception):
            await result.chunks.aclose()  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        await response.eof()


class InboxInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "inbox"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Configured through handoff settings (handoff.yml, HANDOFF_*), not credentials.
        return cls()

    def __init__(
        self,
        services: Services | None = None,
        *,
        passwords: Passwords | None = None,
        feed_interval: float = 1.0,
        heartbeat: float | None = None,
        sweep_interval: float | None = None,
    ) -> None:
        self._services = services
        self._options: dict[str, Any] = {
            "passwords": passwords,
            "feed_interval": feed_interval,
        }
        if heartbeat is not None:
            self._options["heartbeat"] = heartbeat
        if sweep_interval is not None:
            self._options["sweep_interval"] = sweep_interval
        self.runtime: InboxRuntime | None = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("handoff_inbox", __name__)
        base_path = f"/webhooks/{self.url_prefix()}"

        @blueprint.listener("before_server_start")
        async def start(app: Sanic, _loop: Any) -> None:
            livechat = await livechat_service(app, self._services)  # first: it owns the services
            shared = self._services or await services()
            self.runtime = await InboxRuntime.start(
                shared.store, shared.settings, livechat, base_path, **self._options
            )

        @blueprint.listener("before_server_stop")
        async def stop(_app: Sanic, _loop: Any) -> None:
            runtime, self.runtime = self.runtime, None
            if runtime is not None:
                await runtime.stop()

        @blueprint.listener("after_server_stop")
        async def close(app: Sanic, _loop: Any) -> None:
            await release(app)

        async def handle(request: SanicRequest, path: str = "") -> HTTPResponse | None:
            if self.runtime is None:
                return HTTPResponse(
                    b'{"error":"the inbox is starting; retry"}',
                    status=503,
                    content_type="application/json",
                )
            result = await self.runtime.api.handle(to_request(request, path))
            if isinstance(result, StreamResponse):
                await stream(request, result)
                return None
            return to_response(result)

        blueprint.add_route(handle, "/", methods=METHODS, name="inbox_root")
        blueprint.add_route(handle, "/<path:path>", methods=METHODS, name="inbox_path")
        return blueprint
