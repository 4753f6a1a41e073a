"""`rasa run` with the reference credentials.yml, as the demo starts it: Slack's endpoints exist,
and without `slack.signing_secret` they refuse everything, however it is signed. (With a secret,
unsigned, wrongly signed, stale and retried requests: tests/integration/slack.)"""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.security.conftest import Server
from tests.servers import eventually
from tests.slack_standin import button_click, signed_headers, thread_reply

pytestmark = pytest.mark.slow


async def post(server: Server, path: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/webhooks/slack/{path}", data=body, headers=headers
        ) as r:
            return r.status


@pytest.mark.parametrize("path", ["events", "interactions"])
async def test_without_a_signing_secret_every_slack_request_is_refused(
    closed_rasa: Server, path: str
) -> None:
    if path == "events":
        body, kind = json.dumps(thread_reply("U1", "C1", "1.1", "hi")).encode(), "application/json"
    else:
        body = button_click("U1", "C1", "1.1", "handoff_claim", "1")
        kind = "application/x-www-form-urlencoded"
    for secret in ("", "any-guess"):  # an empty secret would make every signature "valid"
        assert (
            await post(closed_rasa, path, body, signed_headers(secret, body, content_type=kind))
            == 503
        )
    challenge = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    assert await post(closed_rasa, "events", challenge, {"Content-Type": "application/json"}) == 503


async def test_an_oversized_slack_request_is_refused_before_anything_else(
    closed_rasa: Server,
) -> None:
    body = b"{" + b" " * (300 * 1024) + b"}"
    assert await post(closed_rasa, "events", body, {"Content-Type": "application/json"}) == 413
    assert await post(closed_rasa, "events", b"{}", {"Content-Type": "application/json"}) == 503


async def test_the_missing_secret_is_reported_once_with_what_to_set(closed_rasa: Server) -> None:
    for _ in range(2):
        assert await post(closed_rasa, "events", b"{}", {"Content-Type": "application/json"}) == 503

    async def reported() -> str:
        log = closed_rasa.log.read_text()
        return log if "handoff.slack.not_configured" in log else ""

    log = await eventually(reported, "the missing secret is logged")
    assert log.count("handoff.slack.not_configured") == 1
    assert "HANDOFF_SLACK_SIGNING_SECRET" in log
