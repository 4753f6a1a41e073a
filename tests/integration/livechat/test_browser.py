"""The real rasa-webchat widget in headless Chromium, on the demo page the channel serves."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from handoff_plugin.models import AgentRef
from tests.conftest import ROOT
from tests.integration.livechat.harness import QUIET, RunningServer
from tests.integration.livechat.test_visitor_chat import conversation_of

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ANN = AgentRef("agent-ann", "Ann")


def require_chromium() -> str:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make services` (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium() -> str:
    return require_chromium()


@pytest.fixture
async def page(chromium: str) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 900})
        yield page
        await browser.close()


def csp_violations(page: Page) -> list[str]:
    """What the page's Content-Security-Policy refused, as Chromium reports it on the console."""
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return refused


async def send(page: Page, text: str) -> None:
    await page.locator("textarea.rw-new-message").fill(text)
    await page.locator("textarea.rw-new-message").press("Enter")


async def replies_within(page: Page, shown: int, seconds: float = QUIET) -> int:
    """How many replies the widget shows beyond `shown` within `seconds` (expected: none; returns
    at the first). Call it once the visitor's message is known to be handled."""
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function(
            "n => document.querySelectorAll('.rw-response').length > n",
            arg=shown,
            timeout=seconds * 1000,
        )
    return await page.locator(".rw-response").count() - shown


async def sender_id(page: Page) -> str:
    stored: Any = json.loads(await page.evaluate("localStorage.getItem('chat_session')"))
    return str(stored["session_id"]).split(".")[0]


async def test_a_visitor_chats_in_the_widget_escalates_and_meets_an_agent(
    livechat_server: RunningServer, page: Page
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    websockets: list[str] = []
    page.on("websocket", lambda ws: websockets.append(ws.url))
    refused = csp_violations(page)
    response = await page.goto(f"{livechat_server.url}/webhooks/livechat/demo")
    assert response is not None and response.ok
    assert "script-src 'self';" in response.headers["content-security-policy"]
    await page.locator("button.rw-launcher").click()  # shown once the session is confirmed
    replies = page.locator(".rw-response")

    await send(page, "hello")
    await expect(replies.filter(has_text="Hi! I'm the assistant")).to_be_visible(timeout=20_000)

    await send(page, "I want to talk to a human")
    await expect(replies.filter(has_text="What email address")).to_be_visible(timeout=20_000)
    await send(page, "ann@example.com")
    await expect(replies.filter(has_text="passed your request to our team")).to_be_visible(
        timeout=20_000
    )

    assert any("/socket.io/" in url for url in websockets)  # the widget upgraded from polling
    # Under the page's strict CSP: the widget's own code, styles, icons and socket all allowed;
    # only its Google Fonts @import is refused (by design: nothing from elsewhere).
    assert [r for r in refused if "fonts.googleapis.com" not in r] == []
    conversation = await conversation_of(livechat_server.services.store, await sender_id(page))
    assert conversation.state == "escalated"
    await livechat_server.livechat.send_agent_message(
        conversation.id, ANN, "Hi, I'm Ann from support. How can I help?"
    )
    await expect(replies.filter(has_text="Ann from our team has joined the chat.")).to_be_visible()
    await expect(replies.filter(has_text="Hi, I'm Ann from support.")).to_be_visible()

    shown = await replies.count()
    await send(page, "My parcel never arrived")
    await livechat_server.handled(await sender_id(page), "My parcel never arrived")
    assert await replies_within(page, shown) == 0  # the bot stays silent during live chat
    await page.screenshot(path=str(ARTIFACTS / "livechat-agent-message.png"))

    await livechat_server.livechat.end_live_chat(conversation.id, ANN)
    await expect(replies.filter(has_text="You're back with Test Bot.")).to_be_visible()
    await send(page, "what are your opening hours?")
    await expect(replies.filter(has_text="Monday to Friday")).to_be_visible(timeout=20_000)
    await page.screenshot(path=str(ARTIFACTS / "livechat-back-to-bot.png"))
