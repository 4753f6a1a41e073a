"""Hostile bodies and query strings against a real in-process inbox server (hypothesis).

Every bad input gets a clear 4xx `{"error"}` answer (never a 500), the server keeps serving a
control request afterwards, and no stored message is lost or changed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.inbox.conftest import AgentClient, InboxServer

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # CI replays the same examples; run with --hypothesis-seed=random to explore
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text with the characters parsers trip over: null bytes, surrogate-free unicode, control chars.
hostile_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200),
    st.sampled_from(["\x00", "a\x00b", "<script>", "' OR 1=1 --", "%00", "../../etc/passwd"]),
    st.integers(1, 200_000).map(lambda n: "x" * n),  # up to 200 KB
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),
    max_leaves=20,
)


def shaped(keys: list[str]) -> st.SearchStrategy[Any]:
    """Bodies with the expected keys holding any value, or anything at all."""
    return st.one_of(
        st.fixed_dictionaries({}, optional={k: json_values for k in keys}), json_values
    )


bodies = {
    "login": shaped(["email", "password"]),
    "messages": shaped(["text"]),
    "settings": st.one_of(
        st.dictionaries(
            st.sampled_from(
                [
                    "escalations",
                    "email",
                    "slack",
                    "webhook",
                    "chatbot",
                    "inbox",
                    "localization",
                    "security",
                    "nope",
                ]
            ),
            st.one_of(json_values, st.dictionaries(st.text(max_size=20), json_values, max_size=4)),
            max_size=3,
        ),
        json_values,
    ),
    # Values that are not http(s) URLs: the fuzzer must not send webhooks off the machine.
    "webhook": shaped(["url"]).filter(lambda b: "://" not in json.dumps(b)),
}
raw_bodies = st.one_of(
    st.binary(max_size=300), st.sampled_from([b"{", b"[1,", b'{"text": "\xff"}', b"\x00" * 10])
)


async def stored(inbox: InboxServer, conversation_id: int) -> list[Any]:
    return [m.as_json() for m in await inbox.livechat.messages_after(conversation_id, 0)]


async def raw_call(client: AgentClient, method: str, path: str, data: bytes) -> tuple[int, Any]:
    headers = {"X-CSRF-Token": client.csrf, "Content-Type": "application/json"}
    async with client.http.request(
        method, f"{client.base}/{path}", data=data, headers=headers
    ) as response:
        text = await response.text()
        return response.status, (
            json.loads(text) if response.content_type == "application/json" else text
        )


def assert_clear_answer(status: int, body: Any) -> None:
    assert status < 500, body
    if status >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]


@pytest.fixture
async def target(inbox: InboxServer, ann: AgentClient) -> dict[str, Any]:
    conversation = await inbox.escalate("zoe", "I need a person")
    await ann.call("POST", f"api/conversations/{conversation.id}/messages", {"text": "Ann here"})
    return {"id": conversation.id, "before": await stored(inbox, conversation.id)}


async def control(inbox: InboxServer, ann: AgentClient, target: dict[str, Any]) -> None:
    status, body = await ann.call("GET", f"api/conversations/{target['id']}")
    assert status == 200 and body["conversation"]["id"] == target["id"]
    assert await stored(inbox, target["id"]) == target["before"]


@FUZZ
@given(endpoint=st.sampled_from(sorted(bodies)), data=st.data())
async def test_hostile_json_bodies_get_a_clear_error_and_lose_nothing(
    inbox: InboxServer, ann: AgentClient, target: dict[str, Any], endpoint: str, data: Any
) -> None:
    body = data.draw(bodies[endpoint])
    other = 999_999  # bodies for a conversation other than the control one
    method, path = {
        "login": ("POST", "api/login"),
        "messages": ("POST", f"api/conversations/{other}/messages"),
        "settings": ("PUT", "api/settings"),
        "webhook": ("POST", "api/settings/webhook/test"),
    }[endpoint]
    assert_clear_answer(*await ann.call(method, path, body))
    assert_clear_answer(*await ann.call("POST", f"api/conversations/{other}/end", body))
    await control(inbox, ann, target)


@FUZZ
@given(
    path=st.sampled_from(
        [
            "api/login",
            "api/settings",
            "api/settings/webhook/test",
            "api/conversations/999999/messages",
            "api/conversations/999999/end",
        ]
    ),
    data=raw_bodies,
)
async def test_bodies_that_are_not_json_get_a_clear_error(
    inbox: InboxServer, ann: AgentClient, target: dict[str, Any], path: str, data: bytes
) -> None:
    method = "PUT" if path == "api/settings" else "POST"
    assert_clear_answer(*await raw_call(ann, method, path, data))
    await control(inbox, ann, target)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["status", "q", "cursor", "limit", "before_seq"]),
        st.one_of(hostile_text.filter(lambda t: len(t) < 5000), st.integers().map(str)),
        max_size=4,
    ),
    which=st.sampled_from(["list", "one"]),
)
async def test_hostile_query_strings_get_a_clear_error(
    inbox: InboxServer,
    ann: AgentClient,
    target: dict[str, Any],
    params: dict[str, str],
    which: str,
) -> None:
    path = "api/conversations" if which == "list" else f"api/conversations/{target['id']}"
    async with ann.http.get(f"{ann.base}/{path}", params=params) as response:
        body = await response.json() if response.content_type == "application/json" else None
        assert_clear_answer(response.status, body)
    await control(inbox, ann, target)


@FUZZ
@given(
    ident=st.text(min_size=1, max_size=30).filter(lambda t: "/" not in t and t not in (".", ".."))
)
async def test_hostile_conversation_ids_in_the_path_get_a_clear_error(
    inbox: InboxServer, ann: AgentClient, target: dict[str, Any], ident: str
) -> None:
    async with ann.http.get(f"{ann.base}/api/conversations/{quote(ident, safe='')}") as response:
        body = await response.json() if response.content_type == "application/json" else None
        assert_clear_answer(response.status, body)
    await control(inbox, ann, target)


@pytest.mark.parametrize("query", ["?before_seq=%C2%B3", "?limit=%C2%B2", ""])
async def test_unicode_digits_in_a_transcript_page_or_path_are_refused_not_a_server_error(
    inbox: InboxServer, ann: AgentClient, target: dict[str, Any], query: str
) -> None:
    # Found by the fuzzer: "³".isdigit() is true but int("³") fails (before_seq was a 500).
    path = f"api/conversations/{target['id']}{query}" if query else "api/conversations/%C2%B3"
    status, body = await ann.call("GET", path)
    assert status in (400, 404) and body["error"]


async def test_a_search_with_a_null_character_is_refused_not_a_server_error(
    inbox: InboxServer, ann: AgentClient, target: dict[str, Any]
) -> None:
    # Found by the fuzzer: SQLite's trigram index answered "unterminated string" (a 500).
    status, body = await ann.call("GET", "api/conversations?q=abc%00def")
    assert status == 400 and "null character" in body["error"]
    await control(inbox, ann, target)
