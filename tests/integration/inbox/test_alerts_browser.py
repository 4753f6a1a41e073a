"""Desktop alerts in headless Chromium against a real inbox server. The page's `Notification` is
a recording stand-in (added before any script runs), and so is whether the page is visible and
focused: the test puts the tab in the background and sees what the agent would be shown.
Screenshot: test-artifacts/inbox-alerts-prompt.png."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.integration.inbox.conftest import PASSWORD, InboxServer
from tests.integration.inbox.test_inbox_browser import browser as browser  # noqa: F401
from tests.integration.livechat.test_browser import ARTIFACTS
from tests.servers import eventually

pytestmark = pytest.mark.slow

STAND_INS = """
(() => {
  window.__alerts = { shown: [], asked: 0 };
  class RecordingNotification {
    constructor(title, options) {
      window.__alerts.shown.push({ title: title, body: (options || {}).body, tag: (options || {}).tag });
    }
    close() {}
  }
  RecordingNotification.permission = localStorage.getItem("test.permission") || "default";
  RecordingNotification.requestPermission = () => {
    window.__alerts.asked += 1;
    RecordingNotification.permission = "granted";
    localStorage.setItem("test.permission", "granted");
    return Promise.resolve("granted");
  };
  window.Notification = RecordingNotification;
  // The tab in the background: window.__background = true.
  Object.defineProperty(document, "visibilityState", {
    get: () => (window.__background ? "hidden" : "visible"),
  });
  Object.defineProperty(document, "hidden", { get: () => !!window.__background });
  document.hasFocus = () => !window.__background;
})();
"""


@pytest.fixture
async def agent_page(
    inbox: InboxServer,
    browser: Browser,  # noqa: F811
) -> AsyncIterator[Page]:
    ARTIFACTS.mkdir(exist_ok=True)
    await inbox.add_agent("ann@example.com", "Ann", "agent")
    context = await browser.new_context(
        viewport={"width": 1360, "height": 860}, permissions=["notifications"]
    )
    await context.add_init_script(STAND_INS)
    page = await context.new_page()
    await page.goto(f"{inbox.url}/login")
    await page.fill("#email", "ann@example.com")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#conversation-list")).to_be_visible()
    yield page
    await context.close()


async def shown(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await page.evaluate("window.__alerts.shown")
    return result


async def test_permission_is_asked_once_and_background_alerts_count_in_the_title(
    inbox: InboxServer, agent_page: Page
) -> None:
    page = agent_page

    # The bar asks; nothing was requested on page load.
    bar = page.locator("#alerts-bar")
    await expect(bar).to_be_visible()
    await expect(page.locator("#alerts-sound-label")).to_be_hidden()
    assert await page.evaluate("window.__alerts.asked") == 0
    await page.screenshot(path=str(ARTIFACTS / "inbox-alerts-prompt.png"))
    await page.click("#alerts-enable")
    await expect(bar).to_be_hidden()
    await expect(page.locator("#alerts-sound-label")).to_be_visible()
    await expect(page.locator("#alerts-sound")).not_to_be_checked()  # sound is off by default
    assert await page.evaluate("window.__alerts.asked") == 1
    await page.reload()
    await expect(page.locator("#conversation-list")).to_be_visible()
    await expect(page.locator("#alerts-sound-label")).to_be_visible()
    await expect(bar).to_be_hidden()  # remembered
    await page.screenshot(path=str(ARTIFACTS / "inbox-alerts-on.png"))
    await page.wait_for_function("window.InboxPage.source().readyState === EventSource.OPEN")

    # While the agent looks, an escalation shows in the list and alerts nobody.
    first = await inbox.escalate("una", "hello?")
    await expect(page.locator(f'.conversation-item[data-id="{first.id}"]')).to_be_visible()
    assert await shown(page) == []
    await expect(page).not_to_have_title(re.compile(r"Inbox"))

    # In the background: a new escalation alerts, and the title counts it.
    await page.evaluate("window.__background = true")
    second = await inbox.escalate("vic", "I need a person")

    async def alerted() -> bool:
        return len(await shown(page)) == 1

    await eventually(alerted, "a desktop notification for the escalation")
    assert (await shown(page))[0] == {
        "title": "A visitor needs an agent",
        "body": f"New escalation in conversation #{second.id}.",
        "tag": f"handoff-{second.id}",
    }
    await expect(page).to_have_title("(1) Inbox · Test Bot")

    # A visitor message in a conversation assigned to me alerts too; one in another does not.
    status = await page.evaluate(
        f"Inbox.api('POST', 'conversations/{second.id}/claim').then(() => 200, e => e.status)"
    )
    assert status == 200
    await page.wait_for_function(
        f"window.InboxPage && fetch('{inbox.url}/api/conversations?status=mine')"
        f".then(r => r.json()).then(d => d.conversations.length === 1)"
    )
    await inbox.livechat.record_visitor_message("una", "anyone there?", None, "rest")
    await inbox.livechat.record_visitor_message("vic", "My order is late", None, "rest")

    async def both() -> bool:
        return len(await shown(page)) == 2

    await eventually(both, "a desktop notification for my visitor's message")
    assert (await shown(page))[1]["body"] == "My order is late"
    assert (await shown(page))[1]["title"] == "New message from your visitor"
    await expect(page).to_have_title("(2) Inbox · Test Bot")

    # The agent comes back: the count goes.
    await page.evaluate(
        "window.__background = false; document.dispatchEvent(new Event('visibilitychange'))"
    )
    await expect(page).to_have_title(re.compile(r"^\(\d\) Conversations · Test Bot$"))
    assert len(await shown(page)) == 2


async def test_not_now_is_remembered_and_asks_nothing(agent_page: Page) -> None:
    page = agent_page
    await page.click("#alerts-dismiss")
    await expect(page.locator("#alerts-bar")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#conversation-list")).to_be_visible()
    await expect(page.locator("#alerts-bar")).to_be_hidden()
    assert await page.evaluate("window.__alerts.asked") == 0
    assert await page.evaluate("Notification.permission") == "default"
