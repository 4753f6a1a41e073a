"""Visitor limits are keyed by what a visitor cannot mint for free: its address."""

from __future__ import annotations

import pytest

from handoff_plugin.config.settings import LivechatSettings, build_settings
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.livechat.limits import VisitorLimits, client_address
from handoff_plugin.models import short_id


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limits(clock: Clock, **values: int) -> VisitorLimits:
    return VisitorLimits(LivechatSettings(**values), clock=clock)


def test_an_address_opens_only_so_many_sockets_and_a_closed_one_frees_its_place() -> None:
    visitor = limits(Clock(), sockets_per_address=2)
    assert visitor.socket_opened("s1", "203.0.113.1") is None
    assert visitor.socket_opened("s2", "203.0.113.1") is None
    refused = visitor.socket_opened("s3", "203.0.113.1")
    assert refused is not None and refused.code == "too_many_sockets"
    assert visitor.socket_opened("s4", "198.51.100.7") is None  # another address
    visitor.socket_closed("s1")
    assert visitor.socket_opened("s5", "203.0.113.1") is None


def test_new_sessions_per_address_are_limited_per_minute() -> None:
    clock = Clock()
    visitor = limits(clock, sessions_per_address_per_minute=3)
    visitor.socket_opened("s1", "203.0.113.1")
    visitor.socket_opened("other", "198.51.100.7")
    assert [visitor.session_minted("s1") for _ in range(3)] == [None, None, None]
    refused = visitor.session_minted("s1")
    assert refused is not None and refused.code == "too_many_sessions"
    assert refused.retry_after and refused.retry_after > 0
    assert visitor.session_minted("other") is None
    clock.now += 20  # a minute brings back three: 20 s brings one
    assert visitor.session_minted("s1") is None


def test_fresh_sessions_do_not_reset_a_sockets_or_an_addresses_message_limit() -> None:
    visitor = limits(Clock(), rate_limit_burst=2, rate_limit_per_address_burst=3)
    visitor.socket_opened("s1", "203.0.113.1")
    visitor.socket_opened("s2", "203.0.113.1")
    assert visitor.message("s1", "session-a") is None
    assert visitor.message("s1", "session-b") is None
    throttled = visitor.message("s1", "session-c")  # the socket's bucket is empty
    assert throttled is not None and throttled.code == "rate_limited"
    assert visitor.message("s2", "session-d") is None  # the address's third
    throttled = visitor.message("s2", "session-e")  # the address's bucket is empty
    assert throttled is not None and throttled.retry_after


def test_a_refused_message_takes_nothing_from_the_other_limits() -> None:
    visitor = limits(Clock(), rate_limit_burst=1, rate_limit_per_address_burst=2)
    visitor.socket_opened("s1", "203.0.113.1")
    visitor.socket_opened("s2", "203.0.113.1")
    assert visitor.message("s1", "a") is None
    assert visitor.message("s1", "a") is not None  # refused by the session and socket
    assert visitor.message("s2", "b") is None  # the address still had its second


def test_without_a_trusted_header_the_peer_address_counts() -> None:
    assert client_address("127.0.0.1", ["203.0.113.9"], "") == "127.0.0.1"
    assert client_address(None, [], "") == "unknown"


def test_behind_a_proxy_the_right_most_address_of_the_header_counts() -> None:
    # The client sent "1.2.3.4" itself; the proxy appended the address it saw.
    header = ["1.2.3.4, 203.0.113.9"]
    assert client_address("10.0.0.2", header, "X-Forwarded-For") == "203.0.113.9"
    assert client_address("10.0.0.2", ["1.2.3.4", "203.0.113.9 "], "X-Forwarded-For") == (
        "203.0.113.9"
    )
    assert client_address("10.0.0.2", [], "X-Forwarded-For") == "10.0.0.2"


def test_the_trusted_header_must_be_a_header_name() -> None:
    with pytest.raises(ConfigurationError, match="livechat.trusted_proxy_header"):
        build_settings({"livechat": {"trusted_proxy_header": "X-Forwarded-For: 1.2.3.4"}})
    assert (
        build_settings(
            {"livechat": {"trusted_proxy_header": " X-Real-IP "}}
        ).livechat.trusted_proxy_header
        == "X-Real-IP"
    )


def test_logs_show_a_short_prefix_of_a_sender_id() -> None:
    assert short_id("0123456789abcdef0123") == "01234567\u2026"
    assert short_id("ann") == "ann"
    assert short_id(None) == ""
