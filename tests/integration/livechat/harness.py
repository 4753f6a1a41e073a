"""A Rasa server in this process (trained model, livechat + REST + inbox channels, real action
server) and a rasa-webchat-speaking socket.io client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from sanic import Sanic

from channels.inbox import InboxInput
from channels.livechat import LiveChatInput
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.services import Services
from tests.servers import serve_sanic

QUIET = 0.8  # seconds without a message after which "the bot said nothing" is believed


@dataclass
class RunningServer:
    url: str
    app: Sanic
    server: Any
    services: Services

    @property
    def livechat(self) -> LiveChatService:
        service: LiveChatService = self.app.ctx.handoff_livechat
        return service

    async def stop(self) -> None:
        await self.server.before_stop()
        self.server.close()
        await self.server.wait_closed()
        await self.server.after_stop()

    async def restart(self, layers: list[dict[str, Any]]) -> None:
        """Stop this server and start a new one in its place: nothing survives but the
        databases (the plugin's and Rasa's tracker store)."""
        agent, port = self.app.ctx.agent, int(self.url.rsplit(":", 1)[1])
        await self.stop()
        await self.services.close()
        fresh = await start_server(agent, await Services.create(layers), port)
        self.app, self.server, self.services = fresh.app, fresh.server, fresh.services


async def start_server(agent: Any, services: Services, port: int) -> RunningServer:
    """`rasa run` as `rasa.core.run.serve_application` wires it, minus the process."""
    from rasa.core import run
    from rasa.core.channels.rest import RestInput

    Sanic.test_mode = True  # allow a second app of the same name (the "restarted" server)
    channel = LiveChatInput(settings=services.settings.base_settings, services=services)
    inbox = InboxInput(services, feed_interval=0.5)
    app = run.configure_app([channel, RestInput(), inbox], enable_api=True, port=port)
    app.ctx.agent = agent
    server = await serve_sanic(app, port)
    return RunningServer(f"http://127.0.0.1:{port}", app, server, services)


@dataclass
class WebchatVisitor:
    """One browser tab's socket, speaking rasa-webchat's protocol (polling transport)."""

    url: str
    custom_data: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    bot: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    errors: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    last_seq: int = 0

    def __post_init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self._confirmed: asyncio.Queue[Any] = asyncio.Queue()
        self.sio.on("session_confirm", self._on_confirm)
        self.sio.on("bot_uttered", self._on_bot)
        self.sio.on("livechat_error", self._on_error)

    async def _on_confirm(self, data: Any) -> None:
        await self._confirmed.put(data)

    async def _on_bot(self, data: dict[str, Any]) -> None:
        self.last_seq = max(self.last_seq, data.get("metadata", {}).get("seq", 0))
        await self.bot.put(data)

    async def _on_error(self, data: dict[str, Any]) -> None:
        await self.errors.put(data)

    @property
    def sender_id(self) -> str:
        assert self.session_id
        return self.session_id.split(".")[0]

    async def connect(self, session_id: str | None = None, **extra: Any) -> str:
        await self.sio.connect(self.url, transports=["polling"], socketio_path="/socket.io")
        await self.sio.emit("session_request", {"session_id": session_id, **extra})
        confirmed = await asyncio.wait_for(self._confirmed.get(), 10)
        self.session_id = confirmed["session_id"]
        return str(self.session_id)

    async def disconnect(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.sio.disconnect(), 3)
        await asyncio.sleep(0.1)  # let the server notice

    async def say(self, text: Any, **extra: Any) -> None:
        data = {"message": text, "customData": self.custom_data, "session_id": self.session_id}
        await self.sio.emit("user_uttered", {**data, **extra})

    async def emit(self, event: str, data: Any) -> None:
        await self.sio.emit(event, data)

    async def next_bot(self, timeout: float = 20) -> dict[str, Any]:
        return await asyncio.wait_for(self.bot.get(), timeout)

    async def texts_until_quiet(self, first_timeout: float = 20, quiet: float = QUIET) -> list[str]:
        """The bot's texts in answer to a message: wait for the first, then until quiet."""
        texts = [(await self.next_bot(first_timeout)).get("text", "")]
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                texts.append((await self.next_bot(quiet)).get("text", ""))
        return texts

    async def nothing_for(self, seconds: float = QUIET) -> list[dict[str, Any]]:
        """What arrived within `seconds` (expected: nothing)."""
        await asyncio.sleep(seconds)
        got = []
        while not self.bot.empty():
            got.append(self.bot.get_nowait())
        return got

    async def next_error(self, timeout: float = 10) -> dict[str, Any]:
        return await asyncio.wait_for(self.errors.get(), timeout)


@contextlib.asynccontextmanager
async def visitor(url: str, **custom_data: Any) -> AsyncIterator[WebchatVisitor]:
    tab = WebchatVisitor(url, dict(custom_data))
    await tab.connect()
    try:
        yield tab
    finally:
        await tab.disconnect()


async def rest_say(url: str, sender: str, text: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        ) as resp:
            assert resp.status == 200, await resp.text()
            result: list[dict[str, Any]] = await resp.json()
            return result
