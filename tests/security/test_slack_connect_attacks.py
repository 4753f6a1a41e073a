"""Attacks on Connect to Slack against the running inbox and the Slack stand-in: the OAuth
login-CSRF (an attacker's own Slack answer pushed into an admin's browser, which would connect
the inbox to the attacker's workspace), hostile callback query strings, markup in Slack's
`error`, and a start from another site without the CSRF token. Each is refused, stores nothing,
and never becomes a server error."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from tests.integration.inbox.conftest import AgentClient, InboxServer
from tests.integration.inbox.test_slack_connect import (
    authorize,
    come_back,
    saved_token,
    start_connect,
)
from tests.integration.inbox.test_slack_connect import inbox as inbox  # noqa: F401
from tests.integration.inbox.test_slack_connect import slack_standin as slack_standin  # noqa: F401
from tests.slack_oauth_standin import SlackOAuthStandIn


async def test_an_attackers_slack_answer_pushed_into_an_admins_browser_connects_nothing(
    inbox: InboxServer,  # noqa: F811
    ann: AgentClient,
    make_client: Callable[[], AgentClient],
    slack_standin: SlackOAuthStandIn,  # noqa: F811
) -> None:
    await inbox.add_agent("mallory@example.com", "Mallory", role="admin")
    mallory = make_client()
    await mallory.login("mallory@example.com")
    # Mallory starts the flow, lets "Slack" answer, and keeps the link instead of following it
    trap = await authorize(mallory, await start_connect(mallory, slack_standin))
    status, page, _ = await come_back(ann, trap)  # Ann clicks it
    assert status == 403 and "not started by your login" in page
    assert slack_standin.called("oauth.v2.access") == [] and await saved_token(inbox) == ""


async def test_hostile_callback_query_strings_are_refused_not_server_errors(
    inbox: InboxServer,  # noqa: F811
    ann: AgentClient,
    slack_standin: SlackOAuthStandIn,  # noqa: F811
) -> None:
    callback = f"{inbox.url}/slack/oauth/callback"
    hostile = [
        "",
        "?code=abc",
        "?state=" + "A" * 5000 + "&code=abc",
        "?state=" + quote("n.³.1.mac") + "&code=abc",
        "?state=" + quote("n.1700000000.١.mac") + "&code=abc",
        "?state=" + quote("\x00.\x00.\x00.\x00") + "&code=abc",
        "?state=a.b.c.d&state=e.f.g.h&code=abc",
        "?state=" + quote("<script>alert(1)</script>"),
    ]
    for query in hostile:
        status, page, _ = await come_back(ann, callback + query)
        assert status in (400, 403), (query[:40], status)
        assert "Slack was not connected" in page and "<script>alert" not in page
    assert slack_standin.called("oauth.v2.access") == [] and await saved_token(inbox) == ""


async def test_markup_in_slacks_error_is_shown_as_text(
    inbox: InboxServer,  # noqa: F811
    ann: AgentClient,
    slack_standin: SlackOAuthStandIn,  # noqa: F811
) -> None:
    location = await authorize(ann, await start_connect(ann, slack_standin))
    state = location.split("state=", 1)[1].split("&", 1)[0]
    injected = f"{inbox.url}/slack/oauth/callback?state={state}&error=" + quote(
        "<img src=x onerror=alert(1)>"
    )
    status, page, _ = await come_back(ann, injected)
    assert status == 400 and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page
    assert await saved_token(inbox) == ""


async def test_connect_cannot_be_started_from_another_site(
    ann: AgentClient,
    slack_standin: SlackOAuthStandIn,  # noqa: F811
) -> None:
    for csrf in ("", "forged-token"):
        status, body = await ann.call("POST", "api/settings/slack/connect", csrf=csrf)
        assert status == 403 and "CSRF" in body["error"]
    async with ann.http.get(f"{ann.base}/api/settings/slack/connect") as response:
        assert response.status == 405  # no GET that a link or an <img> could trigger
    assert slack_standin.called("authorize") == []
