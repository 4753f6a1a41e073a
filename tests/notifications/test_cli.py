"""`handoff deliveries` and `handoff webhook test`, run as a user would (env vars, exit codes)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from handoff_plugin.cli import main
from handoff_plugin.models import DeliveryStatus
from handoff_plugin.webhooks import verify
from tests.conftest import FakeClock
from tests.notifications.conftest import WEBHOOK_SECRET, Handoff, webhook_section
from tests.servers import Answer, HttpServer


@pytest.fixture(autouse=True)
def handoff_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    for name in list(os.environ):
        if name.startswith("HANDOFF_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HANDOFF_DATABASE_URL", database_url)


async def handoff_cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_deliveries_lists_recent_deliveries_and_their_state(
    make_handoff: Callable[..., Handoff],
    webhook: HttpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(503, b"maintenance"))
    await handoff.escalate()
    await handoff.escalate()
    await handoff.deliver()
    capsys.readouterr()

    assert await handoff_cli("deliveries") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["ID", "ESCALATION", "KIND", "STATUS", "TRIES"]
    rows = [line.split()[:5] for line in lines[1:]]
    assert [row[:3] for row in rows] == [["2", "2", "webhook"], ["1", "1", "webhook"]]
    assert sorted(row[3] for row in rows) == ["delivered", "pending"]  # one got the 503
    assert "HTTP 503 Service Unavailable: maintenance" in "\n".join(lines)


async def test_deliveries_retry_queues_a_failed_delivery_again(
    make_handoff: Callable[..., Handoff],
    webhook: HttpServer,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(404, b"no such hook"))
    await handoff.escalate()
    await handoff.deliver()
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.FAILED

    assert await handoff_cli("deliveries", "retry", str(delivery.id)) == 0
    assert "queued again" in capsys.readouterr().out
    clock.now = datetime.now(timezone.utc)  # the command ran on the real clock
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert len(webhook.requests) == 2
    assert await handoff_cli("deliveries", "show", str(delivery.id)) == 0
    shown = capsys.readouterr().out
    assert "#1" in shown and "failed [404]" in shown
    assert "#2" in shown and "delivered [200]" in shown


async def test_retrying_an_unknown_delivery_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert await handoff_cli("db", "upgrade") == 0
    assert await handoff_cli("deliveries", "retry", "99") == 2
    assert "there is no delivery 99" in capsys.readouterr().err


async def test_webhook_test_sends_a_marked_signed_event_and_prints_the_answer(
    webhook: HttpServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", f"{webhook.url}/hooks/handoff")
    monkeypatch.setenv("HANDOFF_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("HANDOFF_WEBHOOK_SECRET", WEBHOOK_SECRET)
    webhook.answer(Answer(202, b"thanks, got it"))

    assert await handoff_cli("webhook", "test") == 0

    [request] = webhook.requests
    body = json.loads(request.body)
    assert body["event"] == "webhook.test"
    assert "TEST event" in body["title"]
    assert type(body["visitor"]["id"]) is int and type(body["conversation"]["id"]) is int
    assert verify(request.body, WEBHOOK_SECRET, request.headers["x-signature-256"])
    printed = capsys.readouterr().out
    assert "HTTP 202 Accepted" in printed
    assert "thanks, got it" in printed
    assert WEBHOOK_SECRET not in printed


async def test_webhook_test_reports_a_failing_receiver(
    webhook: HttpServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", f"{webhook.url}/hooks/handoff")
    monkeypatch.setenv("HANDOFF_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    webhook.answer(Answer(401, b"bad signature"))
    assert await handoff_cli("webhook", "test") == 1
    printed = capsys.readouterr().out
    assert "HTTP 401 Unauthorized" in printed and "would NOT be retried" in printed


async def test_webhook_enable_undoes_the_off_that_a_410_saved(
    make_handoff: Callable[..., Handoff],
    webhook: HttpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handoff = make_handoff(webhook=webhook_section(webhook))
    webhook.answer(Answer(410))
    await handoff.escalate()
    await handoff.deliver()
    assert (await handoff.settings.current()).webhook.enabled is False
    monkeypatch.setenv("HANDOFF_WEBHOOK_ENABLED", "true")
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", f"{webhook.url}/hooks/handoff")
    monkeypatch.setenv("HANDOFF_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")

    assert await handoff_cli("webhook", "enable") == 0

    assert "the webhook is now on" in capsys.readouterr().out
    assert (await handoff.settings.current()).webhook.enabled is True
