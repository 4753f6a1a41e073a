"""Typing indicators: what passes from a visitor's socket, what the widget gets, and how the
events travel between replicas."""

from __future__ import annotations

import pytest

from handoff_plugin.errors import InvalidInput
from handoff_plugin.livechat.broker import ConversationEvent
from handoff_plugin.livechat.typing import VisitorTypingGate, agent_typing_event, parse_typing
from handoff_plugin.models import AgentRef


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_typing_visitor_is_passed_on_once_then_refreshed_every_two_seconds() -> None:
    clock = Clock()
    gate = VisitorTypingGate(refresh=2.0, restart=0.5, monotonic=clock)
    assert gate.passes("sid", True)
    clock.now += 1.0
    assert not gate.passes("sid", True)  # still typing: nothing new
    clock.now += 1.0
    assert gate.passes("sid", True)  # the refresh keeps the agent's indicator up
    assert gate.passes("sid", False)
    assert not gate.passes("sid", False)  # nothing shown: nothing to clear
    assert not gate.passes("sid", True)  # a toggling socket waits half a second
    clock.now += 0.5
    assert gate.passes("sid", True)
    assert gate.passes("other", True)  # per socket


def test_a_stop_without_a_start_and_a_quiet_socket_leaving_clear_nothing() -> None:
    gate = VisitorTypingGate(monotonic=Clock())
    assert not gate.passes("sid", False)
    assert not gate.forget("sid")
    assert gate.passes("sid", True)
    assert gate.forget("sid")  # it was typing: its indicator must go
    assert gate.passes("sid", True)  # forgotten: a new start passes at once


@pytest.mark.parametrize("body", [None, [], {}, {"typing": "yes"}, {"typing": 1}, "true"])
def test_typing_reports_must_say_true_or_false(body: object) -> None:
    with pytest.raises(InvalidInput, match='"typing": true'):
        parse_typing(body)


def test_the_widget_gets_the_agents_name_and_picture_but_never_the_visitors_typing() -> None:
    ann = AgentRef("7", "Ann", "https://example.com/ann.png")
    event = ConversationEvent("typing", 1, "s", agent=ann, typing=True)
    assert agent_typing_event(event) == {
        "name": "Ann",
        "typing": True,
        "avatar_url": "https://example.com/ann.png",
    }
    plain = ConversationEvent("typing", 1, "s", agent=AgentRef("8", "Bob"), typing=False)
    assert agent_typing_event(plain) == {"name": "Bob", "typing": False}
    assert agent_typing_event(ConversationEvent("typing", 1, "s", typing=True)) is None


def test_typing_events_cross_replicas_unchanged() -> None:
    ann = AgentRef("7", "Ann", "https://x.test/a")
    for event in (
        ConversationEvent("typing", 3, "s", agent=ann, typing=True),
        ConversationEvent("typing", 3, "s", typing=False),
    ):
        assert ConversationEvent.from_dict(event.as_dict()) == event
    assert ConversationEvent.from_dict(ConversationEvent("lagged").as_dict()).typing is None
