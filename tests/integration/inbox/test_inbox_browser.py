"""The inbox in headless Chromium, next to a visitor in the rasa-webchat widget: the trained bot,
the real action server, the livechat and inbox channels of one Rasa server in this process.

Screenshots go to test-artifacts/ (inbox-*.png)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.store import Store
from handoff_plugin.store.queries.settings import SettingsQueries
from handoff_plugin.store.saved_settings import StoredSettings
from tests.integration.livechat.harness import RunningServer
from tests.integration.livechat.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    replies_within,
    require_chromium,
    send,
    sender_id,
)

pytestmark = pytest.mark.slow

AGENT_EMAIL = "ann.inbox@example.com"
COLLEAGUE_EMAIL = "bob.inbox@example.com"
AGENT_PASSWORD = "inbox browser test password"
XSS = "<img src=x onerror=alert(1)>"


@dataclass
class Pages:
    agent: Page
    visitor: Page
    dialogs: list[str]
    colleague: Page  # a second agent, in a browser of their own


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def pages(browser: Browser, livechat_server: RunningServer) -> AsyncIterator[Pages]:
    """An agent's browser and a visitor's, separate contexts (cookies, storage) as two people."""
    ARTIFACTS.mkdir(exist_ok=True)
    agents = AgentService(livechat_server.services.store)
    known = {a.email for a in await agents.all()}
    for email, name, role in ((AGENT_EMAIL, "Ann", "admin"), (COLLEAGUE_EMAIL, "Bob", "agent")):
        if email not in known:
            await agents.add(email, name, AGENT_PASSWORD, role)
    dialogs: list[str] = []
    agent_context = await browser.new_context(viewport={"width": 1360, "height": 860})
    visitor_context = await browser.new_context(viewport={"width": 900, "height": 860})
    colleague_context = await browser.new_context(viewport={"width": 1360, "height": 860})
    agent = await agent_context.new_page()
    visitor = await visitor_context.new_page()
    colleague = await colleague_context.new_page()
    for page in (agent, visitor, colleague):

        async def dismiss(dialog: Any) -> None:
            dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", dismiss)
    yield Pages(agent, visitor, dialogs, colleague)
    for context in (agent_context, visitor_context, colleague_context):
        await context.close()


@pytest.fixture
async def clean_settings(livechat_server: RunningServer) -> AsyncIterator[None]:
    """Whatever the test saves from the Settings page is forgotten afterwards."""
    yield
    async with livechat_server.services.store.transaction() as tx:
        await SettingsQueries(tx).save_settings({})


async def log_in(page: Page, base: str, email: str = AGENT_EMAIL) -> None:
    await page.goto(f"{base}/webhooks/inbox/")
    await expect(page).to_have_url(re.compile(r"/webhooks/inbox/login\?next="))
    await page.fill("#email", email)
    await page.fill("#password", AGENT_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#conversation-list")).to_be_visible()
    await expect(page).to_have_url(f"{base}/webhooks/inbox/")


async def open_widget(page: Page, base: str) -> None:
    await page.goto(f"{base}/webhooks/livechat/demo")
    await page.locator("button.rw-launcher").click()


async def escalate(visitor: Page, email: str, expected_reply: str) -> None:
    replies = visitor.locator(".rw-response")
    await send(visitor, "I want to talk to a human")
    await expect(replies.filter(has_text="What email address").last).to_be_visible(timeout=20_000)
    await send(visitor, email)
    await expect(replies.filter(has_text=expected_reply)).to_be_visible(timeout=20_000)


async def waiting_count(store: Store) -> int:
    import sqlalchemy as sa

    from handoff_plugin.store.tables import conversations

    async with store.transaction() as tx:
        query = sa.select(sa.func.count()).where(conversations.c.state == "escalated")
        return int((await tx.conn.execute(query)).scalar_one())


async def test_an_agent_answers_an_escalated_visitor_live_and_hands_back_to_the_bot(
    livechat_server: RunningServer, pages: Pages
) -> None:
    base = livechat_server.url
    agent, visitor = pages.agent, pages.visitor
    await log_in(agent, base)
    await log_in(pages.colleague, base, COLLEAGUE_EMAIL)
    await pages.colleague.click(".tabs [data-status=all]")
    await open_widget(visitor, base)
    replies = visitor.locator(".rw-response")

    # The visitor escalates; the agent's list shows it without a reload.
    await escalate(visitor, "zoe.browser@example.com", "passed your request to our team")
    item = agent.locator(".conversation-item", has_text="zoe.browser@example.com")
    await expect(item).to_be_visible(timeout=15_000)
    await expect(item.locator(".state")).to_have_text("Waiting")
    await expect(item).to_have_class(re.compile("unread"))
    waiting = await waiting_count(livechat_server.services.store)
    await expect(agent).to_have_title(re.compile(rf"^\({waiting}\) Conversations"))
    await agent.screenshot(path=str(ARTIFACTS / "inbox-list.png"))
    theirs = pages.colleague.locator(".conversation-item", has_text="zoe.browser@example.com")
    await expect(theirs.locator(".state")).to_have_text("Waiting")  # every agent sees it live

    # The agent opens it: the transcript, the escalation marker, the visitor panel.
    await item.click()
    await expect(agent).to_have_url(re.compile(r"/webhooks/inbox/conversations/\d+$"))
    transcript = agent.locator("#transcript")
    await expect(
        transcript.locator(".message-visitor", has_text="I want to talk to a human")
    ).to_be_visible()
    marker = transcript.locator(".marker-escalation")
    await expect(marker).to_contain_text("Escalated · asked for a person")
    await expect(marker).to_contain_text("I want to talk to a human")
    await expect(agent.locator("#conversation-state")).to_have_text("Waiting for an agent")
    await expect(agent.locator("#visitor-details")).to_contain_text("zoe.browser@example.com")
    await expect(agent.locator("#end-live-chat")).to_be_hidden()

    # Typing a reply starts live chat; the visitor is told who joined.
    await agent.fill("#composer-text", "Hi Zoe, Ann here. How can I help?")
    await agent.press("#composer-text", "Enter")
    await expect(replies.filter(has_text="Ann from our team has joined the chat.")).to_be_visible()
    await expect(replies.filter(has_text="Hi Zoe, Ann here. How can I help?")).to_be_visible()
    await expect(agent.locator("#conversation-state")).to_have_text("Live chat")
    await expect(agent.locator("#end-live-chat")).to_be_visible()
    await expect(transcript.locator(".marker-live-started")).to_contain_text(
        "Live chat started by Ann"
    )
    await expect(theirs.locator(".state")).to_have_text("Live")  # the colleague sees it taken

    # The visitor answers: it appears live for the agent, and the bot stays silent.
    shown = await replies.count()
    await send(visitor, "My parcel never arrived")
    await expect(
        transcript.locator(".message-visitor", has_text="My parcel never arrived")
    ).to_be_visible(timeout=10_000)
    await send(visitor, XSS)
    await expect(transcript.locator(".message-visitor .text", has_text=XSS)).to_be_visible(
        timeout=10_000
    )
    await livechat_server.handled(await sender_id(visitor), "My parcel never arrived", XSS)
    assert await replies_within(visitor, shown) == 0  # no bot message during live chat
    assert await transcript.locator("img").count() == 0
    assert pages.dialogs == []
    await agent.screenshot(path=str(ARTIFACTS / "inbox-conversation.png"))

    # End Live Chat: the bot answers again.
    await agent.click("#end-live-chat")
    await expect(replies.filter(has_text="You're back with Test Bot.")).to_be_visible()
    await expect(agent.locator("#conversation-state")).to_have_text("Bot")
    await expect(agent.locator("#end-live-chat")).to_be_hidden()
    await expect(transcript.locator(".marker-live-ended")).to_contain_text("Live chat ended by Ann")
    await send(visitor, "what are your opening hours?")
    await expect(replies.filter(has_text="Monday to Friday")).to_be_visible(timeout=20_000)
    await expect(transcript.locator(".message-bot", has_text="Monday to Friday")).to_be_visible(
        timeout=10_000
    )
    assert pages.dialogs == []


async def test_settings_saved_in_the_page_change_the_next_escalation(
    livechat_server: RunningServer, pages: Pages, clean_settings: None, receiver: dict[str, Any]
) -> None:
    base = livechat_server.url
    agent, visitor = pages.agent, pages.visitor
    await log_in(agent, base)
    await agent.click("nav >> text=Settings")
    await expect(agent.locator("#escalations-enabled")).to_be_checked()
    await expect(agent.locator("#slack-unavailable")).to_contain_text(
        "Unavailable: Save a Slack bot token"
    )
    await expect(agent.locator("#slack-enabled")).to_be_disabled()
    await expect(agent.locator("#webhook-secret-state")).to_contain_text("No signing secret set")

    # An invalid address is refused next to its field, with the reason.
    await agent.fill("#email-recipients", "ops@example.com; sales@")
    await agent.click("#escalations-form button[type=submit]")
    field_error = agent.locator('[data-field="email.recipients"] .field-error')
    await expect(field_error).to_contain_text('"sales@" is not an email address')
    await agent.fill("#email-recipients", "ops@example.com")
    await agent.click("#escalations-form button[type=submit]")
    await expect(agent.locator("#settings-status")).to_contain_text("Saved")

    # Business hours: a timezone that is not an IANA name is refused next to its field.
    await agent.check("#business-hours-enabled")
    await agent.fill("#business-hours-timezone", "Berlin")
    await agent.click("#escalations-form button[type=submit]")
    await expect(
        agent.locator('[data-field="business_hours.timezone"] .field-error')
    ).to_contain_text("'Berlin' is not an IANA timezone")
    await agent.fill("#business-hours-timezone", "Europe/Berlin")
    await agent.fill("#business-hours-windows", "mon-sun 00:00-24:00")  # open at any test time
    await agent.click("#escalations-form button[type=submit]")
    await expect(agent.locator("#settings-status")).to_contain_text("Saved")

    # Team desk: a number out of range is refused next to its field, a good one is kept.
    await agent.fill("#routing-max-live-chats", "0")
    await agent.click("#escalations-form button[type=submit]")
    await expect(
        agent.locator('[data-field="routing.max_live_chats"] .field-error')
    ).to_contain_text("routing.max_live_chats")
    await agent.fill("#routing-max-live-chats", "2")
    await agent.fill("#livechat-idle-close-after", "45")
    await agent.click("#escalations-form button[type=submit]")
    await expect(agent.locator("#settings-status")).to_contain_text("Saved")
    saved = await agent.evaluate("Inbox.api('GET', 'settings')")
    assert saved["routing"]["max_live_chats"] == 2
    assert saved["livechat"] == {"idle_close_after": 45, "csat": True, "transcript_email": False}
    # The transcript email is off by default, its switch in the Team desk fieldset.
    await expect(agent.locator("#livechat-transcript-email")).not_to_be_checked()
    await expect(agent.locator('[data-field="livechat.transcript_email"]')).to_contain_text(
        "Email Visitors Their Transcript"
    )

    # "Send test webhook" shows what the receiver answered.
    await agent.fill("#webhook-url", receiver["url"])
    await agent.click("#webhook-test")
    result = agent.locator("#webhook-test-result")
    await expect(result).to_contain_text("The receiver answered HTTP 200 OK")
    await expect(result.locator(".answer")).to_have_text("thanks!")
    assert len(receiver["requests"]) == 1
    await agent.screenshot(path=str(ARTIFACTS / "inbox-settings-escalations.png"), full_page=True)

    # A new confirmation text, used by the very next escalation (in the action server). Whether
    # an agent of an earlier test still counts as online decides which of the two is shown.
    await agent.click("#tab-localization")
    for key in ("confirmation", "no_agent_confirmation"):
        text = agent.locator(f"#text-{key}")
        await expect(text).to_be_visible()
        await text.fill("Got it! A person from our team will write to {email} very soon.")
    await agent.click("#localization-form button[type=submit]")
    await expect(agent.locator("#settings-status")).to_contain_text("Saved")
    await agent.screenshot(path=str(ARTIFACTS / "inbox-settings-localization.png"), full_page=True)

    await open_widget(visitor, base)
    await escalate(
        visitor, "max.browser@example.com", "will write to max.browser@example.com very soon"
    )

    # Escalations disabled in the page: the next request is told handoff is unavailable.
    await agent.click("#tab-escalations")
    await agent.uncheck("#escalations-enabled")
    await agent.click("#escalations-form button[type=submit]")
    await expect(agent.locator("#settings-status")).to_contain_text("Saved")
    visitor2 = await visitor.context.browser.new_page()  # type: ignore[union-attr]
    await open_widget(visitor2, base)
    await send(visitor2, "I want to talk to a human")
    await expect(
        visitor2.locator(".rw-response").filter(has_text="talking to a person isn't available")
    ).to_be_visible(timeout=20_000)
    await visitor2.close()

    # The review page lists the escalation with its trigger and message.
    await agent.click("nav >> text=Escalations")
    row = agent.locator("#review-days tr", has_text="max.browser@example.com")
    await expect(row).to_contain_text("Asked for a person")
    await expect(row).to_contain_text("I want to talk to a human")
    await expect(row.locator("a")).to_have_attribute("href", re.compile(r"/conversations/\d+$"))
    await agent.screenshot(path=str(ARTIFACTS / "inbox-escalations.png"), full_page=True)
    assert pages.dialogs == []
    saved = StoredSettings(livechat_server.services.store, [])
    assert (await saved.saved())["escalations"] == {"enabled": False}

    # The admin reads who changed what in the audit log.
    await agent.click("nav >> text=Settings")
    await agent.click("#tab-audit")
    entry = agent.locator("#audit-list tr", has_text="escalations.enabled")
    await expect(entry).to_contain_text("true -> false")
    await expect(entry).to_contain_text(AGENT_EMAIL)
    await agent.screenshot(path=str(ARTIFACTS / "inbox-settings-audit.png"), full_page=True)

    # A colleague who is not an admin sees the settings read-only, without the admin tabs.
    colleague = pages.colleague
    await log_in(colleague, base, COLLEAGUE_EMAIL)
    await colleague.click("nav >> text=Settings")
    await expect(colleague.locator("#read-only")).to_contain_text("Only admins can change")
    await expect(colleague.locator("#escalations-enabled")).not_to_be_checked()  # loaded
    await expect(colleague.locator("#escalations-enabled")).to_be_disabled()
    await expect(colleague.locator("#escalations-form button[type=submit]")).to_be_hidden()
    await expect(colleague.locator("#tab-agents")).to_have_count(0)


async def test_one_agent_handles_a_chat_others_see_who_and_take_it_over_or_get_it_transferred(
    livechat_server: RunningServer, pages: Pages
) -> None:
    base = livechat_server.url
    ann, bob, visitor = pages.agent, pages.colleague, pages.visitor
    await log_in(ann, base)
    await log_in(bob, base, COLLEAGUE_EMAIL)
    await bob.click(".tabs [data-status=all]")  # the chat leaves Waiting once Ann answers
    await open_widget(visitor, base)
    replies = visitor.locator(".rw-response")
    await escalate(visitor, "max.claim@example.com", "passed your request to our team")

    # Ann answers first: the conversation is hers, and Bob sees that in his page.
    await ann.locator(".conversation-item", has_text="max.claim@example.com").click()
    await expect(ann.locator("#assignment-text")).to_have_text(
        "Nobody is handling this conversation yet; replying makes it yours."
    )
    await bob.locator(".conversation-item", has_text="max.claim@example.com").click()
    await ann.fill("#composer-text", "Hi Max, Ann here.")
    await ann.press("#composer-text", "Enter")
    await expect(replies.filter(has_text="Hi Max, Ann here.")).to_be_visible()
    await expect(ann.locator("#assignment-text")).to_have_text(
        "You are handling this conversation."
    )
    await expect(bob.locator("#assignment-text")).to_have_text(
        "Ann is handling this conversation.", timeout=10_000
    )
    await expect(bob.locator("#composer-text")).to_be_disabled()
    await expect(bob.locator("#end-live-chat")).to_be_hidden()
    await expect(
        bob.locator(".conversation-item", has_text="max.claim@example.com").locator(".assignee")
    ).to_have_text("Ann")
    await bob.screenshot(path=str(ARTIFACTS / "inbox-handled-by-another.png"))

    # Bob takes it over: Ann is told, and her composer is now the one locked.
    await bob.click("#take-over")
    await expect(replies.filter(has_text="Bob from our team has joined the chat.")).to_be_visible()
    await expect(bob.locator("#assignment-text")).to_have_text(
        "You are handling this conversation."
    )
    await expect(ann.locator(".toast")).to_contain_text("Bob took over conversation #")
    await expect(ann.locator("#assignment-text")).to_have_text("Bob is handling this conversation.")
    await expect(ann.locator("#composer-text")).to_be_disabled()
    await ann.screenshot(path=str(ARTIFACTS / "inbox-taken-over.png"))
    await bob.fill("#composer-text", "Bob here, I'll take it from now.")
    await bob.press("#composer-text", "Enter")
    await expect(replies.filter(has_text="Bob here, I'll take it from now.")).to_be_visible()

    # Bob transfers it back to Ann with a note: it lands in her Mine tab, the note in the banner.
    # Ann is offered (by address: other tests' agents on the shared server may be Anns too).
    await expect(bob.locator(f'#transfer-agent option[value="{AGENT_EMAIL}"]')).to_have_count(1)
    await bob.select_option("#transfer-agent", AGENT_EMAIL)
    await bob.fill("#transfer-note", "He wants a refund for order 1234")
    await bob.click("#transfer button[type=submit]")
    await expect(ann.locator(".toast").last).to_contain_text("Bob transferred conversation #")
    await expect(ann.locator(".toast").last).to_contain_text("He wants a refund for order 1234")
    await expect(replies.filter(has_text="Ann from our team has joined the chat.")).to_have_count(2)
    await ann.click(".tabs [data-status=mine]")
    mine = ann.locator(".conversation-item")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("max.claim@example.com")
    await expect(ann.locator("#count-mine")).to_have_text("1")
    await expect(ann.locator("#assignment-note")).to_have_text(
        "Transferred by Bob: “He wants a refund for order 1234”"
    )
    await expect(bob.locator("#assignment-text")).to_have_text("Ann is handling this conversation.")
    await ann.screenshot(path=str(ARTIFACTS / "inbox-mine-transferred.png"))

    # Ending the chat clears the assignee: the Mine tab empties.
    await ann.click("#end-live-chat")
    await expect(replies.filter(has_text="You're back with Test Bot.")).to_be_visible()
    await expect(ann.locator(".conversation-item")).to_have_count(0)
    await expect(ann.locator("#assignment-text")).to_have_text(
        "Nobody is handling this conversation yet; replying makes it yours."
    )
    assert pages.dialogs == []


async def test_the_presence_switch_tells_visitors_whether_anyone_is_there(
    livechat_server: RunningServer, pages: Pages, browser: Browser
) -> None:
    base = livechat_server.url
    ann, bob, visitor = pages.agent, pages.colleague, pages.visitor
    await log_in(ann, base)
    await log_in(bob, base, COLLEAGUE_EMAIL)
    for page in (ann, bob):
        await expect(page.locator("#presence")).to_have_attribute("data-presence", "online")

    # Ann steps away by hand. Bob is still online: the visitor is told their place in line.
    await ann.select_option("#presence", "away")
    await expect(ann.locator("#presence")).to_have_attribute("data-presence", "away")
    await open_widget(visitor, base)
    await escalate(visitor, "pia.presence@example.com", "passed your request to our team")
    confirmation = visitor.locator(".rw-response", has_text="pia.presence@example.com").last
    await expect(confirmation).to_contain_text("Someone will reply here")
    await expect(confirmation).to_contain_text(re.compile(r"You are number \d+ in line\."))

    # Ann sees how long the visitor has waited; Bob sees Ann is away where he picks whom to
    # transfer to.
    waiting = ann.locator(".conversation-item", has_text="pia.presence@example.com")
    await expect(waiting.locator(".wait")).to_have_text(re.compile(r"just now|\d+ min"))
    await bob.locator(".conversation-item", has_text="pia.presence@example.com").click()
    await expect(bob.locator("#transfer-agent option", has_text="Ann · away")).to_have_count(1)
    await ann.screenshot(path=str(ARTIFACTS / "inbox-presence-away.png"))
    await visitor.screenshot(path=str(ARTIFACTS / "webchat-queue-position.png"))

    # Bob goes offline too: the next visitor hears that nobody is there.
    await bob.select_option("#presence", "offline")
    await expect(bob.locator("#presence")).to_have_attribute("data-presence", "offline")
    other = await browser.new_context(viewport={"width": 900, "height": 860})
    late = await other.new_page()
    try:
        await open_widget(late, base)
        await escalate(late, "lou.presence@example.com", "Nobody is online right now")
        await late.screenshot(path=str(ARTIFACTS / "webchat-no-agent-online.png"))
    finally:
        await other.close()
        for page in (ann, bob):  # back to normal for the tests after this one
            await page.select_option("#presence", "online")
            await expect(page.locator("#presence")).to_have_attribute("data-presence", "online")
    assert pages.dialogs == []
