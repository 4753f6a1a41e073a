"""`make demo-scaled` with real processes: nginx in front of two Rasa replicas, one action server,
PostgreSQL and Redis. Everything a visitor or an agent does goes through nginx; then faults."""

from __future__ import annotations

import os
import signal

import aiohttp
import pytest

from tests.integration.inbox.conftest import AgentClient
from tests.integration.inbox.test_api_review_and_events import event_stream, next_state
from tests.integration.livechat.harness import WebchatVisitor
from tests.scaled.conftest import ScaledStack, eventually_ok, listening

pytestmark = pytest.mark.slow


async def test_the_demo_page_loads_through_nginx_under_its_csp(scaled_stack: ScaledStack) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{scaled_stack.url}/webhooks/livechat/demo") as page:
            assert page.status == 200
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
            assert "webchat.js" in await page.text()
        async with http.get(f"{scaled_stack.url}/webhooks/livechat/webchat.js") as script:
            assert script.status == 200
        async with http.get(f"{scaled_stack.url}/status") as api:  # Rasa's API is not exposed
            assert api.status == 404


async def test_a_visitor_escalates_over_socketio_and_the_agent_sees_it_live_through_nginx(
    scaled_stack: ScaledStack, demo_agent: AgentClient
) -> None:
    # event_stream waits for the stream's first event while the response is still open: nginx
    # passes events on as they are written (unbuffered), not when the response ends.
    async with event_stream(demo_agent) as events:
        tab = WebchatVisitor(scaled_stack.url)
        await tab.connect()
        await tab.say("I want to talk to a human")
        assert any("What email address" in t for t in await tab.texts_until_quiet(60))
        await tab.say("vi@example.com")
        assert any("vi@example.com" in t for t in await tab.texts_until_quiet(60))
        escalated = await next_state(events, "escalated")
        await tab.disconnect()

    status, listing = await demo_agent.call("GET", "api/conversations?status=waiting")
    assert status == 200
    assert escalated["conversation_id"] in [c["id"] for c in listing["conversations"]]


async def test_a_stopped_database_fails_requests_clearly_and_service_resumes_by_itself(
    scaled_stack: ScaledStack, demo_agent: AgentClient
) -> None:
    await eventually_ok(demo_agent, "api/conversations")
    scaled_stack.postgres("stop")
    try:
        status, body = await demo_agent.call("GET", "api/conversations")
        assert (status, body) == (503, {"error": "the database is unavailable; retry in a moment"})
    finally:
        scaled_stack.postgres("start")

    await eventually_ok(demo_agent, "api/conversations")
    tab = WebchatVisitor(scaled_stack.url)
    await tab.connect()
    await tab.say("hello")
    assert (await tab.next_bot(60))["text"].startswith("Hi! I'm the assistant")
    await tab.disconnect()
    assert scaled_stack.process.poll() is None  # nothing crashed


async def test_a_visitor_whose_replica_is_killed_gets_what_it_missed_from_the_other(
    scaled_stack: ScaledStack, demo_agent: AgentClient
) -> None:
    tab = WebchatVisitor(scaled_stack.url)
    token = await tab.connect()
    await tab.say("hello")
    await tab.texts_until_quiet(60)
    status, listing = await demo_agent.call("GET", "api/conversations?status=all")
    conversation_id = listing["conversations"][0]["id"]  # the newest activity: this visitor
    status, _ = await demo_agent.call(
        "POST", f"api/conversations/{conversation_id}/messages", {"text": "Hi, Demo here."}
    )
    assert status in (200, 201)
    assert (await tab.texts_until_quiet(30))[-1] == "Hi, Demo here."
    seen = tab.last_seq

    served_by = scaled_stack.replica_of_last("/socket.io/")
    os.kill(scaled_stack.replica_pid(served_by), signal.SIGKILL)
    await tab.disconnect()
    status, _ = await demo_agent.call(
        "POST", f"api/conversations/{conversation_id}/messages", {"text": "Still there?"}
    )
    assert status in (200, 201)

    back = WebchatVisitor(scaled_stack.url)
    assert await back.connect(session_id=token, last_seq=seen) == token
    assert await back.texts_until_quiet(30) == ["Still there?"]
    assert scaled_stack.replica_of_last("/socket.io/") != served_by
    await back.disconnect()


async def test_stopping_the_demo_like_ctrl_c_leaves_no_process_behind(
    scaled_stack: ScaledStack,
) -> None:
    assert scaled_stack.stop() == 0
    assert [port for port in scaled_stack.ports() if listening(port)] == []
    assert processes_mentioning(str(scaled_stack.state)) == []


def processes_mentioning(text: str) -> list[str]:
    """Processes whose command line names `text` (PostgreSQL, nginx and Rasa name their dirs)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if text.encode() in cmdline.read():
                    found.append(pid)
        except OSError:
            continue
    return found
