"""Internal notes in headless Chromium, next to a visitor in the rasa-webchat widget: the composer
makes the mode unmistakable, the note shows for agents (live for a colleague) and never in the
widget. Screenshots: test-artifacts/inbox-composer-*.png, inbox-note-timeline.png."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.integration.inbox.test_inbox_browser import (  # noqa: F401 (fixtures)
    COLLEAGUE_EMAIL,
    Pages,
    browser,
    escalate,
    log_in,
    open_widget,
)
from tests.integration.inbox.test_inbox_browser import pages as pages  # noqa: F401
from tests.integration.livechat.harness import RunningServer
from tests.integration.livechat.test_browser import ARTIFACTS

pytestmark = pytest.mark.slow

NOTE = "Internal: she already got a refund once, check with billing first. <img src=x onerror=alert(1)>"


async def test_an_agents_note_is_shown_to_agents_and_never_to_the_visitor(
    livechat_server: RunningServer,
    pages: Pages,  # noqa: F811
) -> None:
    base = livechat_server.url
    agent, visitor, colleague = pages.agent, pages.visitor, pages.colleague
    await log_in(agent, base)
    await log_in(colleague, base, COLLEAGUE_EMAIL)
    await colleague.click(".tabs [data-status=all]")
    await open_widget(visitor, base)
    replies = visitor.locator(".rw-response")
    await escalate(visitor, "nina.notes@example.com", "passed your request to our team")
    item = agent.locator(".conversation-item", has_text="nina.notes@example.com")
    await item.click()
    theirs = colleague.locator(".conversation-item", has_text="nina.notes@example.com")
    await theirs.click()

    # Reply is the default: the message reaches the visitor.
    form = agent.locator("#composer")
    await expect(agent.locator("#mode-reply")).to_have_attribute("aria-checked", "true")
    await expect(agent.locator("#send")).to_have_text("Send")
    await agent.fill("#composer-text", "Hi Nina, Ann here.")
    await agent.screenshot(path=str(ARTIFACTS / "inbox-composer-reply.png"))
    await agent.press("#composer-text", "Enter")
    await expect(replies.filter(has_text="Hi Nina, Ann here.")).to_be_visible(timeout=10_000)
    await expect(agent.locator("#transcript .message-agent", has_text="Hi Nina")).to_be_visible()

    # Note mode: another colour, placeholder, hint and button.
    await agent.click("#mode-note")
    await expect(form).to_have_class(re.compile(r"\bcomposer-note\b"))
    await expect(agent.locator("#mode-note")).to_have_attribute("aria-checked", "true")
    await expect(agent.locator("#send")).to_have_text("Add note")
    await expect(agent.locator("#composer-text")).to_have_attribute(
        "placeholder", re.compile("only your teammates see it")
    )
    await expect(agent.locator("#composer-hint")).to_contain_text("only agents see it")
    await agent.fill("#composer-text", NOTE)
    await agent.screenshot(path=str(ARTIFACTS / "inbox-composer-note.png"))
    await agent.press("#composer-text", "Enter")

    # The note is in the timeline, marked; the composer is back to Reply.
    note = agent.locator("#transcript .note", has_text=NOTE)
    await expect(note).to_be_visible()
    await expect(note.locator(".note-label")).to_have_text("Internal note")
    await expect(note.locator(".author")).to_have_text("Ann")
    await expect(agent.locator("#mode-reply")).to_have_attribute("aria-checked", "true")
    await expect(agent.locator("#send")).to_have_text("Send")
    await expect(form).not_to_have_class(re.compile(r"\bcomposer-note\b"))
    await agent.screenshot(path=str(ARTIFACTS / "inbox-note-timeline.png"))

    # The colleague viewing the conversation sees it without reloading, and may answer with a
    # note of their own though Ann handles the chat (replying is closed to them).
    await expect(colleague.locator("#transcript .note", has_text=NOTE)).to_be_visible(
        timeout=10_000
    )
    await expect(colleague.locator("#composer-text")).to_be_disabled()
    await colleague.click("#mode-note")
    await expect(colleague.locator("#composer-text")).to_be_enabled()
    await colleague.fill("#composer-text", "Billing says yes, go ahead.")
    await colleague.click("#send")
    await expect(agent.locator("#transcript .note", has_text="Billing says yes")).to_be_visible(
        timeout=10_000
    )
    await expect(agent.locator("#transcript .note").last.locator(".author")).to_have_text("Bob")
    await expect(colleague.locator("#composer-text")).to_be_disabled()  # back to Reply

    # The next reply reaches the visitor; the note never did.
    await agent.fill("#composer-text", "I'm checking your order now.")
    await agent.press("#composer-text", "Enter")
    await expect(replies.filter(has_text="I'm checking your order now.")).to_be_visible(
        timeout=10_000
    )
    await expect(visitor.locator(".rw-messages-container")).not_to_contain_text("refund once")

    # Note mode goes back to Reply when the agent opens a conversation.
    await agent.click(".tabs [data-status=all]")  # it left Waiting when live chat started
    await agent.click("#mode-note")
    await expect(form).to_have_class(re.compile(r"\bcomposer-note\b"))
    await item.click()
    await expect(agent.locator("#mode-reply")).to_have_attribute("aria-checked", "true")
    await expect(form).not_to_have_class(re.compile(r"\bcomposer-note\b"))
    assert await agent.locator("#transcript img").count() == 0  # the note is text, never HTML
    assert pages.dialogs == []
