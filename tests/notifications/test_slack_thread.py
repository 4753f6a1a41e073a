"""The escalation's Slack thread: its ts is kept with the notification, and the conversation's
lines go out through the outbox, in order, only once the thread exists."""

from __future__ import annotations

from collections.abc import Callable

from handoff_plugin.delivery.slack_thread import THREAD_KIND, ThreadMirror
from handoff_plugin.models import AgentRef, Author, ChatMessage, ConversationState, DeliveryStatus
from handoff_plugin.store.queries.slack import SlackQueries
from tests.notifications.conftest import Handoff, slack_section
from tests.servers import HttpServer

SECRET = "signing-secret-for-unit-tests"


def line(conversation_id: int, text: str, author: Author = Author.VISITOR) -> ChatMessage:
    agent = AgentRef("1", "Ann") if author is Author.AGENT else None
    return ChatMessage(conversation_id, 1, author, text, None, agent, "livechat", None)  # type: ignore[arg-type]


async def mirror(handoff: Handoff, conversation_id: int, *messages: ChatMessage) -> None:
    settings = await handoff.settings.current()
    async with handoff.store.transaction() as tx:
        for message in messages:
            await ThreadMirror().message(tx, settings, ConversationState.ESCALATED, message)


async def test_thread_lines_wait_for_the_thread_then_go_out_one_at_a_time_in_order(
    make_handoff: Callable[..., Handoff], slack: HttpServer
) -> None:
    handoff = make_handoff(slack=slack_section(slack, signing_secret=SECRET))
    outcome = await handoff.escalate()
    assert outcome.escalation is not None
    conversation_id = outcome.escalation.conversation_id
    await mirror(
        handoff,
        conversation_id,
        line(conversation_id, "first <@U123>"),
        line(conversation_id, "second", Author.AGENT),
        line(conversation_id, "third", Author.SYSTEM),
    )

    assert await handoff.deliver() == 1  # the notification only: the thread does not exist yet
    async with handoff.store.transaction() as tx:
        thread = await SlackQueries(tx).thread_of_escalation(outcome.escalation.id)
    assert thread is not None and thread.ts == "1700000000.000100"
    assert thread.channel == "C0HANDOFF"  # as Slack answered, not "#support"
    first = slack.requests[0].json()
    assert [b["action_id"] for b in first["blocks"][-1]["elements"]] == [
        "handoff_claim",
        "handoff_end",
        "handoff_open_in_inbox",
    ]

    for _ in range(3):
        assert await handoff.deliver() == 1  # one line of this escalation at a time
    assert await handoff.deliver() == 0
    posted = [r.json() for r in slack.requests[1:]]
    assert [p["text"] for p in posted] == [
        "*Visitor:* first &lt;@U123&gt;",
        "*Ann (agent):* second",
        "_third_",
    ]
    assert {(p["channel"], p["thread_ts"]) for p in posted} == {("C0HANDOFF", thread.ts)}
    rows = await handoff.deliveries(THREAD_KIND)
    assert [d.status for d in rows] == [DeliveryStatus.DELIVERED] * 3


async def test_lines_of_an_escalation_whose_message_failed_are_given_up(
    make_handoff: Callable[..., Handoff], slack: HttpServer
) -> None:
    from tests.servers import slack_error

    handoff = make_handoff(slack=slack_section(slack, signing_secret=SECRET))
    slack.answer(slack_error("channel_not_found"))
    outcome = await handoff.escalate()
    assert outcome.escalation is not None
    await mirror(handoff, outcome.escalation.conversation_id, line(1, "hello"))
    await handoff.deliver()
    await handoff.deliver()
    [row] = await handoff.deliveries(THREAD_KIND)
    assert row.status is DeliveryStatus.FAILED
    assert "never posted" in (row.last_error or "")
    assert len(slack.requests) == 1  # nothing was posted to a thread that does not exist


async def test_without_a_signing_secret_nothing_is_mirrored(
    make_handoff: Callable[..., Handoff], slack: HttpServer
) -> None:
    handoff = make_handoff(slack=slack_section(slack))
    outcome = await handoff.escalate()
    assert outcome.escalation is not None
    await mirror(handoff, outcome.escalation.conversation_id, line(1, "hello"))
    assert await handoff.deliveries(THREAD_KIND) == []
    await handoff.deliver()
    blocks = slack.requests[0].json()["blocks"]
    assert [b["action_id"] for b in blocks[-1]["elements"]] == ["handoff_open_in_inbox"]


async def test_a_ts_slack_answered_twice_keeps_the_first_thread_and_sends_nothing_again(
    make_handoff: Callable[..., Handoff], slack: HttpServer
) -> None:
    # The stand-in answers every post with the same ts, as a replaying proxy might.
    handoff = make_handoff(slack=slack_section(slack, signing_secret=SECRET))
    first, second = await handoff.escalate(), await handoff.escalate()
    assert first.escalation is not None and second.escalation is not None

    assert await handoff.deliver() == 2
    assert await handoff.deliver() == 0  # both are done: neither is posted again
    assert len(slack.requests) == 2
    rows = await handoff.deliveries("slack")
    assert [d.status for d in rows] == [DeliveryStatus.DELIVERED] * 2
    async with handoff.store.transaction() as tx:
        kept = [
            await SlackQueries(tx).thread_of_escalation(outcome.escalation.id)
            for outcome in (first, second)
            if outcome.escalation is not None
        ]
    assert [thread is not None for thread in kept].count(True) == 1
