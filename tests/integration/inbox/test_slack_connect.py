"""Connect to Slack against the running inbox and a stand-in for Slack's OAuth pages and Web API:
the bot token is saved encrypted and never shown; a missing, forged, another login's, expired or
replayed state is refused and stores nothing; a cancel on Slack's page says so; agents (not
admins) can do none of it; the channel picker joins, saves and switches Slack on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import sqlalchemy as sa

from handoff_plugin.inbox.slack_app import SCOPES, STATE_TTL
from handoff_plugin.store import Store
from handoff_plugin.store.tables import settings_audit, settings_overrides
from tests.conftest import FakeClock
from tests.integration.inbox.conftest import AgentClient, InboxServer, start_inbox
from tests.slack_oauth_standin import CLIENT_ID, CLIENT_SECRET, TEAM, SlackOAuthStandIn

REFUSED = "Slack was not connected"


@pytest.fixture
def slack_standin() -> Iterator[SlackOAuthStandIn]:
    standin = SlackOAuthStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
async def inbox(
    store: Store, database_url: str, slack_standin: SlackOAuthStandIn
) -> AsyncIterator[InboxServer]:
    """This module's inbox: its own database, Slack's API at the stand-in, the app's
    credentials set, and its public URL its real address (Slack sends the browser back there)."""
    layers: list[dict[str, Any]] = [
        {"database": {"url": database_url}, "chatbot": {"name": "Test Bot"}},
        {
            "slack": {
                "api_url": slack_standin.api_url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }
        },
    ]
    server = await start_inbox(store, layers)
    await server.services.settings.save({"inbox": {"public_url": server.url}})
    yield server
    await server.stop()


async def start_connect(client: AgentClient, standin: SlackOAuthStandIn) -> str:
    """Connect to Slack as the page does; the authorize URL is checked to be the stand-in's."""
    status, body = await client.call("POST", "api/settings/slack/connect")
    assert status == 200, body
    url = body["authorize_url"]
    assert urlsplit(url).netloc == f"127.0.0.1:{standin.port}", url  # never the real slack.com
    assert urlsplit(url).path == "/oauth/v2/authorize"
    return str(url)


async def authorize(client: AgentClient, url: str) -> str:
    """Slack's authorize page answers with a redirect back to the inbox: its Location."""
    async with client.http.get(url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        return str(response.headers["Location"])


async def come_back(client: AgentClient, location: str) -> tuple[int, str, str]:
    """The browser follows Slack's redirect to the callback: status, body, Location."""
    async with client.http.get(location, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.get("Location", "")


async def saved_row(inbox: InboxServer) -> dict[str, Any]:
    async with inbox.store.transaction() as tx:
        row = (
            await tx.conn.execute(
                sa.select(settings_overrides.c.data).where(settings_overrides.c.id == 1)
            )
        ).first()
    return dict(row.data) if row else {}


async def saved_token(inbox: InboxServer) -> str:
    return (await inbox.services.settings.current()).slack.bot_token.get_secret_value()


async def test_connect_saves_the_bot_token_encrypted_audited_and_never_shown(
    inbox: InboxServer, ann: AgentClient, slack_standin: SlackOAuthStandIn
) -> None:
    url = await start_connect(ann, slack_standin)
    asked = parse_qs(urlsplit(url).query)
    assert asked["client_id"] == [CLIENT_ID]
    assert asked["scope"] == [",".join(SCOPES)]
    assert asked["redirect_uri"] == [f"{inbox.url}/slack/oauth/callback"]
    status, _, location = await come_back(ann, await authorize(ann, url))
    assert status == 302 and location == "/webhooks/inbox/settings/slack?connected=1"

    token = slack_standin.tokens[0]
    assert await saved_token(inbox) == token
    exchange = slack_standin.called("oauth.v2.access")[0]
    assert exchange.params["redirect_uri"] == f"{inbox.url}/slack/oauth/callback"
    assert exchange.authorization.startswith("Basic ")  # the app's credentials, not in the URL
    raw = await saved_row(inbox)
    assert raw["slack"]["bot_token"].startswith("fernet:")
    assert token not in json.dumps(raw)
    async with inbox.store.transaction() as tx:
        audit = (await tx.conn.execute(sa.select(settings_audit))).all()
    assert [(r.key, r.secret, r.new_value) for r in audit if r.key == "slack.bot_token"] == [
        ("slack.bot_token", True, None)
    ]
    assert all(token not in str(tuple(r)) for r in audit)
    for path in ("api/settings", "api/settings/slack/workspace", "api/settings/audit"):
        status, body = await ann.call("GET", path)
        assert status == 200, body
        assert token not in json.dumps(body)
    status, page = await ann.call("GET", "settings/slack?connected=1")
    assert status == 200 and token not in page


async def test_a_forged_state_is_refused_and_stores_nothing_then_the_right_one_stores(
    inbox: InboxServer, ann: AgentClient, slack_standin: SlackOAuthStandIn
) -> None:
    location = await authorize(ann, await start_connect(ann, slack_standin))
    state = parse_qs(urlsplit(location).query)["state"][0]
    forged = location.replace(state, state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB"))
    status, page, _ = await come_back(ann, forged)
    assert status == 403 and REFUSED in page and "not started by your login" in page
    no_state = location.replace(f"state={state}", "state=")
    status, page, _ = await come_back(ann, no_state)
    assert status == 400 and "carries no state" in page
    assert slack_standin.called("oauth.v2.access") == [] and await saved_token(inbox) == ""

    status, _, _ = await come_back(ann, location)
    assert status == 302
    assert await saved_token(inbox) == slack_standin.tokens[0]


async def test_a_replayed_answer_is_refused_and_exchanges_no_second_code(
    inbox: InboxServer, ann: AgentClient, slack_standin: SlackOAuthStandIn
) -> None:
    location = await authorize(ann, await start_connect(ann, slack_standin))
    assert (await come_back(ann, location))[0] == 302
    first = await saved_token(inbox)
    assert first == slack_standin.tokens[0]
    status, page, _ = await come_back(ann, location)  # a reload, the back button, an attacker
    assert status == 400 and "already used" in page
    assert len(slack_standin.called("oauth.v2.access")) == 1
    assert await saved_token(inbox) == first


async def test_an_expired_state_is_refused_and_stores_nothing_a_fresh_one_stores(
    inbox: InboxServer, ann: AgentClient, slack_standin: SlackOAuthStandIn, clock: FakeClock
) -> None:
    location = await authorize(ann, await start_connect(ann, slack_standin))
    clock.advance(STATE_TTL.total_seconds() + 1)
    status, page, _ = await come_back(ann, location)
    assert status == 400 and "expired" in page
    assert slack_standin.called("oauth.v2.access") == [] and await saved_token(inbox) == ""

    fresh = await authorize(ann, await start_connect(ann, slack_standin))
    assert (await come_back(ann, fresh))[0] == 302
    assert await saved_token(inbox) == slack_standin.tokens[0]


async def test_another_logins_state_is_refused(
    inbox: InboxServer,
    ann: AgentClient,
    make_client: Callable[[], AgentClient],
    slack_standin: SlackOAuthStandIn,
) -> None:
    await inbox.add_agent("cat@example.com", "Cat", role="admin")
    cat = make_client()
    await cat.login("cat@example.com")
    location = await authorize(cat, await start_connect(cat, slack_standin))
    status, page, _ = await come_back(ann, location)  # Ann's browser, Cat's state
    assert status == 403 and "not started by your login" in page
    ann_again = make_client()
    await ann_again.login()  # Ann herself, another login
    mine = await authorize(ann, await start_connect(ann, slack_standin))
    assert (await come_back(ann_again, mine))[0] == 403
    assert slack_standin.called("oauth.v2.access") == [] and await saved_token(inbox) == ""
    assert (await come_back(cat, location))[0] == 302  # where it belongs, it works


async def test_cancelling_on_slacks_page_says_so_and_changes_nothing(
    inbox: InboxServer, ann: AgentClient, slack_standin: SlackOAuthStandIn
) -> None:
    slack_standin.deny = True
    location = await authorize(ann, await start_connect(ann, slack_standin))
    assert "error=access_denied" in location
    status, page, _ = await come_back(ann, location)
    assert status == 400 and "You cancelled on Slack" in page and "nothing was changed" in page
    assert slack_standin.called("oauth.v2.access") == [] and await saved_token(inbox) == ""


async def test_agents_cannot_connect_slack_or_choose_its_channel(
    inbox: InboxServer,
    ann: AgentClient,
    make_client: Callable[[], AgentClient],
    slack_standin: SlackOAuthStandIn,
) -> None:
    await inbox.add_agent("dan@example.com", "Dan", role="agent")
    dan = make_client()
    await dan.login("dan@example.com")
    status, body = await dan.call("POST", "api/settings/slack/connect")
    assert status == 403 and "Only admins" in body["error"]
    assert (await dan.call("GET", "api/settings/slack/workspace"))[0] == 403
    assert (await dan.call("PUT", "api/settings/slack/channel", {"channel": "C0SUPPORT1"}))[
        0
    ] == 403
    status, page = await dan.call("GET", "settings/slack")
    assert status == 403 and "Only admins" in page
    # Nor finish one an admin started (e.g. a link passed on)
    location = await authorize(ann, await start_connect(ann, slack_standin))
    status, page, _ = await come_back(dan, location)
    assert status == 403 and "Only admins" in page
    assert slack_standin.called("oauth.v2.access") == [] and await saved_token(inbox) == ""
    assert slack_standin.called("authorize")  # the admin's request did reach Slack's page


async def test_starting_needs_the_csrf_token_and_the_app_credentials(
    inbox: InboxServer, ann: AgentClient
) -> None:
    status, body = await ann.call("POST", "api/settings/slack/connect", csrf="wrong")
    assert status == 403 and "CSRF" in body["error"]
    await inbox.services.settings.save({"slack": {"client_id": "", "client_secret": ""}})
    status, body = await ann.call("POST", "api/settings/slack/connect")
    assert status == 400 and "Client ID and Client Secret" in body["error"]
    _, view = await ann.call("GET", "api/settings")
    assert view["slack"]["connect_available"] is False


async def test_the_authorize_url_follows_the_api_url_in_force_now(
    inbox: InboxServer, ann: AgentClient, slack_standin: SlackOAuthStandIn
) -> None:
    await start_connect(ann, slack_standin)
    await inbox.services.settings.save({"slack": {"api_url": "http://127.0.0.1:9/slack/api/"}})
    status, body = await ann.call("POST", "api/settings/slack/connect")
    assert status == 200
    assert body["authorize_url"].startswith("http://127.0.0.1:9/slack/oauth/v2/authorize?")


async def test_the_channel_picker_joins_saves_the_channel_and_switches_slack_on(
    inbox: InboxServer, ann: AgentClient, slack_standin: SlackOAuthStandIn
) -> None:
    location = await authorize(ann, await start_connect(ann, slack_standin))
    assert (await come_back(ann, location))[0] == 302
    status, workspace = await ann.call("GET", "api/settings/slack/workspace")
    assert status == 200, workspace
    assert workspace["team"] == TEAM["name"] and workspace["missing_scopes"] == []
    assert [c["name"] for c in workspace["channels"]] == ["general", "random", "support"]
    status, body = await ann.call("PUT", "api/settings/slack/channel", {"channel": "C0SUPPORT1"})
    assert status == 200, body
    assert body["joined"] is True and body["channel"]["name"] == "support"
    assert body["settings"]["slack"]["enabled"] is True
    assert slack_standin.joined == ["C0SUPPORT1"]
    settings = await inbox.services.settings.current()
    assert settings.slack.enabled and settings.slack.channel == "C0SUPPORT1"
    status, body = await ann.call("PUT", "api/settings/slack/channel", {"channel": "C0NOPE0000"})
    assert status == 400 and "channel_not_found" in body["error"]
    status, body = await ann.call("PUT", "api/settings/slack/channel", {"channel": "#x; drop"})
    assert status == 400 and "not a Slack channel id" in body["error"]


async def test_the_picker_says_what_to_do_when_slack_refuses_the_token(
    inbox: InboxServer, ann: AgentClient
) -> None:
    status, body = await ann.call("GET", "api/settings/slack/workspace")
    assert status == 400 and "No Slack bot token is saved" in body["error"]
    await ann.call("PUT", "api/settings", {"slack": {"bot_token": "xoxb-pasted-unknown"}})
    status, body = await ann.call("GET", "api/settings/slack/workspace")
    assert (
        status == 400
        and "invalid_auth" in body["error"]
        and "connect to Slack again" in body["error"]
    )


async def test_the_stand_in_refuses_what_slack_refuses(slack_standin: SlackOAuthStandIn) -> None:
    """The stand-in is strict, so the tests above prove the inbox sends what Slack checks."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{slack_standin.api_url}oauth.v2.access", data={"code": "x"}) as r:
            assert (await r.json())["error"] == "invalid_client_id"
        async with http.post(f"{slack_standin.api_url}auth.test") as r:
            assert (await r.json())["error"] == "not_authed"
