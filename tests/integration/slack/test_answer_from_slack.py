"""The whole live chat held from Slack: a visitor in rasa-webchat (socket.io), the real Rasa
server and action server, the Slack stand-in, and Slack's signed requests."""

from __future__ import annotations

import time
from typing import Any

import pytest

from handoff_plugin.models import AgentRef
from handoff_plugin.store.queries.notes import NoteQueries
from tests.integration.livechat.harness import QUIET, WebchatVisitor, visitor
from tests.integration.slack.conftest import TwoWaySlack, slack_user
from tests.servers import eventually
from tests.slack_standin import CHANNEL_ID, thread_reply

pytestmark = pytest.mark.slow


async def texts_until(tab: WebchatVisitor, text: str, timeout: float = 30) -> list[str]:
    """Everything the visitor is shown until `text` (included)."""
    seen: list[str] = []
    while text not in seen:
        seen.append((await tab.next_bot(timeout)).get("text", ""))
    return seen


async def test_a_thread_reply_reaches_the_visitor_as_the_agent_and_the_answer_comes_back(
    two_way: TwoWaySlack,
) -> None:
    async with visitor(two_way.server.url) as tab:
        thread = await two_way.escalated_visitor(tab)

        await two_way.reply(two_way.ann_user, thread, "Hi, Ann here. How can I help?")
        message = await tab.next_bot(30)
        assert message["text"] == "Ann from our team has joined the chat."
        message = await tab.next_bot(30)
        assert message["text"] == "Hi, Ann here. How can I help?"
        assert message["metadata"]["agent_name"] == "Ann"  # the widget shows who answers

        await tab.say("My order never arrived <!channel>")
        lines = await thread.shows("*Visitor:* My order never arrived &lt;!channel&gt;")
        await thread.state_is("Live with Ann")
        # The thread holds the whole conversation, but never echoes what was written in it.
        assert "_Ann from our team has joined the chat._" in lines
        assert not any("How can I help?" in line for line in lines)

        # An answer from the inbox appears in the thread, marked with the agent's name.
        await two_way.server.livechat.send_agent_message(
            thread.conversation_id, AgentRef(str(two_way.ann.id), "Ann"), "Checking it now."
        )
        assert (await tab.next_bot(30))["text"] == "Checking it now."
        await thread.shows("*Ann (agent):* Checking it now.")


async def test_claim_and_end_live_chat_buttons_act_and_update_the_message(
    two_way: TwoWaySlack,
) -> None:
    async with visitor(two_way.server.url) as tab:
        thread = await two_way.escalated_visitor(tab)
        assert thread.first_message.buttons() == [
            "handoff_claim",
            "handoff_end",
            "handoff_open_in_inbox",
        ]
        value = str(thread.conversation_id)

        status, _ = await two_way.slack.click(
            two_way.bob_user, CHANNEL_ID, thread.ts, "handoff_claim", value
        )
        assert status == 200
        await thread.state_is("Claimed by Bob")  # Bob is known by his Slack profile's email
        inbox = two_way.inbox
        await inbox.release(two_way.bob, thread.conversation_id)  # done in the inbox: shown too
        await thread.state_is("Waiting for an agent")

        await two_way.reply(two_way.bob_user, thread, "Bob here, on it.")
        assert await texts_until(tab, "Bob here, on it.") == [
            "Bob from our team has joined the chat.",
            "Bob here, on it.",
        ]
        await thread.state_is("Live with Bob")

        status, _ = await two_way.slack.click(
            two_way.bob_user, CHANNEL_ID, thread.ts, "handoff_end", value
        )
        assert status == 200
        assert (await tab.next_bot(30))[
            "text"
        ] == "Bob has left the chat. You're back with Test Bot."
        await thread.state_is("Back to the bot")
        assert thread.first_message.buttons() == ["handoff_open_in_inbox"]
        assert await two_way.server.livechat.state_of(tab.sender_id) == "bot"


async def test_unsigned_wrongly_signed_and_stale_requests_are_refused_and_deliver_nothing(
    two_way: TwoWaySlack,
) -> None:
    async with visitor(two_way.server.url) as tab:
        thread = await two_way.escalated_visitor(tab)
        refused: dict[str, dict[str, Any]] = {
            "unsigned": {"signed": False},
            "wrong secret": {"secret": "not-the-signing-secret"},
            "stale": {"timestamp": int(time.time()) - 6 * 60},
            "from the future": {"timestamp": int(time.time()) + 6 * 60},
            "bad header": {"headers": {"X-Slack-Signature": "v0=" + "0" * 64}},
        }
        for case, options in refused.items():
            envelope = thread_reply(two_way.ann_user, CHANNEL_ID, thread.ts, f"forged: {case}")
            status, _ = await two_way.slack.event(envelope, **options)
            assert status == 401, case
            status, _ = await two_way.slack.click(
                two_way.ann_user, CHANNEL_ID, thread.ts, "handoff_claim",
                str(thread.conversation_id), **options,
            )  # fmt: skip
            assert status == 401, case

        await two_way.reply(two_way.ann_user, thread, "The signed one.")  # the same path works
        assert await texts_until(tab, "The signed one.") == [
            "Ann from our team has joined the chat.",
            "The signed one.",
        ]
        assert await tab.bot_messages_within(QUIET) == []
        assert thread.first_message.state_line != "Claimed by Ann"  # no forged click went through


async def test_a_retried_event_is_delivered_once(two_way: TwoWaySlack) -> None:
    async with visitor(two_way.server.url) as tab:
        thread = await two_way.escalated_visitor(tab)
        envelope = await two_way.reply(two_way.ann_user, thread, "Only once, please.")
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        status, _ = await two_way.slack.event(envelope, headers=retry)
        assert status == 200  # acknowledged, so Slack stops retrying
        status, _ = await two_way.slack.event(envelope, headers={**retry, "X-Slack-Retry-Num": "2"})
        assert status == 200

        await two_way.reply(two_way.ann_user, thread, "And this is next.")
        assert await texts_until(tab, "And this is next.") == [
            "Ann from our team has joined the chat.",
            "Only once, please.",
            "And this is next.",
        ]


async def test_a_note_and_an_unlinked_users_reply_never_reach_the_visitor(
    two_way: TwoWaySlack,
) -> None:
    stranger = slack_user()
    async with visitor(two_way.server.url) as tab:
        thread = await two_way.escalated_visitor(tab)
        await two_way.reply(two_way.ann_user, thread, "  NOTE: visitor sounds upset, be kind")
        await two_way.reply(stranger, thread, "Hello from someone the inbox does not know")
        edit = thread_reply(
            two_way.ann_user,
            CHANNEL_ID,
            thread.ts,
            "an edited text",
            subtype="message_changed",
        )
        assert (await two_way.slack.event(edit))[0] == 200
        bot = thread_reply(two_way.ann_user, CHANNEL_ID, thread.ts, "a bot", bot_id="B0BOT")
        assert (await two_way.slack.event(bot))[0] == 200
        await two_way.reply(two_way.ann_user, thread, "The real answer.")

        assert await texts_until(tab, "The real answer.") == [
            "Ann from our team has joined the chat.",
            "The real answer.",
        ]
        assert [
            e["user"] for e in two_way.standin.ephemerals if e.get("thread_ts") == thread.ts
        ] == [stranger]
        [told] = [e for e in two_way.standin.ephemerals if e["user"] == stranger]
        assert "not linked to an agent" in told["text"]
        assert f"set-slack-user <your inbox email> {stranger}" in told["text"]

        async def kept() -> list[str]:
            async with two_way.server.services.store.transaction() as tx:
                notes = await NoteQueries(tx).notes(thread.conversation_id)
            return [n.text for n in notes]

        assert await eventually(kept, "the note was kept") == ["visitor sounds upset, be kind"]


async def test_a_reply_to_a_chat_another_agent_handles_is_not_sent_and_says_who_has_it(
    two_way: TwoWaySlack,
) -> None:
    async with visitor(two_way.server.url) as tab:
        thread = await two_way.escalated_visitor(tab)
        inbox = two_way.inbox
        await inbox.claim(two_way.ann, thread.conversation_id)  # Ann took it in the inbox
        await thread.state_is("Claimed by Ann")

        await two_way.reply(two_way.bob_user, thread, "Bob jumping in")
        await two_way.reply(two_way.ann_user, thread, "Ann here.")
        assert await texts_until(tab, "Ann here.") == [
            "Ann from our team has joined the chat.",
            "Ann here.",
        ]
        [told] = [e for e in two_way.standin.ephemerals if e["user"] == two_way.bob_user]
        assert told["text"].startswith("Not sent to the visitor: Ann")
        assert told["thread_ts"] == thread.ts


async def test_a_transfer_in_the_inbox_shows_in_the_thread_with_the_new_agent(
    two_way: TwoWaySlack,
) -> None:
    async with visitor(two_way.server.url) as tab:
        thread = await two_way.escalated_visitor(tab)
        inbox = two_way.inbox
        await inbox.claim(two_way.ann, thread.conversation_id)
        await thread.state_is("Claimed by Ann")
        await inbox.transfer(two_way.ann, thread.conversation_id, two_way.bob.email, "yours")
        await thread.state_is("Claimed by Bob")
