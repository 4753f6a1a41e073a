"""Slack notifications, posted to a local stand-in for Slack's Web API (HANDOFF_SLACK_API_URL)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from handoff_plugin.models import DeliveryStatus
from tests.conftest import FakeClock
from tests.notifications.conftest import SLACK_TOKEN, Handoff, slack_section
from tests.servers import Answer, HttpServer, slack_error


async def test_slack_gets_a_block_kit_message_posted_with_the_bot_token(
    make_handoff: Callable[..., Handoff], slack: HttpServer
) -> None:
    handoff = make_handoff(
        slack=slack_section(slack), inbox={"public_url": "https://support.shop.test/inbox"}
    )
    outcome = await handoff.escalate()
    await handoff.deliver()
    assert outcome.escalation is not None

    [request] = slack.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    sent = request.json()
    assert sent["channel"] == "#support"
    assert "Visitor needs human assistance" in sent["text"]
    blocks = {block["type"]: block for block in sent["blocks"]}
    assert blocks["header"]["text"]["text"] == "Assistant: Visitor needs human assistance"
    [visitor] = [b for b in sent["blocks"] if "fields" in b]
    fields = [field["text"] for field in visitor["fields"]]
    assert fields == ["Visitor: Ann Lee", "Email: ann@example.com", "Phone: +1 555 0100"]
    message = [b for b in sent["blocks"] if b["type"] == "section" and "text" in b][0]
    assert message["text"]["text"] == "I want to talk to a human"
    [button] = blocks["actions"]["elements"]
    assert button["text"]["text"] == "Open in inbox"
    link = f"https://support.shop.test/inbox/conversations/{outcome.escalation.conversation_id}"
    assert button["url"] == link
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED


async def test_visitor_text_cannot_ping_the_channel_or_inject_links(
    make_handoff: Callable[..., Handoff], slack: HttpServer
) -> None:
    handoff = make_handoff(slack=slack_section(slack))
    await handoff.escalate(message="<!channel> @here see <https://evil.test|your invoice> & pay")
    await handoff.deliver()

    sent = slack.requests[0].json()
    everything = json.dumps(sent, ensure_ascii=False)
    assert "<!channel>" not in everything
    assert "<https://evil.test" not in everything
    assert "@here" not in everything
    message = [b for b in sent["blocks"] if b["type"] == "section" and "text" in b][0]["text"]
    assert message["type"] == "plain_text"  # never parsed as markup
    assert message["text"] == (
        "&lt;!channel&gt; @\u200bhere see &lt;https://evil.test|your invoice&gt; &amp; pay"
    )


async def test_a_rate_limited_post_waits_as_long_as_slack_asks(
    make_handoff: Callable[..., Handoff], slack: HttpServer, clock: FakeClock
) -> None:
    handoff = make_handoff(slack=slack_section(slack))
    slack.answer(slack_error("ratelimited", 429, {"Retry-After": "30"}))
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_response_code == 429
    clock.advance(29)
    assert await handoff.deliver() == 0
    clock.advance(1)
    assert await handoff.deliver() == 1
    assert len(slack.requests) == 2
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        ("not_in_channel", "invite the bot to the channel"),
        ("channel_not_found", "check HANDOFF_SLACK_CHANNEL"),
        ("invalid_auth", "Bot User OAuth Token"),
        ("account_inactive", "reinstall the app"),
        ("token_revoked", "reinstall the app"),
    ],
)
async def test_a_configuration_error_is_not_retried_and_says_how_to_fix_it(
    make_handoff: Callable[..., Handoff],
    slack: HttpServer,
    clock: FakeClock,
    error: str,
    fix: str,
) -> None:
    handoff = make_handoff(slack=slack_section(slack))
    slack.answer(slack_error(error))
    await handoff.escalate()
    with capture_logs() as logs:
        await handoff.deliver()
    clock.advance(24 * 3600)
    await handoff.deliver()

    assert len(slack.requests) == 1
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_error is not None
    assert error in delivery.last_error and fix in delivery.last_error
    [failed] = [log for log in logs if log["event"] == "handoff.slack.delivery_failed"]
    assert fix in failed["error"]
    assert SLACK_TOKEN not in repr(logs)


async def test_a_slack_outage_is_retried(
    make_handoff: Callable[..., Handoff], slack: HttpServer, clock: FakeClock
) -> None:
    handoff = make_handoff(slack=slack_section(slack))
    slack.answer(Answer(503, b"<html>upstream unavailable</html>", {"Content-Type": "text/html"}))
    await handoff.escalate()
    await handoff.deliver()
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_response_code == 503

    clock.advance(10)
    await handoff.deliver()
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED
