"""One escalation through the real bot and action server notifies by email, Slack and webhook."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from handoff_plugin.webhooks import verify
from tests.integration.conftest import NotificationServers, Visitor
from tests.servers import wait_until

pytestmark = pytest.mark.slow


async def test_one_escalation_emails_posts_to_slack_and_calls_the_signed_webhook(
    agent: Any, notification_servers: NotificationServers
) -> None:
    servers = notification_servers
    email = f"gil-{uuid.uuid4().hex[:6]}@example.com"
    visitor = Visitor(agent, f"visitor-{uuid.uuid4().hex[:8]}", {"first_name": "Gil"})
    await visitor.texts("hello")
    await visitor.texts("I want to talk to a human")
    confirmed = await visitor.texts(email)
    assert any("passed your request to our team" in t for t in confirmed)

    def mails() -> list[Any]:
        return [m for m in servers.smtp.mails if m.message["Reply-To"] == email]

    def slack_posts() -> list[Any]:
        return [r for r in servers.slack.requests if email in r.body.decode()]

    def webhooks() -> list[Any]:
        return [r for r in servers.webhook.requests if email in r.body.decode()]

    await wait_until(lambda: mails() and slack_posts() and webhooks(), 10, "all three")

    [mail] = mails()
    assert mail.rcpt_tos == [servers.recipients]
    text = mail.message.get_body(("plain",)).get_content()
    assert "Test Bot: Visitor needs human assistance" in text
    assert "Visitor: I want to talk to a human" in text  # the transcript
    assert "http://inbox.test/webhooks/inbox/conversations/" in text

    [post] = slack_posts()
    assert post.headers["authorization"] == f"Bearer {servers.slack_token}"
    assert any(b["type"] == "actions" for b in post.json()["blocks"])

    [hook] = webhooks()
    assert verify(hook.body, servers.webhook_secret, hook.headers["x-signature-256"])
    body = json.loads(hook.body)
    assert body["event"] == "escalation.created"
    assert body["text"] == "I want to talk to a human"
    assert body["visitor"]["first_name"] == "Gil"
    assert body["chatbot"] == {"id": "test-bot", "name": "Test Bot"}
