"""Which web pages may open the live-chat socket."""

from __future__ import annotations

from handoff_plugin.channels.livechat import _origin_policy

ENVIRON = {"wsgi.url_scheme": "https", "HTTP_HOST": "bot.example.com"}


def test_by_default_only_the_servers_own_pages_may_connect() -> None:
    allowed = _origin_policy(())
    assert allowed("https://bot.example.com", ENVIRON)
    assert not allowed("https://shop.example.com", ENVIRON)


def test_configured_origins_are_added_to_the_servers_own() -> None:
    allowed = _origin_policy(("https://shop.example.com",))
    assert allowed("https://shop.example.com", ENVIRON)
    assert allowed("https://bot.example.com", ENVIRON)
    assert not allowed("https://evil.example", ENVIRON)


def test_any_origin_only_when_asked_for() -> None:
    assert _origin_policy(("*",)) == "*"
