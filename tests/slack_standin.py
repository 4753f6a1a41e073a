"""Slack on loopback: a stand-in for its Web API that keeps channels and threads, and a client
that sends signed Events API and Block Kit requests to a running server, as Slack does.

`SlackStandin` is an `HttpServer` (tests/servers.py): scripted `answer()`s still come first, so
the notification tests keep working; otherwise it answers like Slack: chat.postMessage returns a
fresh `ts` (in a thread with `thread_ts`), chat.update and chat.postEphemeral are recorded,
users.info answers from `emails` (Slack user id -> email).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp
from aiohttp import web

from tests.servers import Answer, HttpServer, Received

CHANNEL_ID = "C0HANDOFF"  # what "#support" is called in answers


@dataclass
class Posted:
    """A message in the stand-in's channel: its first version and what chat.update made of it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)  # each update's body

    @property
    def state_line(self) -> str | None:
        """The state the first message shows now (its newest "handoff_state" block)."""
        return state_shown(self.updates[-1]["blocks"] if self.updates else (self.blocks or []))

    def buttons(self) -> list[str]:
        shown = self.updates[-1]["blocks"] if self.updates else (self.blocks or [])
        return [
            element.get("action_id", "")
            for block in shown
            if block.get("type") == "actions"
            for element in block["elements"]
        ]


def state_shown(blocks: Any) -> str | None:
    """The "Live with Ann" line of a thread's first message, as drawn by `blocks`."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    for block in blocks or []:
        if block.get("block_id") == "handoff_state":
            return str(block["elements"][0]["text"])
    return None


class SlackStandin(HttpServer):
    def __init__(self, default: Answer | None = None) -> None:
        super().__init__(default)
        self.emails: dict[str, str] = {}
        self.messages: list[Posted] = []
        self.ephemerals: list[dict[str, Any]] = []
        self._ts = itertools.count(1)

    def thread(self, ts: str) -> list[Posted]:
        """The replies in the thread that starts at `ts`, oldest first."""
        return [m for m in self.messages if m.thread_ts == ts]

    def message(self, ts: str) -> Posted | None:
        return next((m for m in self.messages if m.ts == ts and m.thread_ts is None), None)

    def notification_about(self, needle: str) -> Posted | None:
        """The (first) escalation message whose text mentions `needle`."""
        return next(
            (m for m in self.messages if m.thread_ts is None and needle in json.dumps(m.blocks)),
            None,
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.answers:  # scripted: as the plain HttpServer
            return await super()._handle(request)
        raw = await request.read()
        self.requests.append(
            Received(
                request.method,
                request.path,
                {k.lower(): v for k, v in request.headers.items()},
                raw,
                time.monotonic(),
            )
        )
        args = _arguments(request, raw)
        method = request.path.rsplit("/", 1)[-1]
        channel = (
            CHANNEL_ID if str(args.get("channel", "")).startswith("#") else args.get("channel")
        )
        if method == "chat.postMessage":
            ts = f"{1_700_000_000 + next(self._ts)}.000100"
            blocks = args.get("blocks")
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            self.messages.append(
                Posted(str(channel), ts, str(args.get("text", "")), blocks, args.get("thread_ts"))
            )
            return web.json_response({"ok": True, "channel": channel, "ts": ts})
        if method == "chat.update":
            posted = self.message(str(args.get("ts")))
            if posted is None:
                return web.json_response({"ok": False, "error": "message_not_found"})
            posted.updates.append(args)
            return web.json_response({"ok": True, "channel": channel, "ts": posted.ts})
        if method == "chat.postEphemeral":
            self.ephemerals.append(args)
            return web.json_response({"ok": True, "message_ts": f"{time.time():.6f}"})
        if method == "users.info":
            user = str(args.get("user"))
            if user not in self.emails:
                return web.json_response({"ok": False, "error": "user_not_found"})
            profile = {"email": self.emails[user], "real_name": user}
            return web.json_response({"ok": True, "user": {"id": user, "profile": profile}})
        return web.json_response({"ok": False, "error": "unknown_method"})


def _arguments(request: web.Request, raw: bytes) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if raw and request.content_type == "application/json":
        args.update(json.loads(raw))
    elif raw:
        args.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
    return args


# -- Slack calling the server ------------------------------------------------------------------


def signed_headers(
    secret: str, body: bytes, *, timestamp: int | None = None, content_type: str
) -> dict[str, str]:
    """The headers Slack sends: `v0=` HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


def thread_reply(
    user: str, channel: str, thread_ts: str, text: str, **event: Any
) -> dict[str, Any]:
    """An Events API `message` event: `user` wrote `text` in the thread at `thread_ts`."""
    return {
        "token": "unused",
        "team_id": "T0HANDOFF",
        "api_app_id": "A0HANDOFF",
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
            "channel_type": "channel",
            **event,
        },
    }


def button_click(user: str, channel: str, message_ts: str, action_id: str, value: str) -> bytes:
    """A Block Kit `block_actions` request body (form-encoded `payload`), as Slack posts it."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user},
        "api_app_id": "A0HANDOFF",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:8]}",
        "channel": {"id": channel},
        "message": {"ts": message_ts},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "handoff_actions",
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass
class SlackClient:
    """Sends what Slack sends to the server at `url` (its /webhooks/slack/ paths), signed with
    `secret` unless told otherwise."""

    url: str
    secret: str

    async def post(
        self,
        path: str,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> tuple[int, str]:
        sent = (
            signed_headers(
                secret or self.secret, body, timestamp=timestamp, content_type=content_type
            )
            if signed
            else {"Content-Type": content_type}
        )
        sent.update(headers or {})
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            async with http.post(f"{self.url}/webhooks/slack/{path}", data=body, headers=sent) as r:
                return r.status, await r.text()

    async def event(self, envelope: dict[str, Any], **options: Any) -> tuple[int, str]:
        return await self.post(
            "events", json.dumps(envelope).encode(), "application/json", **options
        )

    async def click(
        self, user: str, channel: str, message_ts: str, action_id: str, value: str, **options: Any
    ) -> tuple[int, str]:
        body = button_click(user, channel, message_ts, action_id, value)
        return await self.post("interactions", body, "application/x-www-form-urlencoded", **options)
