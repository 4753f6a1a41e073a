"""An agent sets the picture visitors see next to their messages from the inbox itself ("Your
profile", the name in the top bar), in headless Chromium against a real inbox server.
Screenshot: test-artifacts/inbox-profile.png."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from handoff_plugin.store.queries.agents import AgentQueries
from tests.integration.inbox.conftest import InboxServer
from tests.integration.inbox.test_canned_browser import admin_page as admin_page  # noqa: F401
from tests.integration.inbox.test_inbox_browser import browser as browser  # noqa: F401
from tests.integration.livechat.test_browser import ARTIFACTS

pytestmark = pytest.mark.slow


async def avatar_of(inbox: InboxServer, email: str) -> str | None:
    async with inbox.store.read() as tx:
        agent = await AgentQueries(tx).by_email(email)
        assert agent is not None
        return agent.avatar_url


async def test_an_agent_sets_and_removes_their_picture_from_the_top_bar(
    inbox: InboxServer,
    admin_page: Page,  # noqa: F811
) -> None:
    page = admin_page
    dialog = page.locator("#profile")
    await page.click("#profile-open")
    await expect(dialog).to_be_visible()
    await page.fill("#profile-avatar", "javascript:alert(1)")
    await page.click("#profile-save")
    await expect(page.locator("#profile-error")).to_contain_text("avatar_url")
    assert await avatar_of(inbox, "ann@example.com") is None  # refused, nothing saved

    await page.fill("#profile-avatar", "https://example.com/ann.png")
    await page.screenshot(path=str(ARTIFACTS / "inbox-profile.png"))
    await page.click("#profile-save")
    await expect(dialog).to_be_hidden()
    assert await avatar_of(inbox, "ann@example.com") == "https://example.com/ann.png"

    await page.reload()
    await page.click("#profile-open")
    await expect(page.locator("#profile-avatar")).to_have_value("https://example.com/ann.png")
    await page.fill("#profile-avatar", "")
    await page.click("#profile-save")
    await expect(dialog).to_be_hidden()
    assert await avatar_of(inbox, "ann@example.com") is None
