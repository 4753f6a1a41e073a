"""Answering from Slack against the session's real servers: the Rasa server in this process
(livechat, inbox and Slack channels), the action server whose dispatcher posts to Slack, and the
Slack stand-in. Each test turns two-way Slack on through the saved settings (as the Settings
page would), with its own agents and Slack users."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.inbox.conversations import InboxConversations
from handoff_plugin.models import Agent
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.saved_settings import StoredSettings
from handoff_plugin.store.tables import slack_threads
from tests.integration.conftest import NotificationServers
from tests.integration.livechat.harness import RunningServer, WebchatVisitor
from tests.servers import eventually
from tests.slack_standin import CHANNEL_ID, Posted, SlackClient, SlackStandin, thread_reply

SECRET = "8f14e45fceea167a5a36dedd4bea2543"  # the Slack app's Signing Secret, for tests
PASSWORD = "correct horse battery staple"


def slack_user() -> str:
    return f"U{uuid.uuid4().hex[:10].upper()}"


@dataclass
class Thread:
    """An escalation's Slack thread, with the conversation behind it."""

    conversation_id: int
    ts: str
    standin: SlackStandin

    @property
    def first_message(self) -> Posted:
        posted = self.standin.message(self.ts)
        assert posted is not None
        return posted

    def lines(self) -> list[str]:
        return [m.text for m in self.standin.thread(self.ts)]

    async def shows(self, line: str, timeout: float = 30) -> list[str]:
        async def posted() -> list[str]:
            return self.lines() if line in self.lines() else []

        return await eventually(posted, f"{line!r} is posted in the thread", timeout)

    async def state_is(self, state: str, timeout: float = 30) -> None:
        async def shown() -> bool:
            return self.first_message.state_line == state

        await eventually(shown, f"the thread's first message shows {state!r}", timeout)


@dataclass
class TwoWaySlack:
    server: RunningServer
    standin: SlackStandin
    slack: SlackClient  # Slack calling the server, signed with SECRET
    ann: Agent  # linked explicitly (`handoff agent set-slack-user`)
    ann_user: str
    bob: Agent  # linked by the email of his Slack profile (users.info)
    bob_user: str

    @property
    def inbox(self) -> InboxConversations:
        """What an agent does in the inbox, on this server."""
        return InboxConversations(self.server.services.store, self.server.livechat)

    async def escalated_visitor(self, tab: WebchatVisitor) -> Thread:
        """`tab` asks for a person and leaves an email; its thread is started in Slack."""
        email = f"visitor-{uuid.uuid4().hex[:8]}@example.com"
        await tab.say("I want to talk to a human")
        assert any("What email address" in t for t in await tab.texts_until_quiet())
        await tab.say(email)
        assert any("passed your request" in t for t in await tab.texts_until_quiet())
        store = self.server.services.store

        async def started() -> tuple[int, str] | None:
            async with store.transaction() as tx:
                conversation = await ConversationQueries(tx).conversation_by_sender(tab.sender_id)
                assert conversation is not None
                row = (
                    await tx.conn.execute(
                        sa.select(slack_threads.c.ts).where(
                            slack_threads.c.conversation_id == conversation.id
                        )
                    )
                ).first()
            return (conversation.id, str(row.ts)) if row else None

        conversation_id, ts = await eventually(started, "the escalation's thread started", 60)
        thread = Thread(conversation_id, ts, self.standin)
        assert email in str(thread.first_message.blocks)
        assert thread.first_message.state_line == "Waiting for an agent"
        return thread

    async def reply(self, user: str, thread: Thread, text: str, **options: Any) -> Any:
        envelope = thread_reply(user, CHANNEL_ID, thread.ts, text)
        status, body = await self.slack.event(envelope, **options)
        assert status == 200, body
        return envelope


@pytest.fixture
async def two_way(
    livechat_server: RunningServer,
    notification_servers: NotificationServers,
    saved_settings: StoredSettings,
) -> AsyncIterator[TwoWaySlack]:
    standin = notification_servers.slack
    await saved_settings.save(
        {
            "slack": {
                "enabled": True,
                "bot_token": notification_servers.slack_token,
                "channel": "#support",
                "api_url": f"{standin.url}/api/",
                "timeout": 5,
                "signing_secret": SECRET,
            }
        }
    )

    async def applied() -> bool:  # this process reads saved settings at most a second late
        return (await livechat_server.services.settings.current()).slack.two_way

    await eventually(applied, "two-way Slack is on in the Rasa server")
    agents = AgentService(livechat_server.services.store)
    tag = uuid.uuid4().hex[:8]
    ann = await agents.add(f"ann-{tag}@support.test", "Ann", PASSWORD)
    ann_user = slack_user()
    await agents.set_slack_user(ann.email, ann_user)
    bob = await agents.add(f"bob-{tag}@support.test", "Bob", PASSWORD)
    bob_user = slack_user()
    standin.emails[bob_user] = bob.email.upper()  # Slack keeps the case people typed
    yield TwoWaySlack(
        livechat_server,
        standin,
        SlackClient(livechat_server.url, SECRET),
        ann,
        ann_user,
        bob,
        bob_user,
    )
    assert livechat_server.slack is not None
    await livechat_server.slack.drain()  # nothing of this test is still being handled
    standin.emails.pop(bob_user, None)
