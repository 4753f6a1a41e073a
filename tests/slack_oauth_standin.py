"""A stand-in for Slack's side of "Connect to Slack", on 127.0.0.1 in its own thread (a browser
follows its redirects, subprocesses can call it): the authorize page, `oauth.v2.access`, and the
Web API methods the channel picker and `handoff check` use (`auth.test`, `conversations.list`,
`conversations.join`).

Like Slack: the authorize page sends the browser straight back to `redirect_uri` with a one-time
`code` and the `state` (or `error=access_denied` when `deny` is set, as when the user clicks
Cancel); the exchange checks the app's credentials (HTTP Basic), the code and the redirect URI;
the bot token it issues is the only one its Web API accepts.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.servers import free_port

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "0123456789abcdef0123456789abcdef"
TEAM = {"id": "T0HANDOFF", "name": "Handoff Test Workspace"}
BOT_USER = "handoff-bot"
DEFAULT_CHANNELS = (
    {"id": "C0GENERAL1", "name": "general", "is_member": False},
    {"id": "C0SUPPORT1", "name": "support", "is_member": False},
    {"id": "C0RANDOM01", "name": "random", "is_member": True},
)
_ids = itertools.count(1)


@dataclass
class Call:
    method: str  # the Slack method ("auth.test") or page ("authorize")
    params: dict[str, str]
    authorization: str


@dataclass
class SlackOAuthStandIn:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    deny: bool = False  # the next authorize visits answer error=access_denied
    scopes_granted: str | None = None  # None: the scopes asked for
    channels: list[dict[str, Any]] = field(
        default_factory=lambda: [dict(c) for c in DEFAULT_CHANNELS]
    )
    calls: list[Call] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)  # code -> redirect_uri (unused ones)
    scopes_asked: dict[str, str] = field(default_factory=dict)  # code -> scope
    tokens: list[str] = field(default_factory=list)  # bot tokens issued
    joined: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- Slack's pages and methods ---

    async def _params(self, request: web.Request) -> dict[str, str]:
        params = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                body = await request.json()
                params.update({k: str(v) for k, v in (body or {}).items()})
            else:
                params.update({k: str(v) for k, v in (await request.post()).items()})
        return params

    async def _authorize(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        self.calls.append(Call("authorize", params, ""))
        redirect = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or not redirect:
            return web.Response(status=400, text="invalid_client_id or redirect_uri missing")
        back: dict[str, str] = {"state": params.get("state", "")}
        if self.deny:
            back["error"] = "access_denied"
        else:
            code = f"code-{next(_ids)}-{secrets.token_hex(8)}"
            self.codes[code] = redirect
            self.scopes_asked[code] = params.get("scope", "")
            back["code"] = code
        raise web.HTTPFound(f"{redirect}?{urlencode(back)}")

    def _basic(self, authorization: str) -> tuple[str, str]:
        if not authorization.startswith("Basic "):
            return "", ""
        user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        return user, password

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        authorization = request.headers.get("Authorization", "")
        self.calls.append(Call(method, params, authorization))
        if method == "oauth.v2.access":
            return self._exchange(params, authorization)
        token = authorization.removeprefix("Bearer ").strip() or params.get("token", "")
        if not token:
            return _error("not_authed")
        if token not in self.tokens:
            return _error("invalid_auth")
        scopes = {"x-oauth-scopes": self.scopes_granted or _all_scopes(self.scopes_asked)}
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://handoff-test.slack.com/",
                    "team": TEAM["name"],
                    "user": BOT_USER,
                    "team_id": TEAM["id"],
                    "user_id": "U0HANDOFFBOT",
                    "bot_id": "B0HANDOFF",
                },
                headers=scopes,
            )
        if method == "conversations.list":
            return web.json_response(
                {"ok": True, "channels": self.channels, "response_metadata": {"next_cursor": ""}},
                headers=scopes,
            )
        if method == "conversations.join":
            found = [c for c in self.channels if c["id"] == params.get("channel")]
            if not found:
                return _error("channel_not_found")
            found[0]["is_member"] = True
            self.joined.append(found[0]["id"])
            return web.json_response({"ok": True, "channel": found[0]}, headers=scopes)
        return _error("unknown_method")

    def _exchange(self, params: dict[str, str], authorization: str) -> web.Response:
        client_id, client_secret = self._basic(authorization)
        client_id = client_id or params.get("client_id", "")
        client_secret = client_secret or params.get("client_secret", "")
        if client_id != self.client_id:
            return _error("invalid_client_id")
        if client_secret != self.client_secret:
            return _error("bad_client_secret")
        code = params.get("code", "")
        if code not in self.codes:
            return _error("invalid_code")
        if self.codes.pop(code) != params.get("redirect_uri"):
            return _error("bad_redirect_uri")
        token = f"xoxb-standin-{secrets.token_hex(12)}"
        self.tokens.append(token)
        return web.json_response(
            {
                "ok": True,
                "access_token": token,
                "token_type": "bot",
                "scope": self.scopes_granted or self.scopes_asked.get(code, ""),
                "bot_user_id": "U0HANDOFFBOT",
                "app_id": "A0HANDOFF",
                "team": TEAM,
                "enterprise": None,
                "authed_user": {"id": "U0ADMIN"},
            }
        )

    # --- running ---

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/oauth/v2/authorize", self._authorize)
        app.router.add_route("*", "/api/{method}", self._api)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> SlackOAuthStandIn:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _error(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})


def _all_scopes(asked: dict[str, str]) -> str:
    return ",".join(sorted({s for scopes in asked.values() for s in scopes.split(",") if s}))
