"""Typing both ways and who is talking, in headless Chromium: a visitor in rasa-webchat with the
adapter script (handoff-webchat.js) and an agent in the inbox; and rasa-webchat without the
script, which still shows everything it did before.

Screenshots go to test-artifacts/ (typing-*.png)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from playwright.async_api import Browser, Page, expect

from handoff_plugin.inbox.agents import AgentService
from tests.integration.inbox.conftest import AgentClient
from tests.integration.inbox.test_inbox_browser import browser, escalate, log_in
from tests.integration.livechat.harness import RunningServer
from tests.integration.livechat.test_browser import ARTIFACTS, send

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # the fixture

EVE_EMAIL = "eve.typing@example.com"
PASSWORD = "inbox browser test password"


@dataclass
class People:
    agent: Page
    visitor: Page
    errors: list[str]  # uncaught errors on either page


@pytest.fixture
async def people(browser: Browser, livechat_server: RunningServer) -> AsyncIterator[People]:
    """Agent Eve (with a picture) in the inbox, a visitor in another browser context."""
    ARTIFACTS.mkdir(exist_ok=True)
    agents = AgentService(livechat_server.services.store)
    eve = next((a for a in await agents.all() if a.email == EVE_EMAIL), None)
    if eve is None:
        eve = await agents.add(EVE_EMAIL, "Eve", PASSWORD, "agent")
    avatar = f"{livechat_server.url}/webhooks/inbox/static/favicon.svg"  # served on loopback
    await agents.set_avatar(eve, {"avatar_url": avatar})
    agent_context = await browser.new_context(viewport={"width": 1360, "height": 860})
    visitor_context = await browser.new_context(viewport={"width": 900, "height": 860})
    errors: list[str] = []
    agent, visitor = await agent_context.new_page(), await visitor_context.new_page()
    for page in (agent, visitor):
        page.on("pageerror", lambda error: errors.append(str(error)))
    yield People(agent, visitor, errors)
    for context in (agent_context, visitor_context):
        await context.close()
    client = AgentClient(f"{livechat_server.url}/webhooks/inbox")  # others' tests: nobody on
    await client.login(EVE_EMAIL, PASSWORD)
    await client.call("PUT", "api/presence", {"status": "offline"})
    await client.close()


async def open_conversation(agent: Page, email: str) -> None:
    await agent.click(".tabs [data-status=all]")
    item = agent.locator(".conversation-item", has_text=email)
    await expect(item).to_be_visible(timeout=15_000)
    await item.click()
    await expect(agent).to_have_url(re.compile(r"/webhooks/inbox/conversations/\d+$"))


async def test_typing_shows_both_ways_and_the_visitor_sees_who_answers(
    livechat_server: RunningServer, people: People
) -> None:
    base, agent, visitor = livechat_server.url, people.agent, people.visitor
    await log_in(agent, base, EVE_EMAIL)
    await visitor.goto(f"{base}/webhooks/livechat/demo?language=en")
    await visitor.locator("button.rw-launcher").click()
    await escalate(visitor, "yara.typing@example.com", "passed your request to our team")
    await open_conversation(agent, "yara.typing@example.com")

    # Eve types: the visitor sees "Eve is typing…".
    await agent.click("#composer-text")
    await agent.keyboard.type("Hi Yara, Eve here", delay=20)
    indicator = visitor.locator(".hw-typing")
    await expect(indicator).to_have_text("Eve is typing…", timeout=10_000)
    await visitor.screenshot(path=str(ARTIFACTS / "typing-visitor-sees-agent.png"))

    # Eve sends: the indicator goes, the message shows her name and picture.
    await agent.keyboard.press("Enter")
    replies = visitor.locator(".rw-response")
    await expect(replies.filter(has_text="Hi Yara, Eve here")).to_be_visible(timeout=10_000)
    await expect(indicator).to_be_hidden()
    label = visitor.locator(".rw-message.hw-by-agent .hw-agent")
    await expect(label).to_have_count(1)
    await expect(label).to_have_text("Eve")
    await expect(label.locator("img")).to_have_attribute("src", re.compile(r"favicon\.svg$"))
    await expect(replies.filter(has_text="Eve from our team has joined the chat.")).to_be_visible()

    # The visitor types: Eve sees "typing…"; their message clears it.
    await visitor.locator("textarea.rw-new-message").click()
    await visitor.keyboard.type("My order is late", delay=20)
    typing = agent.locator("#visitor-typing")
    await expect(typing).to_have_text("The visitor is typing…", timeout=10_000)
    await agent.screenshot(path=str(ARTIFACTS / "typing-agent-sees-visitor.png"))
    await visitor.keyboard.press("Enter")
    await expect(
        agent.locator("#transcript .message-visitor", has_text="My order is late")
    ).to_be_visible(timeout=10_000)
    await expect(typing).to_be_hidden()
    await visitor.screenshot(path=str(ARTIFACTS / "typing-visitor-agent-name.png"))

    # Eve stops typing without sending: the visitor's indicator goes (on blur).
    await agent.click("#composer-text")
    await agent.keyboard.type("Let me check", delay=20)
    await expect(indicator).to_be_visible(timeout=10_000)
    await agent.click("#conversation-title")
    await expect(indicator).to_be_hidden(timeout=10_000)

    # A reload keeps who said what (the widget reopens itself: it remembers it was open).
    await visitor.reload()
    await expect(replies.filter(has_text="Hi Yara, Eve here")).to_be_visible(timeout=10_000)
    await expect(visitor.locator(".hw-agent")).to_have_text("Eve")
    assert people.errors == []


async def test_rasa_webchat_without_the_adapter_still_shows_the_agent(
    livechat_server: RunningServer, people: People
) -> None:
    base, agent, visitor = livechat_server.url, people.agent, people.visitor
    adapter_requests: list[str] = []

    async def no_adapter(route: object) -> None:  # a website that never added the script
        adapter_requests.append("handoff-webchat.js")
        await route.abort()  # type: ignore[attr-defined]

    await visitor.route(re.compile(r".*/handoff-webchat\.js$"), no_adapter)
    await log_in(agent, base, EVE_EMAIL)
    await visitor.goto(f"{base}/webhooks/livechat/demo?language=en")
    assert await visitor.evaluate("typeof window.HandoffWebchat") == "undefined"
    await visitor.locator("button.rw-launcher").click()
    await escalate(visitor, "zack.plain@example.com", "passed your request to our team")
    await open_conversation(agent, "zack.plain@example.com")

    # The server sends agent_typing and names the agent in metadata; the widget ignores both.
    await agent.click("#composer-text")
    await agent.keyboard.type("Hello Zack, Eve here", delay=20)
    await agent.keyboard.press("Enter")
    replies = visitor.locator(".rw-response")
    await expect(replies.filter(has_text="Eve from our team has joined the chat.")).to_be_visible(
        timeout=10_000
    )
    await expect(replies.filter(has_text="Hello Zack, Eve here")).to_be_visible()
    await send(visitor, "Thanks, where is my parcel?")
    await expect(
        agent.locator("#transcript .message-visitor", has_text="where is my parcel")
    ).to_be_visible(timeout=10_000)
    assert await visitor.locator(".hw-typing, .hw-agent").count() == 0
    assert adapter_requests == ["handoff-webchat.js"]
    assert people.errors == []
    await visitor.screenshot(path=str(ARTIFACTS / "typing-plain-webchat.png"))
