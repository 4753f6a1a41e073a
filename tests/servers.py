"""Real local servers for the notification tests, each on 127.0.0.1 in its own thread.

They run outside the test's event loop, so they answer while a test is blocked, and subprocesses
(an action server, a second process) can reach them too.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, TypeVar

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

# The shared secret tests give every action server they start, and Rasa's action_endpoint.
ACTIONS_TOKEN = "test-actions-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(condition: Any, timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `condition()` on the test's loop (other tasks keep running) until true or timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], what: str, timeout: float = 15, every: float = 0.05
) -> T:
    """`wait_until` for an async check (a database query, a tracker): poll until it returns
    something truthy and return that, or fail saying `what` never happened."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}")
        await asyncio.sleep(every)


# -- HTTP: webhook receivers and a stand-in for Slack's Web API ----------------------------------


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes | str | dict[str, Any] = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (released early when the server resets)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)


class HttpServer:
    """Records every request; answers with the queued `Answer`s, then with `default`."""

    def __init__(self, default: Answer | None = None) -> None:
        self.default = default or Answer()
        self.answers: deque[Answer] = deque()
        self.requests: list[Received] = []
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._release: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def reset(self, default: Answer | None = None) -> None:
        """Forget requests and scripted answers; slow answers in progress end now."""
        self.default = default or Answer()
        self.answers.clear()
        self.requests.clear()
        asyncio.run_coroutine_threadsafe(self._new_release(), self._loop).result(5)

    async def _new_release(self) -> None:
        if self._release is not None:
            self._release.set()
        self._release = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Received(
                request.method,
                request.path,
                {k.lower(): v for k, v in request.headers.items()},
                await request.read(),
                time.monotonic(),
            )
        )
        answer = self.answers.popleft() if self.answers else self.default
        if answer.delay and self._release is not None:
            try:
                await asyncio.wait_for(self._release.wait(), answer.delay)
            except asyncio.TimeoutError:
                pass
        if isinstance(answer.body, dict):
            return web.json_response(answer.body, status=answer.status, headers=answer.headers)
        return web.Response(body=answer.body, status=answer.status, headers=answer.headers)

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._release is not None:
            self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def start(self) -> HttpServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        await wait_until(lambda: len(self.requests) >= count, timeout, f"{count} request(s)")
        return list(self.requests)


SLACK_OK = Answer(200, {"ok": True, "channel": "C0HANDOFF", "ts": "1700000000.000100"})


def slack_error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"ok": False, "error": error}, headers or {})


# -- SMTP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.server.replies:
            return self.server.replies.popleft()
        raw = bytes(envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.server.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on loopback. Queue replies such as "451 4.3.0 Try again later" with `reply()`."""

    def __init__(self, *, logins: dict[str, str] | None = None) -> None:
        """With `logins` (username -> password) it advertises AUTH without TLS, as a badly set-up
        server would, and records who logged in (`logged_in`)."""
        self.mails: list[Mail] = []
        self.replies: deque[str] = deque()
        self.logged_in: list[str] = []
        self.port = free_port()
        auth: dict[str, Any] = {}
        if logins is not None:

            def authenticate(
                _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
            ) -> AuthResult:
                user, password = data.login.decode(), data.password.decode()
                ok = logins.get(user) == password
                if ok:
                    self.logged_in.append(user)
                return AuthResult(success=ok)

            auth = {"authenticator": authenticate, "auth_require_tls": False}
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **auth)

    @property
    def recipients(self) -> list[str]:
        """Every accepted message's envelope recipients, in order of arrival."""
        return [address for mail in self.mails for address in mail.rcpt_tos]

    def reply(self, *replies: str) -> None:
        self.replies.extend(replies)

    def reset(self) -> None:
        self.mails.clear()
        self.replies.clear()
        self.logged_in.clear()

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Mail]:
        await wait_until(lambda: len(self.mails) >= count, timeout, f"{count} email(s)")
        return list(self.mails)


async def serve_sanic(app: Any, port: int) -> Any:
    """Run a Sanic app in this event loop on 127.0.0.1:port, listeners included; returns the
    server (stop it with before_stop(), close(), wait_closed(), after_stop())."""
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.start_serving()
    await server.after_start()
    return server
