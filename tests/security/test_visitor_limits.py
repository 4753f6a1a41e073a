"""Attacks on the running visitor channel with many sockets, sessions and messages from one
address. Every test client is 127.0.0.1, so other addresses come from the trusted proxy
header, exactly as behind a reverse proxy; without that setting the header is ignored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from tests.integration.conftest import ActionServer, server_layers
from tests.integration.livechat.harness import RunningServer, WebchatVisitor

pytestmark = pytest.mark.slow

PROXY = "X-Forwarded-For"


@contextlib.asynccontextmanager
async def configured(
    server: RunningServer, action_server: ActionServer, **livechat: Any
) -> AsyncIterator[RunningServer]:
    """The server restarted with these `livechat.*` settings, then as before."""
    await server.restart([*server_layers(action_server), {"livechat": livechat}])
    try:
        yield server
    finally:
        await server.restart(server_layers(action_server))


class Socket:
    """One socket.io connection, from the address a proxy would put in `forwarded_for`."""

    def __init__(self, url: str, forwarded_for: str | None = None) -> None:
        self.tab = WebchatVisitor(url)
        self.url = url
        self.headers = {PROXY: forwarded_for} if forwarded_for else {}
        self._refusals: asyncio.Queue[Any] = asyncio.Queue()
        self.tab.sio.on("connect_error", self._refusals.put_nowait)

    async def open(self) -> dict[str, Any] | None:
        """None if the socket opened, else the server's refusal (connect_error's `data`)."""
        try:
            await self.tab.sio.connect(
                self.url, transports=["polling"], socketio_path="/socket.io", headers=self.headers
            )
        except socketio.exceptions.ConnectionError:
            refusal: dict[str, Any] = (await asyncio.wait_for(self._refusals.get(), 10))["data"]
            return refusal
        return None

    async def new_session(self) -> str | dict[str, Any]:
        """The session id the server confirms, or its `livechat_error`."""
        await self.tab.emit("session_request", {"session_id": None})
        confirmed = asyncio.ensure_future(self.tab._confirmed.get())
        refused = asyncio.ensure_future(self.tab.errors.get())
        done, pending = await asyncio.wait(
            {confirmed, refused}, timeout=10, return_when="FIRST_COMPLETED"
        )
        for task in pending:
            task.cancel()
        assert done, "neither session_confirm nor livechat_error arrived"
        result = done.pop().result()
        if isinstance(result, dict) and "session_id" in result:
            self.tab.session_id = result["session_id"]
            return str(result["session_id"])
        return dict(result)

    async def close(self) -> None:
        if self.tab.sio.connected:
            await self.tab.disconnect()


@pytest.fixture(scope="module")
async def behind_proxy(
    livechat_server: RunningServer, action_server: ActionServer
) -> AsyncIterator[RunningServer]:
    async with configured(
        livechat_server,
        action_server,
        trusted_proxy_header=PROXY,
        sockets_per_address=2,
        sessions_per_address_per_minute=2,
        rate_limit_per_address_burst=3,
        rate_limit_per_address_per_minute=1,
    ) as server:
        yield server


async def test_one_address_opens_only_so_many_sockets_and_sessions_others_still_can(
    behind_proxy: RunningServer,
) -> None:
    url = behind_proxy.url
    # The client may send any X-Forwarded-For; the proxy appends the address it saw (right-most).
    first, second = Socket(url, "198.51.100.1, 203.0.113.7"), Socket(url, "203.0.113.7")
    third, elsewhere = Socket(url, "203.0.113.7"), Socket(url, "198.51.100.1, 203.0.113.8")
    try:
        assert await first.open() is None
        assert await second.open() is None
        refusal = await third.open()
        assert refusal is not None and refusal["code"] == "too_many_sockets"

        assert isinstance(await first.new_session(), str)
        assert isinstance(await second.new_session(), str)
        refused = await first.new_session()
        assert isinstance(refused, dict) and refused["code"] == "too_many_sessions"
        assert refused["retry_after"] > 0

        assert await elsewhere.open() is None  # another address is not affected
        assert isinstance(await elsewhere.new_session(), str)
    finally:
        for socket in (first, second, third, elsewhere):
            await socket.close()


async def test_sessions_of_one_address_share_its_message_limit(
    behind_proxy: RunningServer,
) -> None:
    url = behind_proxy.url
    one, two, other = (
        Socket(url, "203.0.113.20"),
        Socket(url, "203.0.113.20"),
        Socket(url, "203.0.113.21"),
    )
    try:
        for socket in (one, two, other):
            assert await socket.open() is None
            assert isinstance(await socket.new_session(), str)
        await one.tab.say("hello")
        await one.tab.say("hello")
        await two.tab.say("hello")  # the address's third message in a burst of 3
        await two.tab.say("hello")
        error = await two.tab.next_error()
        assert error["code"] == "rate_limited" and error["retry_after"] > 0
        assert one.tab.errors.empty()

        await other.tab.say("what are your opening hours?")
        assert any("Monday to Friday" in t for t in await other.tab.texts_until_quiet(30))
        assert other.tab.errors.empty()
    finally:
        for socket in (one, two, other):
            await socket.close()


async def test_without_the_setting_the_forwarded_header_is_ignored(
    livechat_server: RunningServer, action_server: ActionServer
) -> None:
    async with configured(
        livechat_server, action_server, sockets_per_address=2, sessions_per_address_per_minute=1
    ) as server:
        sockets = [Socket(server.url, f"203.0.113.{n}") for n in (1, 2, 3)]
        try:
            assert await sockets[0].open() is None
            assert await sockets[1].open() is None
            refusal = await sockets[2].open()  # all three are 127.0.0.1
            assert refusal is not None and refusal["code"] == "too_many_sockets"

            assert isinstance(await sockets[0].new_session(), str)
            refused = await sockets[1].new_session()
            assert isinstance(refused, dict) and refused["code"] == "too_many_sessions"
        finally:
            for socket in sockets:
                await socket.close()
