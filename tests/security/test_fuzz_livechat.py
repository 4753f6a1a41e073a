"""Hostile socket.io events against the real livechat channel of an in-process Rasa server.

Every bad event gets a `livechat_error` (or, if it happens to be valid, a normal answer), never a
silently dropped connection; other visitors keep being served; stored conversations are intact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.livechat.harness import RunningServer, WebchatVisitor, visitor
from tests.integration.livechat.test_visitor_chat import conversation_of

pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # CI replays the same examples; run with --hypothesis-seed=random to explore
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

hostile_text = st.one_of(
    st.text(max_size=40).filter(lambda t: not t.startswith("/")),  # "/intent" is Rasa's syntax
    st.sampled_from(["\x00", "a\x00b", "<img src=x onerror=alert(1)>", "😀" * 500, "\u202e"]),
    st.integers(1, 100_000).map(lambda n: "x" * n),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
user_uttered = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"message": st.one_of(hostile_text, json_values)},
        optional={
            "customData": json_values,
            "metadata": json_values,
            "session_id": st.one_of(hostile_text, json_values),
        },
    ),
)
session_request = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={"session_id": st.one_of(hostile_text, json_values), "last_seq": json_values},
    ),
)


async def first_answer(tab: WebchatVisitor, timeout: float = 30) -> str:
    """'error' or 'bot', whichever the server sends first."""
    error = asyncio.ensure_future(tab.errors.get())
    bot = asyncio.ensure_future(tab.bot.get())
    done, pending = await asyncio.wait({error, bot}, timeout=timeout, return_when="FIRST_COMPLETED")
    for task in pending:
        task.cancel()
    assert done, "no answer at all: the event was dropped"
    return "error" if error in done else "bot"


@pytest.fixture
async def victim(livechat_server: RunningServer) -> AsyncIterator[dict[str, Any]]:
    """A visitor who chatted before the fuzzing. After all the examples (teardown): their stored
    messages are unchanged and a new visitor still chats with the bot."""
    async with visitor(livechat_server.url) as tab:
        await tab.say("hello")
        await tab.texts_until_quiet()
        conversation = await conversation_of(livechat_server.services.store, tab.sender_id)
    before = await livechat_server.livechat.messages_after(conversation.id, 0)
    yield {"id": conversation.id, "messages": before}
    async with visitor(livechat_server.url) as control:
        await control.say("hello")
        assert await control.texts_until_quiet()
    assert await livechat_server.livechat.messages_after(conversation.id, 0) == before


@pytest.fixture
async def tab(livechat_server: RunningServer) -> AsyncIterator[WebchatVisitor]:
    """One socket for every example (reconnecting each time would dominate the run)."""
    tab = WebchatVisitor(livechat_server.url)
    await tab.connect()
    yield tab
    await tab.disconnect()


async def answer_to_session_request(tab: WebchatVisitor, data: Any) -> str:
    """'session' or 'error', whichever the server sends first."""
    await tab.emit("session_request", data)
    confirmed = asyncio.ensure_future(tab._confirmed.get())
    error = asyncio.ensure_future(tab.errors.get())
    done, pending = await asyncio.wait(
        {confirmed, error}, timeout=10, return_when="FIRST_COMPLETED"
    )
    for task in pending:
        task.cancel()
    assert done, "no answer to session_request"
    if confirmed in done:
        token = confirmed.result()["session_id"]
        assert isinstance(token, str) and "." in token
        tab.session_id = token
        return "session"
    return "error"


async def still_serving(server: RunningServer, tab: WebchatVisitor, victim: dict[str, Any]) -> None:
    assert tab.sio.connected, "the server dropped the connection"
    assert await server.livechat.messages_after(victim["id"], 0) == victim["messages"]


@FUZZ
@given(data=user_uttered)
async def test_hostile_user_uttered_events_get_an_error_or_an_answer(
    livechat_server: RunningServer, victim: dict[str, Any], tab: WebchatVisitor, data: Any
) -> None:
    # A fresh session each time: its own rate-limit budget, so every example reaches the parser.
    assert await answer_to_session_request(tab, {}) == "session"
    for queue in (tab.bot, tab.errors):  # answers to the previous example's session
        while not queue.empty():
            queue.get_nowait()
    await tab.emit("user_uttered", data)
    await first_answer(tab)
    await still_serving(livechat_server, tab, victim)


@FUZZ
@given(data=session_request)
async def test_hostile_session_requests_get_a_session_or_an_error(
    livechat_server: RunningServer, victim: dict[str, Any], tab: WebchatVisitor, data: Any
) -> None:
    await answer_to_session_request(tab, data)
    await still_serving(livechat_server, tab, victim)
