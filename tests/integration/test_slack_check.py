"""`handoff check` about Slack, run as a user runs it (env vars, the database the inbox saved
to), against the Slack stand-in: what is missing for notifications, for two-way and for Connect
to Slack, the URLs to paste, and with --slack what auth.test says. Never a secret."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from handoff_plugin.cli import main
from handoff_plugin.store import open_store
from handoff_plugin.store.saved_settings import StoredSettings
from tests.slack_oauth_standin import TEAM, SlackOAuthStandIn

SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"


@pytest.fixture
def standin() -> Iterator[SlackOAuthStandIn]:
    server = SlackOAuthStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean environment in an empty directory; the database URL it uses."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("HANDOFF_")]:
        monkeypatch.delenv(name)
    url = f"sqlite+aiosqlite:///{tmp_path}/handoff.db"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    monkeypatch.setenv("HANDOFF_ACTIONS_TOKEN", "check-test-actions-token")
    monkeypatch.setenv("HANDOFF_INBOX_PUBLIC_URL", "https://support.example.com/webhooks/inbox")
    return url


def save_in_inbox(url: str, changes: dict[str, dict[str, str]]) -> None:
    """What the inbox's Settings page (or Connect to Slack) saves: encrypted in the database."""

    async def save() -> None:
        store = await open_store(url)
        try:
            await StoredSettings(store, [{"database": {"url": url}}]).save(changes)
        finally:
            await store.close()

    asyncio.run(save())


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_check_names_what_slack_still_needs_and_the_urls_to_paste(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(capsys)
    assert code == 0 and "configuration is valid" in out
    assert "[missing] slack.bot_token" in out and "[missing] slack.channel" in out
    assert "[missing] slack.signing_secret" in out
    assert "[missing] slack.client_id / slack.client_secret" in out
    assert "https://support.example.com/webhooks/slack/events" in out
    assert "message.channels" in out
    assert "https://support.example.com/webhooks/slack/interactions" in out
    assert "https://support.example.com/webhooks/inbox/slack/oauth/callback" in out
    assert "scope needed: chat:write" in out
    assert "channels:history, users:read, users:read.email" in out


def test_check_reads_the_token_connect_to_slack_saved_and_asks_slack_about_it(
    env: str,
    standin: SlackOAuthStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "xoxb-check-test-token-0001"
    standin.tokens.append(token)
    standin.scopes_granted = "chat:write,channels:read"
    monkeypatch.setenv("HANDOFF_SLACK_API_URL", standin.api_url)
    monkeypatch.setenv("HANDOFF_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    save_in_inbox(env, {"slack": {"bot_token": token, "channel": "C0SUPPORT1", "enabled": "true"}})
    code, out = check(capsys, "--slack")
    assert code == 0, out
    assert "inbox's saved settings" in out
    assert "[ok]      slack.bot_token is set" in out and "slack.channel = C0SUPPORT1" in out
    assert "[ok]      slack.signing_secret is set" in out
    assert f"ok, workspace {TEAM['name']}, bot @handoff-bot" in out
    assert "the token lacks channels:join, channels:history, users:read, users:read.email" in out
    assert standin.called("auth.test")[0].authorization == f"Bearer {token}"
    assert token not in out and SIGNING_SECRET not in out


def test_check_fails_when_slack_refuses_the_token(
    env: str,
    standin: SlackOAuthStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HANDOFF_SLACK_API_URL", standin.api_url)
    monkeypatch.setenv("HANDOFF_SLACK_BOT_TOKEN", "xoxb-revoked-token-0002")
    code, out = check(capsys, "--slack")
    assert code == 1
    assert "refused (invalid_auth)" in out and "connect to Slack again" in out
    assert standin.called("auth.test")  # it did ask
    assert "xoxb-revoked-token-0002" not in out
