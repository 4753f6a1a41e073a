"""Satisfaction (CSAT) in headless Chromium: the visitor answers "How did we do?" with one of
rasa-webchat's buttons, and an admin sees the averages on the Escalations page and the switch
on the Settings page. Screenshots go to test-artifacts/ (csat-*.png)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.integration.inbox.conftest import AgentClient
from tests.integration.inbox.test_inbox_browser import browser, escalate, log_in
from tests.integration.livechat.harness import RunningServer
from tests.integration.livechat.test_browser import ARTIFACTS, sender_id
from tests.integration.livechat.test_csat import gus

pytestmark = pytest.mark.slow
__all__ = ["browser", "gus"]  # fixtures


@pytest.fixture
async def visitor_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 900, "height": 860})
    yield await context.new_page()
    await context.close()


async def test_the_visitor_answers_with_a_button_and_the_admin_sees_the_average(
    livechat_server: RunningServer, gus: AgentClient, visitor_page: Page, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    base, visitor = livechat_server.url, visitor_page
    await visitor.goto(f"{base}/webhooks/livechat/demo?language=en")
    await visitor.locator("button.rw-launcher").click()
    await escalate(visitor, "csat.browser@example.com", "passed your request to our team")
    status, page = await gus.call("GET", "api/conversations?q=csat.browser@example.com")
    conversation = page["conversations"][0]["id"]
    await gus.call("POST", f"api/conversations/{conversation}/messages", {"text": "Gus here!"})
    await gus.call("POST", f"api/conversations/{conversation}/end")

    replies = visitor.locator(".rw-response")
    await expect(replies.filter(has_text="How did we do?")).to_be_visible(timeout=10_000)
    buttons = visitor.locator(".rw-reply")
    await expect(buttons).to_have_text(["Very poor", "Poor", "Okay", "Good", "Excellent"])
    await visitor.screenshot(path=str(ARTIFACTS / "csat-question.png"))
    await buttons.filter(has_text=re.compile("^Excellent$")).click()
    await expect(replies.filter(has_text="Thank you for your rating!")).to_be_visible(
        timeout=10_000
    )
    kept = await livechat_server.visitor_texts(await sender_id(visitor))
    assert kept[-1] == "Excellent (5/5)"
    await visitor.screenshot(path=str(ARTIFACTS / "csat-thanks.png"))

    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    admin = await context.new_page()
    try:
        await log_in(admin, base, "gus.csat@example.com")
        await admin.goto(f"{base}/webhooks/inbox/escalations")
        card = admin.locator("#review-csat")
        await expect(card).to_contain_text("Satisfaction")
        await expect(card.locator("tr", has_text="Gus")).to_be_visible()
        await admin.screenshot(path=str(ARTIFACTS / "csat-escalations-page.png"), full_page=True)
        await admin.goto(f"{base}/webhooks/inbox/settings")
        switch = admin.locator("#livechat-csat")
        await expect(switch).to_be_checked()
        await switch.scroll_into_view_if_needed()
        await admin.screenshot(path=str(ARTIFACTS / "csat-settings.png"))
    finally:
        await context.close()
