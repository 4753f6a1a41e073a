"""The livechat channel against misbehaving, reconnecting, multi-tab and concurrent visitors."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from handoff_plugin.models import AgentRef
from tests.integration.livechat.harness import RunningServer, WebchatVisitor, visitor
from tests.integration.livechat.test_visitor_chat import conversation_of, go_live, transcript

pytestmark = pytest.mark.slow

ANN = AgentRef("agent-ann", "Ann")


async def test_a_forged_session_id_gets_a_fresh_session_never_someone_elses(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as victim:
        await victim.say("hello")
        await victim.texts_until_quiet()
        assert victim.session_id is not None
        key, _, signature = victim.session_id.partition(".")

        for forged in (key, f"{key}.{'A' * 43}", f"{key}.{signature[:-1]}x", "../etc", 12):
            attacker = WebchatVisitor(livechat_server.url)
            token = await attacker.connect(session_id=forged)  # type: ignore[arg-type]
            try:
                assert token.split(".")[0] != key
                await livechat_server.livechat.send_agent_message(
                    (await conversation_of(livechat_server.services.store, key)).id,
                    ANN,
                    f"private note for the victim ({forged!r:.10})",
                )
                assert await victim.next_bot()  # the victim gets it ...
                assert await attacker.bot_messages_within(0.3) == []  # ... the attacker does not
            finally:
                await attacker.disconnect()
        while not victim.bot.empty():
            victim.bot.get_nowait()


async def test_a_reloaded_page_keeps_its_session_and_conversation(
    livechat_server: RunningServer,
) -> None:
    first = WebchatVisitor(livechat_server.url)
    token = await first.connect()
    await first.say("hello")
    await first.texts_until_quiet()
    await first.disconnect()

    reloaded = WebchatVisitor(livechat_server.url)
    assert await reloaded.connect(session_id=token) == token
    await reloaded.say("I want to talk to a human")
    assert any("What email address" in t for t in await reloaded.texts_until_quiet())
    await reloaded.disconnect()


async def test_malformed_events_get_an_error_and_break_nothing(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as tab:
        bad: list[object] = [
            {"text": "no message key"},
            {"message": 42},
            {"message": ""},
            {"message": "x" * 2001},
            {"message": "hi", "customData": "not json"},
            "a bare string",
            None,
        ]
        codes = []
        for data in bad:
            await tab.emit("user_uttered", data)
            codes.append((await tab.next_error())["code"])
        assert codes == [
            "invalid_message",
            "invalid_message",
            "empty_message",
            "message_too_long",
            "invalid_metadata",
            "invalid_event",
            "invalid_event",
        ]
        await tab.emit("session_request", "garbage")  # a new session, not a crash
        await tab.next_confirm()
        await tab.say("hello")
        assert (await tab.next_bot())["text"].startswith("Hi! I'm the assistant")

    stranger = WebchatVisitor(livechat_server.url)
    await stranger.sio.connect(livechat_server.url, transports=["polling"])
    await stranger.say("hello")  # without session_request
    assert (await stranger.next_error())["code"] == "no_session"
    await stranger.disconnect()


async def test_a_flooding_visitor_is_throttled_and_others_are_not(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as flooder, visitor(livechat_server.url) as calm:
        for n in range(25):
            await flooder.say(f"spam {n}")
            # Paces the sender (engine.io takes at most 16 packets per polling request); not a wait.
            await asyncio.sleep(0.02)
        # Generous: under a loaded machine the bot is still busy with the spam it let through.
        error = await flooder.next_error(timeout=45)
        assert error["code"] == "rate_limited"
        assert error["retry_after"] > 0
        assert "too quickly" in error["message"]

        await calm.say("what are your opening hours?")
        assert any("Monday to Friday" in t for t in await calm.texts_until_quiet(first_timeout=60))
        assert calm.errors.empty()


async def test_a_reconnecting_visitor_gets_what_it_missed_once(
    livechat_server: RunningServer,
) -> None:
    tab = WebchatVisitor(livechat_server.url)
    token = await tab.connect()
    await tab.say("hello")
    await tab.texts_until_quiet()
    conversation_id = await go_live(livechat_server, tab)
    seen = tab.last_seq
    await tab.disconnect()
    await livechat_server.noticed_gone(tab)  # what follows is sent while the visitor is away

    for text in ("Are you there?", "I found your order.", "It ships today."):
        await livechat_server.livechat.send_agent_message(conversation_id, ANN, text)

    back = WebchatVisitor(livechat_server.url)
    await back.connect(session_id=token, last_seq=seen)
    assert await back.texts_until_quiet() == [
        "Are you there?",
        "I found your order.",
        "It ships today.",
    ]
    await livechat_server.livechat.send_agent_message(conversation_id, ANN, "Anything else?")
    assert await back.texts_until_quiet() == ["Anything else?"]
    await back.disconnect()
    await livechat_server.noticed_gone(back)

    # The widget does not say what it has seen: the server remembers what it delivered.
    await livechat_server.livechat.send_agent_message(conversation_id, ANN, "Bye for now.")
    widget = WebchatVisitor(livechat_server.url)
    await widget.connect(session_id=token)
    assert await widget.texts_until_quiet() == ["Bye for now."]
    await widget.disconnect()


async def test_every_tab_of_a_visitor_receives_every_message(
    livechat_server: RunningServer,
) -> None:
    tab1 = WebchatVisitor(livechat_server.url)
    token = await tab1.connect()
    tab2 = WebchatVisitor(livechat_server.url)
    assert await tab2.connect(session_id=token) == token
    try:
        await tab1.say("hello")
        greeting = (await tab1.next_bot())["text"]
        assert (await tab2.next_bot())["text"] == greeting

        conversation = await conversation_of(livechat_server.services.store, tab1.sender_id)
        await livechat_server.livechat.send_agent_message(conversation.id, ANN, "Hi both tabs")
        for tab in (tab1, tab2):
            assert await tab.texts_until_quiet() == [
                "Ann from our team has joined the chat.",
                "Hi both tabs",
            ]
        await tab2.say("typed in the second tab")
        await livechat_server.handled(tab1.sender_id, "typed in the second tab")
        kept = await transcript(livechat_server.services.store, conversation.id)
        assert kept[-1] == ("visitor", "typed in the second tab")
    finally:
        await tab1.disconnect()
        await tab2.disconnect()


async def test_two_visitors_at_once_each_get_only_their_own_answers(
    livechat_server: RunningServer,
) -> None:
    async with visitor(livechat_server.url) as ann, visitor(livechat_server.url) as bob:
        await asyncio.gather(
            ann.say("what are your opening hours?"), bob.say("how much does it cost?")
        )
        ann_texts, bob_texts = await asyncio.gather(
            ann.texts_until_quiet(), bob.texts_until_quiet()
        )
        assert any("Monday to Friday" in t for t in ann_texts)
        assert not any("Monday to Friday" in t for t in bob_texts)
        assert any("19 EUR" in t for t in bob_texts)
        assert not any("19 EUR" in t for t in ann_texts)

        await go_live(livechat_server, ann, "Only for Ann")
        assert await bob.bot_messages_within(0.3) == []
        await bob.say("hello")
        assert (await bob.next_bot())["text"].startswith("Hi! I'm the assistant")


async def test_only_the_servers_own_origin_may_connect_unless_configured(
    livechat_server: RunningServer,
) -> None:
    handshake = f"{livechat_server.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(handshake, headers={"Origin": "https://evil.example"}) as refused:
            assert refused.status == 400
        async with http.get(handshake, headers={"Origin": livechat_server.url}) as own:
            assert own.status == 200
            assert own.headers["Access-Control-Allow-Origin"] == livechat_server.url
        async with http.get(f"{livechat_server.url}/webhooks/livechat/") as health:
            assert await health.json() == {"status": "ok"}
