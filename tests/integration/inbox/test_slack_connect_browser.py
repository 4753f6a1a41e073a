"""Connect to Slack in headless Chromium: an admin clicks the button on the Settings page, passes
the (stand-in) Slack authorize page, lands back on the channel picker with the workspace's name,
picks a channel, and Slack is on with the bot token saved encrypted, never sent to the browser.
Every request the browser makes outside 127.0.0.1 is refused and fails the test (the authorize
URL must come from this inbox's own `slack.api_url`, never the real slack.com).

Screenshots: test-artifacts/inbox-settings-slack.png, inbox-slack-picker.png,
inbox-slack-connected.png, inbox-slack-cancelled.png."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, Response, Route, expect

from handoff_plugin.store.queries.settings import SettingsQueries
from tests.integration.inbox.conftest import PASSWORD, InboxServer
from tests.integration.inbox.test_inbox_browser import browser as browser  # noqa: F401
from tests.integration.inbox.test_slack_connect import inbox as inbox  # noqa: F401
from tests.integration.inbox.test_slack_connect import slack_standin as slack_standin  # noqa: F401
from tests.integration.livechat.test_browser import ARTIFACTS
from tests.slack_oauth_standin import TEAM, SlackOAuthStandIn

pytestmark = pytest.mark.slow


@dataclass
class Watched:
    page: Page
    navigations: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # requests that would have left loopback
    bodies: list[str] = field(default_factory=list)  # what the inbox sent the browser


async def watched_page(context: BrowserContext, inbox_url: str) -> Watched:
    page = await context.new_page()
    watched = Watched(page)

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            watched.refused.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    def navigated(request: Request) -> None:
        if request.is_navigation_request():
            watched.navigations.append(request.url)

    async def record(response: Response) -> None:
        if response.url.startswith(inbox_url) and response.status < 300:
            try:
                watched.bodies.append((await response.body()).decode("utf-8", "replace"))
            except Exception:  # noqa: BLE001 (a page left before its body was read)
                pass

    await context.route("**/*", only_loopback)
    page.on("request", navigated)
    page.on("response", record)
    return watched


async def log_in(page: Page, inbox: InboxServer, email: str) -> None:  # noqa: F811
    await page.goto(f"{inbox.url}/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#conversation-list")).to_be_visible()


@pytest.fixture
async def admin(
    inbox: InboxServer,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> AsyncIterator[Watched]:
    ARTIFACTS.mkdir(exist_ok=True)
    await inbox.add_agent("ann@example.com", "Ann", "admin")
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    watched = await watched_page(context, inbox.url)
    await log_in(watched.page, inbox, "ann@example.com")
    yield watched
    await context.close()


async def test_an_admin_connects_slack_picks_a_channel_and_slack_is_on(
    inbox: InboxServer,  # noqa: F811
    admin: Watched,
    slack_standin: SlackOAuthStandIn,  # noqa: F811
) -> None:
    page = admin.page
    await page.goto(f"{inbox.url}/settings#escalations")
    section = page.locator("#slack-settings")
    await expect(page.locator("#slack-connect")).to_be_visible()
    await expect(page.locator("#slack-token-state")).to_have_text("No bot token saved yet.")
    await expect(page.locator("#slack-events-url")).to_have_text(
        inbox.url.removesuffix("/webhooks/inbox") + "/webhooks/slack/events"
    )
    await section.scroll_into_view_if_needed()
    await section.screenshot(path=str(ARTIFACTS / "inbox-settings-slack.png"))

    await page.click("#slack-connect")
    await expect(page).to_have_url(f"{inbox.url}/settings/slack?connected=1")
    authorize = [u for u in admin.navigations if "/oauth/v2/authorize" in u]
    assert len(authorize) == 1 and urlsplit(authorize[0]).port == slack_standin.port, (
        admin.navigations
    )
    assert admin.refused == []
    await expect(page.locator("#slack-workspace")).to_have_text(f"Connected to {TEAM['name']}")
    await expect(page.locator("#slack-status")).to_contain_text("Slack is connected")
    await expect(page.locator("#slack-scopes")).to_be_hidden()
    await page.select_option("#slack-channel-choice", "C0SUPPORT1")
    await page.screenshot(path=str(ARTIFACTS / "inbox-slack-picker.png"))
    await page.click("#slack-channel-save")
    await expect(page.locator("#slack-status")).to_have_text(
        "Slack notifications are on: escalations are posted to #support."
    )

    settings = await inbox.services.settings.current()
    token = slack_standin.tokens[0]
    assert settings.slack.enabled and settings.slack.channel == "C0SUPPORT1"
    assert settings.slack.bot_token.get_secret_value() == token
    async with inbox.store.transaction() as tx:
        stored = await SettingsQueries(tx).saved_settings()  # decrypted by the store
    assert stored["slack"]["bot_token"] == token
    async with inbox.store.transaction() as tx:
        raw = await tx.conn.exec_driver_sql("SELECT data FROM settings_overrides")
        row = json.dumps(raw.scalar_one())
    assert token not in row and "fernet:" in row

    await page.goto(f"{inbox.url}/settings#escalations")
    await expect(page.locator("#slack-enabled")).to_be_checked()
    await expect(page.locator("#slack-channel")).to_have_value("C0SUPPORT1")
    await expect(page.locator("#slack-token-state")).to_contain_text("A bot token is saved")
    assert await page.locator("#slack-bot-token").input_value() == ""
    await page.locator("#slack-settings").screenshot(
        path=str(ARTIFACTS / "inbox-slack-connected.png")
    )
    assert admin.bodies and all(token not in body for body in admin.bodies)
    assert token not in await page.content()
    assert admin.refused == []


async def test_cancelling_on_slacks_page_shows_why_nothing_changed(
    inbox: InboxServer,  # noqa: F811
    admin: Watched,
    slack_standin: SlackOAuthStandIn,  # noqa: F811
) -> None:
    slack_standin.deny = True
    page = admin.page
    await page.goto(f"{inbox.url}/settings#escalations")
    await page.click("#slack-connect")
    await expect(page.locator("#slack-problem h2")).to_have_text("Slack was not connected")
    await expect(page.locator("#slack-problem")).to_contain_text("You cancelled on Slack's page")
    assert slack_standin.called("authorize") and admin.refused == []
    await page.screenshot(path=str(ARTIFACTS / "inbox-slack-cancelled.png"))
    settings = await inbox.services.settings.current()
    assert settings.slack.bot_token.get_secret_value() == "" and not settings.slack.enabled


async def test_an_agent_sees_no_connect_button(
    inbox: InboxServer,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    await inbox.add_agent("dan@example.com", "Dan", "agent")
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    watched = await watched_page(context, inbox.url)
    await log_in(watched.page, inbox, "dan@example.com")
    await watched.page.goto(f"{inbox.url}/settings#escalations")
    await expect(watched.page.locator("#slack-client-id")).to_be_disabled()  # the page is filled
    await expect(watched.page.locator("#slack-connect")).to_be_hidden()
    await context.close()


async def test_an_admin_keeps_the_slack_apps_credentials_from_the_page(
    inbox: InboxServer,  # noqa: F811
    admin: Watched,
) -> None:
    page = admin.page
    await page.goto(f"{inbox.url}/settings#escalations")
    await expect(page.locator("#slack-connect")).to_be_visible()
    await page.fill("#slack-client-id", "")
    await page.check("#slack-client-secret-clear")
    await page.fill("#slack-signing-secret", "a-signing-secret-typed-in-the-page")
    await page.fill("#slack-note-prefix", "intern:")
    await page.click("#escalations-form button[type=submit]")
    await expect(page.locator("#settings-status")).to_contain_text("Saved.")
    await expect(page.locator("#slack-connect")).to_be_hidden()
    await expect(page.locator("#slack-connect-hint")).to_contain_text("Save the app's Client ID")
    await expect(page.locator("#slack-signing-secret-state")).to_contain_text("is saved")
    assert await page.locator("#slack-signing-secret").input_value() == ""
    settings = (await inbox.services.settings.current()).slack
    assert settings.client_id == "" and settings.client_secret.get_secret_value() == ""
    assert settings.signing_secret.get_secret_value() == "a-signing-secret-typed-in-the-page"
    assert settings.note_prefix == "intern:"

    await page.fill("#slack-client-id", "1234567890.9876543210")  # one without the other
    await page.click("#escalations-form button[type=submit]")
    await expect(page.locator('[data-field="slack.client_secret"] .field-error')).to_contain_text(
        "Connect to Slack needs both"
    )
    await page.fill("#slack-client-secret", "fedcba9876543210fedcba9876543210")
    await page.click("#escalations-form button[type=submit]")
    await expect(page.locator("#slack-connect")).to_be_visible()
    await page.reload()
    await expect(page.locator("#slack-client-secret-state")).to_contain_text("is saved")
    await expect(page.locator("#slack-client-secret-clear-label")).to_be_visible()
    assert all(
        "a-signing-secret-typed" not in body and "fedcba9876543210fedcba" not in body
        for body in admin.bodies
    )
