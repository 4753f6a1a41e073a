"""`rasa run` as the demo starts it (scripts/run_rasa.sh): the HTTP API answers only with the
token, the server listens on loopback only, and CORS admits only the server's own origin."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest
import structlog

from handoff_plugin.rasa_bridge.api_guard import warn_if_rasa_api_unprotected
from tests.security.conftest import RASA_API_TOKEN, Server, own_non_loopback_address

pytestmark = pytest.mark.slow


async def api(server: Server, method: str, path: str, token: str | None, **kwargs: object) -> int:
    params = {} if token is None else {"token": token}
    async with aiohttp.ClientSession() as http:
        async with http.request(method, server.url + path, params=params, **kwargs) as answer:  # type: ignore[arg-type]
            return answer.status


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_transcripts_need_the_api_token(closed_rasa: Server, token: str | None) -> None:
    assert await api(closed_rasa, "GET", "/conversations/x/tracker", token) == 401
    assert await api(closed_rasa, "GET", "/conversations/x/tracker", RASA_API_TOKEN) == 200


async def test_the_model_cannot_be_replaced_without_the_api_token(
    closed_rasa: Server, trained_model: Path
) -> None:
    body = {"json": {"model_file": str(trained_model)}}
    assert await api(closed_rasa, "PUT", "/model", None, **body) == 401
    assert await api(closed_rasa, "PUT", "/model", "wrong-token", **body) == 401
    assert await api(closed_rasa, "PUT", "/model", RASA_API_TOKEN, **body) == 204


async def test_the_rest_channel_stays_usable_without_the_api_token(closed_rasa: Server) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{closed_rasa.url}/webhooks/rest/webhook",
            json={"sender": "rest-visitor", "message": "hello"},
        ) as answer:
            assert answer.status == 200
            assert (await answer.json())[0]["text"].startswith("Hi! I'm the assistant")


async def test_rasa_listens_on_loopback_only(closed_rasa: Server) -> None:
    with socket.create_connection(("127.0.0.1", closed_rasa.port), timeout=5):
        pass  # it is up, on loopback
    with pytest.raises(OSError):
        socket.create_connection((own_non_loopback_address(), closed_rasa.port), timeout=5)


async def preflight_allows(server: Server, origin: str) -> str | None:
    headers = {"Origin": origin, "Access-Control-Request-Method": "GET"}
    async with aiohttp.ClientSession() as http:
        async with http.options(f"{server.url}/conversations/x/tracker", headers=headers) as answer:
            return answer.headers.get("Access-Control-Allow-Origin")


async def test_cors_admits_the_servers_own_origin_only(closed_rasa: Server) -> None:
    own = f"http://localhost:{closed_rasa.port}"
    assert await preflight_allows(closed_rasa, own) == own  # the preflight is answered
    assert await preflight_allows(closed_rasa, "http://evil.example") is None


def test_the_closed_server_does_not_warn_about_its_api(closed_rasa: Server) -> None:
    log = closed_rasa.log.read_text()
    assert "handoff.security.rasa_api_checked" in log  # the check ran at start-up
    assert "handoff.security.rasa_api_unprotected" not in log
    assert RASA_API_TOKEN not in log


def test_an_api_without_authentication_is_reported_loudly() -> None:
    from rasa import server
    from sanic import Sanic

    Sanic.test_mode = True  # a second app named "rasa_server" in this process
    with structlog.testing.capture_logs() as logs:
        warn_if_rasa_api_unprotected(server.create_app(auth_token=None))
        warn_if_rasa_api_unprotected(server.create_app(auth_token="secret"))
        warn_if_rasa_api_unprotected(server.create_app(jwt_secret="secret", jwt_method="HS256"))
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("handoff.security.rasa_api_unprotected", "warning"),
        ("handoff.security.rasa_api_checked", "info"),
        ("handoff.security.rasa_api_checked", "info"),
    ]
