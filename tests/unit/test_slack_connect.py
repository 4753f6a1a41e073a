"""Connect to Slack's pure parts: where Slack's authorize page is (from slack.api_url), the URLs
the Slack app needs, the signed state, and the app credentials' validation."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from handoff_plugin.config.settings import build_settings
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.inbox.settings_form import settings_view
from handoff_plugin.inbox.slack_app import (
    SCOPES,
    authorize_endpoint,
    authorize_url,
    events_url,
    granted_scopes,
    interactions_url,
    mint_state,
    read_state,
    redirect_uri,
)
from tests.conftest import ROOT

KEY = b"k" * 32
EXPIRES = datetime(2026, 2, 9, 12, 10, tzinfo=timezone.utc)
CLIENT = {"client_id": "1234567890.9876543210", "client_secret": "abcdef0123456789abcdef0123456789"}


@pytest.mark.parametrize(
    ("api_url", "authorize"),
    [
        ("https://slack.com/api/", "https://slack.com/oauth/v2/authorize"),
        ("http://127.0.0.1:8123/api/", "http://127.0.0.1:8123/oauth/v2/authorize"),
        ("http://127.0.0.1:8123/api", "http://127.0.0.1:8123/oauth/v2/authorize"),
        ("https://proxy.example/slack/api/", "https://proxy.example/slack/oauth/v2/authorize"),
        ("https://proxy.example/other/", "https://proxy.example/oauth/v2/authorize"),
    ],
)
def test_slacks_authorize_page_is_found_next_to_its_web_api(api_url: str, authorize: str) -> None:
    assert authorize_endpoint(api_url) == authorize


def test_the_authorize_url_asks_for_every_scope_with_the_callback_and_state() -> None:
    settings = build_settings(
        {"slack": {**CLIENT, "api_url": "http://127.0.0.1:9/api/"}},
        {"inbox": {"public_url": "https://support.example.com/webhooks/inbox/"}},
    )
    url = authorize_url(settings, "the-state")
    assert url.startswith("http://127.0.0.1:9/oauth/v2/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "client_id": [CLIENT["client_id"]],
        "scope": [",".join(SCOPES)],
        "redirect_uri": ["https://support.example.com/webhooks/inbox/slack/oauth/callback"],
        "state": ["the-state"],
    }
    assert {"chat:write", "channels:history", "users:read.email"} <= set(SCOPES)


def test_the_slack_app_urls_come_from_the_inbox_public_url() -> None:
    public = "https://support.example.com/webhooks/inbox"
    assert redirect_uri(public) == f"{public}/slack/oauth/callback"
    assert events_url(public) == "https://support.example.com/webhooks/slack/events"
    assert interactions_url(public) == "https://support.example.com/webhooks/slack/interactions"
    # an inbox behind another path: the Rasa server is at the host's root
    assert events_url("https://x.example/help/inbox") == "https://x.example/webhooks/slack/events"


def test_a_state_reads_back_only_for_the_agent_and_login_it_was_made_for() -> None:
    state = mint_state(KEY, 7, "csrf-of-this-login", EXPIRES, "nonce123")
    check = read_state(KEY, state, 7, "csrf-of-this-login")
    assert check is not None and check.nonce == "nonce123" and check.expires_at == EXPIRES
    assert read_state(KEY, state, 8, "csrf-of-this-login") is None  # another admin
    assert read_state(KEY, state, 7, "csrf-of-another-login") is None
    assert read_state(b"x" * 32, state, 7, "csrf-of-this-login") is None  # another server
    nonce, expires, agent, mac = state.split(".")
    later = f"{nonce}.{int(expires) + 3600}.{agent}.{mac}"  # a longer life, forged
    assert read_state(KEY, later, 7, "csrf-of-this-login") is None
    hostile = (f"{nonce}.{expires}.³.{mac}", f"{nonce}.{expires}٣.7.{mac}", f"{nonce}.9e9.7.{mac}")
    for broken in ("", "a.b.c", "a.b.c.d.e", f"{nonce}..7.{mac}", "x" * 300, *hostile):
        assert read_state(KEY, broken, 7, "csrf-of-this-login") is None


def test_the_apps_credentials_are_checked_with_the_reason() -> None:
    with pytest.raises(ConfigurationError) as error:
        build_settings({"slack": {"client_id": "my-app"}})
    assert error.value.field == "slack.client_id" and "Basic Information" in str(error.value)
    with pytest.raises(ConfigurationError) as error:
        build_settings({"slack": {"client_id": CLIENT["client_id"]}})
    assert error.value.field == "slack.client_secret" and "needs both" in str(error.value)
    with pytest.raises(ConfigurationError) as error:
        build_settings({"slack": {"client_id": CLIENT["client_id"], "client_secret": "short"}})
    assert error.value.field == "slack.client_secret"
    assert "short" not in str(error.value)  # a secret is never repeated
    assert build_settings({"slack": CLIENT}).slack.client_id == CLIENT["client_id"]


def test_the_settings_page_shows_slack_secrets_only_as_set() -> None:
    secrets = {"bot_token": "xoxb-view-1", "signing_secret": "sign-view-2", **CLIENT}
    view = settings_view(build_settings({"slack": {**secrets, "note_prefix": "intern:"}}))
    slack = view["slack"]
    assert slack["bot_token_set"] and slack["signing_secret_set"] and slack["client_secret_set"]
    assert slack["connect_available"] and slack["note_prefix"] == "intern:"
    for value in ("xoxb-view-1", "sign-view-2", CLIENT["client_secret"]):
        assert value not in str(view)


def test_the_tokens_scopes_are_read_from_slacks_header() -> None:
    assert granted_scopes({"X-OAuth-Scopes": "chat:write, channels:read"}) == {
        "chat:write",
        "channels:read",
    }
    assert granted_scopes({}) is None


def test_the_app_manifest_asks_for_the_scopes_and_urls_the_inbox_uses() -> None:
    manifest = yaml.safe_load((ROOT / "deploy" / "slack-app-manifest.yml").read_text())
    assert manifest["oauth_config"]["scopes"]["bot"] == list(SCOPES)
    public = "https://YOUR-HOST/webhooks/inbox"
    assert manifest["oauth_config"]["redirect_urls"] == [redirect_uri(public)]
    assert manifest["settings"]["event_subscriptions"] == {
        "request_url": events_url(public),
        "bot_events": ["message.channels"],
    }
    assert manifest["settings"]["interactivity"]["request_url"] == interactions_url(public)
