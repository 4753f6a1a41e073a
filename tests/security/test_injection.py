"""Visitor or admin text that tries to become code: on the live-chat demo page (a hostile chatbot
name, in real Chromium under the page's CSP), in the terminal of a demo printing emails, and in
the spreadsheet that opens the inbox's CSV export."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect
from sanic import Sanic

from handoff_plugin.channels.livechat import LiveChatInput
from handoff_plugin.config.settings import build_settings
from handoff_plugin.delivery.notifiers.base import Notification
from handoff_plugin.delivery.notifiers.email import ConsoleEmailNotifier
from handoff_plugin.delivery.webhook_probe import sample_body
from handoff_plugin.livechat.broker import InProcessBroker
from handoff_plugin.livechat.service import LiveChatService
from handoff_plugin.livechat.sessions import SessionSigner
from handoff_plugin.models import TranscriptLine
from handoff_plugin.store import Store
from handoff_plugin.store.saved_settings import StoredSettings
from tests.integration.inbox.conftest import AgentClient, InboxServer, start_inbox
from tests.integration.livechat.test_browser import CHROMIUM_ARGS, csp_violations, require_chromium
from tests.servers import free_port, serve_sanic
from tests.unit.test_livechat_service import FakeTranscript

HOSTILE_NAME = "Bot</script><script>alert(1)</script><img src=x onerror=alert(2)>\"'&"
_apps = itertools.count()


@pytest.fixture
async def demo_url(store: Store, database_url: str) -> AsyncIterator[str]:
    """The livechat channel (demo page, widget script, socket.io) on a real port, no Rasa."""
    layers: list[dict[str, Any]] = [
        {"database": {"url": database_url}, "chatbot": {"name": HOSTILE_NAME}}
    ]
    provider = StoredSettings(store, layers)
    Sanic.test_mode = True  # several apps in one process (as the inbox tests do)
    app = Sanic(f"demo_security_{next(_apps)}")
    app.ctx.handoff_livechat = LiveChatService(
        store=store,
        settings=provider,
        transcript=FakeTranscript(),
        broker=InProcessBroker(),
        signer=SessionSigner(b"demo-security-secret-0123456789"),
    )

    async def no_rasa(_: Any) -> None:
        return None

    channel = LiveChatInput(settings=build_settings(*layers))
    app.blueprint(channel.blueprint(no_rasa), url_prefix="/webhooks/livechat")
    port = free_port()
    server = await serve_sanic(app, port)
    yield f"http://127.0.0.1:{port}/webhooks/livechat/demo"
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()


@pytest.mark.slow
async def test_a_hostile_chatbot_name_is_only_text_on_the_demo_page_under_a_strict_csp(
    demo_url: str,
) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=require_chromium(), args=CHROMIUM_ARGS
        )
        page = await browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: dialogs.append(d.message))
        refused = csp_violations(page)
        response = await page.goto(demo_url)
        assert response is not None
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "'unsafe-eval'" not in policy
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        await expect(page.locator("#status")).to_have_text(
            "The chat is in the bottom right corner."
        )
        await expect(page.locator("h1")).to_have_text(HOSTILE_NAME)
        await page.locator("button.rw-launcher").click()  # socket.io session confirmed
        await expect(page.locator(".rw-title")).to_have_text(HOSTILE_NAME)
        assert await page.locator("img[src=x]").count() == 0
        await browser.close()
    assert dialogs == []
    assert [r for r in refused if "fonts.googleapis.com" not in r] == []


async def test_an_injected_inline_script_would_be_refused_by_the_demo_pages_policy(
    demo_url: str,
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(demo_url) as response:
        policy = response.headers["Content-Security-Policy"]
        page = await response.text()
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"]  # no 'unsafe-inline', no nonce
    assert "<script>alert(1)" not in page


async def test_console_emails_print_no_terminal_control_characters() -> None:
    settings = build_settings({"chatbot": {"name": "Shop\x1b]0;owned\x07 Bot"}})
    body = sample_body(settings)
    body["text"] = "help\x1b[2J\x1b[31m me\x9b1;1H\x07\x00\x7f\x85 now"
    body["visitor"]["first_name"] = "Ann\x1b[8m"
    notification = Notification(
        body, "msg_1", (TranscriptLine("visitor", "line one\n\tline two\r\x1b[1A"),)
    )
    out = io.StringIO()
    await ConsoleEmailNotifier(settings.email, stream=out).send(notification)
    printed = out.getvalue()
    assert "help[2J[31m me1;1H now" in printed  # the visitor's text, without what a tty acts on
    assert "line one\n\tline two" in printed  # newlines and tabs stay
    assert [
        c for c in printed if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0
    ] == []


@pytest.fixture
async def inbox(store: Store, database_url: str) -> AsyncIterator[InboxServer]:
    server = await start_inbox(store, [{"database": {"url": database_url}}])
    yield server
    await server.stop()


async def test_csv_cells_that_a_spreadsheet_would_run_start_with_a_quote(
    inbox: InboxServer,
) -> None:
    attacks = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "＝1+1", "＋1", "－1", "＠A1"]
    for n, text in enumerate(attacks):
        await inbox.escalate(f"v{n}", text, first_name="=cmd|' /C calc'!A0")
    await inbox.add_agent()
    ann = AgentClient(inbox.url)
    try:
        await ann.login()
        async with ann.http.get(
            f"{ann.base}/api/escalations",
            params={"format": "csv", "from": "2026-02-09", "to": "2026-02-09"},
        ) as response:
            rows = list(csv.DictReader(io.StringIO(await response.text())))
    finally:
        await ann.close()
    assert sorted(r["message"] for r in rows) == sorted("'" + a for a in attacks)
    assert {r["visitor_name"][:1] for r in rows} == {"'"}
