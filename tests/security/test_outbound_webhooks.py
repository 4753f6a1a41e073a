"""Attacks on outbound webhooks through the running inbox server (and the notifier it uses): huge
URLs, requests aimed at loopback, private and metadata addresses (SSRF), forged or replayed
signatures, and a test event that would lend the saved secret's signature to any URL.

No test sends traffic beyond loopback: every aiohttp connection is checked by `connections`,
which refuses (and records) anything that is not 127.0.0.1 or ::1 before a socket is opened."""

from __future__ import annotations

import base64
import ipaddress
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import aiohttp.connector
import pytest
import standardwebhooks

from handoff_plugin.clock import utc_now
from handoff_plugin.config.settings import load_settings
from handoff_plugin.delivery.notifiers.base import Notification, Outcome
from handoff_plugin.delivery.notifiers.webhook import WebhookNotifier
from handoff_plugin.delivery.outbound import AddressRefused, GuardedTransport
from handoff_plugin.delivery.transports import AiohttpTransport, MemoryHttpTransport
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.store import Store
from handoff_plugin.webhooks import verify
from tests.integration.inbox.conftest import AgentClient, InboxServer, start_inbox
from tests.servers import HttpServer

SECRET = "shared-secret"
HUGE_URL = "https://example.com/" + "a" * 250_000
SETTING = "webhook.allow_private_addresses"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every connection aiohttp attempts in this process; only loopback ones go ahead."""
    attempts: list[tuple[str, int]] = []
    real = aiohttp.connector.TCPConnector._wrap_create_connection

    async def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        host, port = str(args[1]), int(args[2])
        attempts.append((host, port))
        if not ipaddress.ip_address(host).is_loopback:
            raise OSError(f"test tripwire: no connection to {host} (not loopback)")
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.connector.TCPConnector, "_wrap_create_connection", checked)
    yield attempts


def outbound(connections: list[tuple[str, int]], receiver: HttpServer) -> list[tuple[str, int]]:
    """The attempts to reach the receiver or any address beyond loopback (not the test's own
    requests to the inbox server)."""
    return [
        (host, port)
        for host, port in connections
        if port == receiver.port or not ipaddress.ip_address(host).is_loopback
    ]


@pytest.fixture
def receiver() -> Iterator[HttpServer]:
    server = HttpServer().start()
    yield server
    server.stop()


@pytest.fixture
async def inbox_of(store: Store, database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """`await inbox_of(**webhook_settings)`: a running inbox server, and agent Ann logged in."""
    made: list[tuple[InboxServer, AgentClient]] = []

    async def make(**webhook: Any) -> AgentClient:
        server = await start_inbox(
            store, [{"database": {"url": database_url}}, {"webhook": webhook}]
        )
        await server.add_agent()
        client = AgentClient(server.url)
        made.append((server, client))
        await client.login()
        return client

    yield make
    for server, client in made:
        await client.close()
        await server.stop()


async def test_a_250_kb_webhook_url_is_refused_at_once_naming_the_field(
    inbox_of: Callable[..., Any],
) -> None:
    ann = await inbox_of()
    status, body = await ann.call("POST", "api/settings/webhook/test", {"url": HUGE_URL})
    assert status == 400
    assert body["field"] == "webhook.url"
    assert "at most 2048" in body["error"] and len(body["error"]) < 300  # not echoed back
    status, body = await ann.call("PUT", "api/settings", {"webhook": {"url": HUGE_URL}})
    assert status == 400
    assert body["field"] == "webhook.url"
    assert "at most 2048" in body["error"] and len(body["error"]) < 500
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"HANDOFF_WEBHOOK_URL": HUGE_URL})
    assert refused.value.field == "webhook.url" and len(str(refused.value)) < 500


def loopback_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/hook",
        f"http://localhost:{port}/hook",  # a host name that resolves to 127.0.0.1
        f"http://[::1]:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped IPv6
        f"http://0.0.0.0:{port}/hook",
    ]


async def test_the_test_webhook_refuses_loopback_private_and_metadata_addresses(
    inbox_of: Callable[..., Any], receiver: HttpServer, connections: list[tuple[str, int]]
) -> None:
    ann = await inbox_of()  # allow_private_addresses: off, the default
    urls = [*loopback_urls(receiver.port), "http://10.0.0.1/hook", "http://169.254.169.254/latest"]
    for url in urls:
        status, body = await ann.call("POST", "api/settings/webhook/test", {"url": url})
        assert status == 200, body
        assert (body["delivered"], body["status"]) == (False, None), url
        assert SETTING in body["error"], body["error"]  # says which setting would allow it
        if "localhost" in url:
            assert "localhost resolves to 127.0.0.1, which is a loopback address" in body["error"]
    assert outbound(connections, receiver) == []  # refused before any connection was attempted
    assert receiver.requests == []


async def test_the_same_receiver_gets_the_test_event_once_private_addresses_are_allowed(
    inbox_of: Callable[..., Any], receiver: HttpServer, connections: list[tuple[str, int]]
) -> None:
    ann = await inbox_of(allow_private_addresses=True)
    for url in loopback_urls(receiver.port)[:2]:  # the receiver listens on 127.0.0.1
        _, body = await ann.call("POST", "api/settings/webhook/test", {"url": url})
        assert body["delivered"] is True, body
    assert len(receiver.requests) == 2
    assert outbound(connections, receiver) == [("127.0.0.1", receiver.port)] * 2


async def test_a_host_name_is_refused_if_any_of_its_addresses_is_private() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.1"]  # a public answer does not hide a private one

    memory = MemoryHttpTransport()
    guarded = GuardedTransport(memory, resolve=resolve)
    with pytest.raises(AddressRefused, match="resolves to 10.0.0.1, which is a private address"):
        await guarded.post("https://hooks.example/in", body=b"{}", headers={}, timeout=1)
    assert memory.requests == []  # nothing was sent


async def test_the_connection_goes_to_the_checked_address_not_a_second_dns_answer(
    receiver: HttpServer,
) -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a rebinding DNS server's two answers

    async def resolve(host: str, port: int) -> list[str]:
        return next(answers)

    memory = MemoryHttpTransport()
    await GuardedTransport(memory, resolve=resolve).post(
        "https://hooks.example/in", body=b"{}", headers={}, timeout=1
    )
    [sent] = memory.requests
    assert sent.addresses == ("93.184.216.34",)  # the transport is told the one address checked
    # ... and the real transport connects to exactly that address, never asking DNS again:
    reply = await AiohttpTransport().post(
        f"http://receiver.invalid:{receiver.port}/hook",
        body=b"{}",
        headers={},
        timeout=5,
        addresses=["127.0.0.1"],
    )
    assert reply.status == 200
    assert receiver.requests[0].headers["host"] == f"receiver.invalid:{receiver.port}"


async def test_a_saved_webhook_to_a_private_address_fails_for_good_naming_the_setting(
    make_settings: Callable[..., Any], receiver: HttpServer, connections: list[tuple[str, int]]
) -> None:
    for url in (f"http://localhost:{receiver.port}/hook", "http://169.254.169.254/latest"):
        settings = make_settings(webhook={"enabled": True, "url": url, "secret": SECRET})
        result = await WebhookNotifier(settings.webhook).send(Notification({}, "msg_1"))
        assert result.outcome is Outcome.FAILED  # permanent: never retried
        assert result.detail is not None and SETTING in result.detail
    assert outbound(connections, receiver) == [] and receiver.requests == []


def notifier(receiver: HttpServer, clock: Callable[[], Any] = utc_now, **webhook: Any) -> Any:
    settings = load_settings(
        {},
        overrides={
            "webhook": {"url": f"{receiver.url}/hook", "allow_private_addresses": True, **webhook}
        },
    )
    return WebhookNotifier(settings.webhook, clock=clock)


async def test_a_standard_webhooks_receiver_verifies_the_signature(receiver: HttpServer) -> None:
    key = base64.b64encode(b"a 24 byte secret, random").decode()
    for secret, receiver_key in ((SECRET, SECRET.encode()), (f"whsec_{key}", f"whsec_{key}")):
        receiver.reset()
        await notifier(receiver, secret=secret).send(Notification({"event": "x"}, "msg_2abc"))
        [request] = receiver.requests
        assert standardwebhooks.Webhook(receiver_key).verify(request.body, request.headers) == {
            "event": "x"
        }
        assert verify(request.body, secret, headers=request.headers)
    # The documented X-Signature-256 is still there, as it was (key: the secret's UTF-8 bytes).
    assert verify(request.body, f"whsec_{key}", request.headers["x-signature-256"])


async def test_a_receiver_rejects_a_replayed_request_with_an_old_timestamp(
    receiver: HttpServer,
) -> None:
    def ten_minutes_ago() -> Any:
        return utc_now() - timedelta(minutes=10)

    await notifier(receiver, ten_minutes_ago, secret=SECRET).send(Notification({}, "msg_3"))
    [request] = receiver.requests
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="too old"):
        standardwebhooks.Webhook(SECRET.encode()).verify(request.body, request.headers)
    assert not verify(request.body, SECRET, headers=request.headers)  # 5 min tolerance
    assert verify(request.body, SECRET, headers=request.headers, tolerance=3600)
    forged = {**request.headers, "webhook-timestamp": str(int(time.time()))}  # made fresh again
    assert not verify(request.body, SECRET, headers=forged)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET.encode()).verify(request.body, forged)


async def test_a_receiver_with_the_previous_secret_still_verifies_during_rotation(
    receiver: HttpServer,
) -> None:
    await notifier(receiver, secret="new-secret", previous_secrets="old-secret").send(
        Notification({}, "msg_4")
    )
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in ("new-secret", "old-secret"):
        standardwebhooks.Webhook(secret.encode()).verify(request.body, request.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(b"other-secret").verify(request.body, request.headers)


async def test_a_test_event_to_an_unsaved_url_is_not_signed_with_the_saved_secret(
    inbox_of: Callable[..., Any], receiver: HttpServer
) -> None:
    ann = await inbox_of(allow_private_addresses=True)
    saved = f"{receiver.url}/saved"
    await ann.call("PUT", "api/settings", {"webhook": {"url": saved, "secret": SECRET}})
    _, body = await ann.call("POST", "api/settings/webhook/test")  # the saved URL: signed
    assert body["signed"] is True
    _, body = await ann.call("POST", "api/settings/webhook/test", {"url": f"{receiver.url}/x"})
    assert (body["delivered"], body["signed"]) == (True, False)
    assert "not the saved webhook.url" in body["unsigned_reason"]
    signed, unsaved = receiver.requests
    assert verify(signed.body, SECRET, signed.headers["x-signature-256"])
    assert "x-signature-256" not in unsaved.headers
    assert "webhook-signature" not in unsaved.headers
    assert not verify(unsaved.body, SECRET, headers=unsaved.headers)
