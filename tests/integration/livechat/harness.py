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
from rasa.shared.core.events import UserUttered
from sanic import Sanic

from channels.inbox import InboxInput
from channels.livechat import LiveChatInput
from channels.slack import SlackInput
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.models import Author, ConversationState
from handoff_plugin.services import Services
from handoff_plugin.store.queries.conversations import ConversationQueries
from tests.servers import eventually, serve_sanic

# Seconds without a bot message, counted once the visitor's message was handled, after which
# "the bot said nothing" is believed: a reply would be on the socket already.
QUIET = 0.8


@dataclass
class RunningServer:
    url: str
    app: Sanic
    server: Any
    services: Services
    channel: LiveChatInput
    inbox: InboxInput | None = None
    slack: SlackInput | None = None

    @property
    def livechat(self) -> LiveChatService:
        service: LiveChatService = self.app.ctx.handoff_livechat
        return service

    async def visitor_texts(self, sender_id: str) -> list[str | None]:
        """What the visitor wrote, as the transcript keeps it (every channel, oldest first)."""
        async with self.services.store.transaction() as tx:
            conversation = await ConversationQueries(tx).conversation_by_sender(sender_id)
        if conversation is None:
            return []
        messages = await self.livechat.messages_after(conversation.id, 0)
        return [m.text for m in messages if m.author is Author.VISITOR]

    async def tracker_user_texts(self, sender_id: str) -> list[str | None]:
        tracker = await self.app.ctx.agent.tracker_store.retrieve(sender_id)
        return (
            []
            if tracker is None
            else [e.text for e in tracker.events if isinstance(e, UserUttered)]
        )

    async def handled(self, sender_id: str, *said: str, timeout: float = 15) -> None:
        """Wait until the visitor's latest messages `said` are kept in the transcript and, unless
        an agent has the chat (its lines reach the tracker when it ends), logged in Rasa's
        tracker: they arrived and their turn is over, so a bot reply (if any) is already on its
        way. Tests of silence call this first, or they would also pass on a dropped message."""
        expected = list(said)

        async def arrived() -> bool:
            kept = await self.visitor_texts(sender_id)
            if kept[-len(expected) :] != expected:
                return False
            if await self.livechat.state_of(sender_id) is ConversationState.LIVE:
                return True  # kept and handed to the agents: nothing more happens in the turn
            logged = await self.tracker_user_texts(sender_id)
            return logged[-len(expected) :] == expected

        await eventually(arrived, f"the visitor's {expected} were kept and logged", timeout)

    async def noticed_gone(self, tab: WebchatVisitor) -> None:
        """Wait until the server has let go of `tab`'s socket (it delivers nothing more to it)."""

        async def gone() -> bool:
            runtime = self.channel._runtime
            return runtime is None or runtime.connections.session_of(tab.server_sid) is None

        await eventually(gone, "the server noticed the tab disconnect")

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
        self.channel, self.inbox, self.slack = fresh.channel, fresh.inbox, fresh.slack


async def start_server(agent: Any, services: Services, port: int) -> RunningServer:
    """`rasa run` as `rasa.core.run.serve_application` wires it, minus the process."""
    from rasa.core import run
    from rasa.core.channels.rest import RestInput

    Sanic.test_mode = True  # allow a second app of the same name (the "restarted" server)
    channel = LiveChatInput(settings=services.settings.base_settings, services=services)
    # No background sweep: tests that need one call `TeamDesk.tick()`. Between tests this
    # session-wide server's event loop does not run, and a sweep frozen inside a write
    # transaction would hold the SQLite lock other processes (replicas starting) wait for.
    inbox = InboxInput(services, feed_interval=0.5, sweep_interval=24 * 3600)
    slack = SlackInput(services)  # refuses everything unless a test sets slack.signing_secret
    app = run.configure_app([channel, RestInput(), inbox, slack], enable_api=True, port=port)
    app.ctx.agent = agent
    server = await serve_sanic(app, port)
    return RunningServer(f"http://127.0.0.1:{port}", app, server, services, channel, inbox, slack)


@dataclass
class WebchatVisitor:
    """One browser tab's socket, speaking rasa-webchat's protocol (polling transport)."""

    url: str
    custom_data: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    bot: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    errors: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    last_seq: int = 0
    server_sid: str = ""  # this socket's id on the server (kept after it disconnects)
    # Sent with the handshake: X-Forwarded-For makes a tab another visitor's behind a trusted proxy.
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self._confirmed: asyncio.Queue[Any] = asyncio.Queue()
        self.sio.on("session_confirm", self._on_confirm)
        self.sio.on("bot_uttered", self._on_bot)
        self.sio.on("livechat_error", self._on_error)
        self.agent_typing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sio.on("agent_typing", self.agent_typing.put)

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
        await self.sio.connect(
            self.url, headers=self.headers, transports=["polling"], socketio_path="/socket.io"
        )
        self.server_sid = str(self.sio.get_sid())
        await self.sio.emit("session_request", {"session_id": session_id, **extra})
        return await self.next_confirm()

    async def next_confirm(self, timeout: float = 10) -> str:
        """The session the server confirmed after a further `session_request`."""
        self.session_id = (await asyncio.wait_for(self._confirmed.get(), timeout))["session_id"]
        return str(self.session_id)

    async def disconnect(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.sio.disconnect(), 3)

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

    async def bot_messages_within(self, seconds: float = QUIET) -> list[dict[str, Any]]:
        """What the bot sends within `seconds` (expected: nothing; returns at the first message).
        Only meaningful once the message it would answer is known to be handled (`handled`)."""
        got = []
        with contextlib.suppress(asyncio.TimeoutError):
            got.append(await self.next_bot(seconds))
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
