"""Canned replies in headless Chromium against a real inbox server: an admin keeps them on the
Settings page, an agent inserts one with "/" and the keyboard, filled in for the visitor.
Screenshots: test-artifacts/inbox-settings-canned.png, inbox-canned-popup.png."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Route, expect

from handoff_plugin.store.queries.notes import NoteQueries
from tests.integration.inbox.conftest import PASSWORD, InboxServer
from tests.integration.inbox.test_inbox_browser import browser as browser  # noqa: F401
from tests.integration.livechat.test_browser import ARTIFACTS

pytestmark = pytest.mark.slow


@pytest.fixture
async def admin_page(
    inbox: InboxServer,
    browser: Browser,  # noqa: F811
) -> AsyncIterator[Page]:
    ARTIFACTS.mkdir(exist_ok=True)
    await inbox.add_agent("ann@example.com", "Ann", "admin")
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    await page.goto(f"{inbox.url}/login")
    await page.fill("#email", "ann@example.com")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#conversation-list")).to_be_visible()
    yield page
    await context.close()


async def add_reply(page: Page, shortcut: str, title: str, text: str, language: str = "en") -> None:
    await page.select_option("#canned-language", language)
    await page.fill("#canned-shortcut", shortcut)
    await page.fill("#canned-title", title)
    await page.fill("#canned-text", text)
    await page.click("#canned-save")
    await expect(page.locator("#settings-status")).to_contain_text(f"Saved /{shortcut}")


async def test_an_admin_saves_canned_replies_and_an_agent_inserts_one_with_the_keyboard(
    inbox: InboxServer, admin_page: Page
) -> None:
    page = admin_page
    chat = await inbox.escalate("zoe", first_name="Zoe", last_name="Day")

    # Settings: a reply with an unknown placeholder is refused next to its text.
    await page.goto(f"{inbox.url}/settings#canned")
    await expect(page.locator("#canned-empty")).to_be_visible()
    await page.fill("#canned-shortcut", "greet")
    await page.fill("#canned-title", "Greeting")
    await page.fill("#canned-text", "Hi {first_name}!")
    await page.click("#canned-save")
    await expect(page.locator('[data-field="text"] .field-error')).to_contain_text(
        "unknown placeholder {first_name}"
    )
    await add_reply(
        page, "greet", "Greeting", "Hi {visitor_first_name}, {agent_name} here. How can I help?"
    )
    await add_reply(page, "refund", "Refund policy", "Refunds take 5 business days.")
    await add_reply(page, "greet", "Begrüßung", "Hallo {visitor_first_name}!", language="de")
    await expect(page.locator("#canned-list tr")).to_have_count(3)
    # Edit one: the form fills in, Save changes it.
    await page.locator('#canned-list tr[data-shortcut="refund"] button', has_text="Edit").click()
    await expect(page.locator("#canned-shortcut")).to_have_value("refund")
    await page.fill("#canned-text", "Refunds take 3 to 5 business days.")
    await page.click("#canned-save")
    await expect(page.locator("#canned-list")).to_contain_text("Refunds take 3 to 5 business days.")
    await page.screenshot(path=str(ARTIFACTS / "inbox-settings-canned.png"), full_page=True)

    # The composer: "/" lists the replies, typing filters, arrows and Enter insert.
    await page.goto(f"{inbox.url}/conversations/{chat.id}")
    composer = page.locator("#composer-text")
    await expect(page.locator("#conversation-title")).to_have_text("Zoe Day")
    await composer.fill("Hello! /")
    await composer.press("End")
    await composer.type("r")
    popup = page.locator("#canned-popup")
    await expect(popup).to_be_visible()
    await expect(popup.locator(".canned-option")).to_have_count(1)  # "refund" (title: "Refund…")
    await composer.press("Backspace")
    await expect(popup.locator(".canned-option")).to_have_count(2)
    await expect(popup.locator(".canned-option").first).to_have_attribute("aria-selected", "true")
    await page.screenshot(path=str(ARTIFACTS / "inbox-canned-popup.png"))
    await composer.press("ArrowDown")
    await expect(popup.locator('[data-shortcut="refund"]')).to_have_attribute(
        "aria-selected", "true"
    )
    await composer.press("ArrowUp")
    await composer.press("Enter")  # inserts; does not send
    await expect(popup).to_be_hidden()
    await expect(composer).to_have_value("Hello! Hi Zoe, Ann here. How can I help?")
    await expect(page.locator("#transcript .message-agent")).to_have_count(0)

    # Tab inserts too; Escape closes the list and leaves the text alone.
    await composer.fill("")
    await composer.type("/ref")
    await expect(popup.locator(".canned-option")).to_have_count(1)
    await composer.press("Tab")
    await expect(composer).to_have_value("Refunds take 3 to 5 business days.")
    await composer.fill("")
    await composer.type("/gr")
    await expect(popup).to_be_visible()
    await composer.press("Escape")
    await expect(popup).to_be_hidden()
    await expect(composer).to_have_value("/gr")

    # Enter now sends what is written: the inserted reply reaches the visitor's transcript.
    await composer.press("Control+a")  # cleared as an agent clears it: the "/" is gone
    await composer.press("Backspace")
    await expect(composer).to_have_value("")
    await composer.type("/greet")
    await expect(popup).to_be_visible()  # the agent sees the list (a new "/" asks the server)
    await expect(popup.locator(".canned-option")).to_have_count(1)
    await composer.press("Enter")
    await expect(composer).to_have_value(re.compile("^Hi Zoe, Ann here"))
    await composer.press("Enter")
    await expect(page.locator("#transcript .message-agent")).to_contain_text(
        "Hi Zoe, Ann here. How can I help?"
    )


async def test_enter_on_a_shortcut_before_its_list_arrives_inserts_the_reply_not_sends_it(
    inbox: InboxServer, admin_page: Page
) -> None:
    page = admin_page
    chat = await inbox.escalate("yan", first_name="Yan", last_name="Lee")
    async with inbox.store.transaction() as tx:
        await NoteQueries(tx).add_canned_reply("en", "thanks", "Thanks", "Thanks {visitor_first_name}!")
    await page.goto(f"{inbox.url}/conversations/{chat.id}")
    await expect(page.locator("#conversation-title")).to_have_text("Yan Lee")
    held: list[Route] = []
    asked = asyncio.Event()

    async def hold(route: Route) -> None:  # the lookup answers only when the test lets it
        held.append(route)
        asked.set()

    await page.route("**/canned-replies", hold)
    composer = page.locator("#composer-text")
    await composer.type("/thanks")
    await asyncio.wait_for(asked.wait(), 30)
    await composer.press("Enter")  # the list is not there yet
    await expect(composer).to_have_value("/thanks")
    for route in held:
        await route.continue_()
    await page.unroute("**/canned-replies")
    await expect(composer).to_have_value("Thanks Yan!")
    await composer.press("Enter")  # now Enter sends the reply
    sent = page.locator("#transcript .message-agent")
    await expect(sent).to_have_count(1)  # "/thanks" itself was never sent
    await expect(sent).to_contain_text("Thanks Yan!")


async def test_agents_see_the_canned_replies_but_cannot_change_them(
    inbox: InboxServer,
    browser: Browser,  # noqa: F811
) -> None:
    async with inbox.store.transaction() as tx:
        await NoteQueries(tx).add_canned_reply("en", "hours", "Opening hours", "We open at 9.")
    await inbox.add_agent("bob@example.com", "Bob", "agent")
    context = await browser.new_context(viewport={"width": 1360, "height": 700})
    page = await context.new_page()
    try:
        await page.goto(f"{inbox.url}/login")
        await page.fill("#email", "bob@example.com")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await expect(page.locator("#conversation-list")).to_be_visible()
        await page.goto(f"{inbox.url}/settings#canned")
        await expect(page.locator("#canned-list tr")).to_have_count(1)
        await expect(page.locator("#canned-list")).to_contain_text("We open at 9.")
        await expect(page.locator("#canned-form")).to_have_count(0)
        await expect(page.locator("#canned-list button")).to_have_count(0)
    finally:
        await context.close()
