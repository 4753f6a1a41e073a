"""`handoff deliveries ...` and `handoff webhook test`: see and steer notification delivery."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from handoff_plugin.config.settings import Settings, load_settings
from handoff_plugin.delivery.notifiers import enabled_kinds
from handoff_plugin.delivery.webhook_probe import TEST_EVENT, send_test_webhook
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.models import Delivery, DeliveryStatus
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.queries.outbox import OutboxQueries
from handoff_plugin.store.queries.settings import SettingsQueries


def add_commands(commands: Any) -> None:
    """Add `deliveries` and `webhook` to the `handoff` command's subparsers."""
    deliveries = commands.add_parser(
        "deliveries", help="recent notification deliveries and their state"
    )
    deliveries.add_argument(
        "--status", choices=[s.value for s in DeliveryStatus], help="only this state"
    )
    deliveries.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    deliveries.set_defaults(run=lambda args: asyncio.run(_list(args)))
    actions = deliveries.add_subparsers(dest="deliveries_command")
    show = actions.add_parser("show", help="one delivery with every attempt")
    show.add_argument("id", type=int)
    show.set_defaults(run=lambda args: asyncio.run(_show(args.id)))
    retry = actions.add_parser("retry", help="send a failed or disabled delivery again")
    retry.add_argument("id", type=int)
    retry.set_defaults(run=lambda args: asyncio.run(_retry(args.id)))

    webhook = commands.add_parser("webhook", help="the signed webhook")
    webhook_actions = webhook.add_subparsers(dest="webhook_command", required=True)
    webhook_actions.add_parser(
        "test", help="send a test event to webhook.url and print the receiver's answer"
    ).set_defaults(run=lambda args: asyncio.run(_webhook_test()))
    webhook_actions.add_parser(
        "enable",
        help="undo the saved 'off' (e.g. after the receiver answered 410); file and env decide again",
    ).set_defaults(run=lambda args: asyncio.run(_webhook_enable()))


def dispatcher_warning(settings: Settings) -> str | None:
    """Notifications are on but the action server could not start the dispatcher: say so."""
    sending = enabled_kinds(settings) or settings.livechat.transcript_email
    if not sending or importlib.util.find_spec("rasa_sdk_plugins") is not None:
        return None
    return (
        "handoff: warning: notifications are on but the package rasa_sdk_plugins is not "
        "importable, so `rasa run actions` will not send them. Install rasa-handoff with pip "
        "(or put this checkout on PYTHONPATH); see README, 'Delivery and retries'."
    )


@asynccontextmanager
async def _store() -> AsyncIterator[Store]:
    settings = load_settings()
    store = await open_store(
        settings.database.url,
        upgrade=False,
        secret_key=settings.security.secret_key.get_secret_value(),
    )
    try:
        if not await store.schema_is_current():
            raise ConfigurationError(
                "handoff: the database schema is not up to date; run `handoff db upgrade`"
            )
        yield store
    finally:
        await store.close()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _short(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _next_step(delivery: Delivery) -> str:
    if delivery.status is DeliveryStatus.PENDING:
        return f"next {_when(delivery.next_attempt_at)}"
    if delivery.status is DeliveryStatus.SENDING:
        return f"until {_when(delivery.lease_until)}"
    if delivery.status is DeliveryStatus.DELIVERED:
        return f"at {_when(delivery.delivered_at)}"
    return f"at {_when(delivery.updated_at)}"


async def _list(args: argparse.Namespace) -> int:
    status = DeliveryStatus(args.status) if args.status else None
    async with _store() as store, store.transaction() as tx:
        rows = await OutboxQueries(tx).recent(limit=max(1, args.limit), status=status)
    if not rows:
        print("no deliveries" + (f" with status {status.value}" if status else ""))
        return 0
    print(
        f"{'ID':>5}  {'ESCALATION':>10}  {'KIND':<10} {'STATUS':<10} {'TRIES':>5}  "
        f"{'WHEN (UTC)':<25}  DETAIL"
    )
    for d in rows:
        print(
            f"{d.id:>5}  {d.escalation_id:>10}  {d.kind:<10} {d.status.value:<10} "
            f"{d.attempts:>5}  {_next_step(d):<25}  {_short(d.last_error, 70)}"
        )
    return 0


async def _show(delivery_id: int) -> int:
    async with _store() as store, store.transaction() as tx:
        queries = OutboxQueries(tx)
        delivery = await queries.delivery(delivery_id)
        attempts = await queries.attempts(delivery_id)
    recipients = ", ".join(delivery.payload.get("recipients") or ()) or "-"
    print(f"delivery {delivery.id}: {delivery.kind} for escalation {delivery.escalation_id}")
    print(f"  status:     {delivery.status.value} ({_next_step(delivery)} UTC)")
    print(f"  webhook-id: {delivery.webhook_id}")
    if delivery.kind in ("email", "transcript"):
        print(f"  to:         {recipients}")
    print(f"  queued:     {_when(delivery.queued_at)} UTC")
    if delivery.last_error:
        print(f"  detail:     {delivery.last_error}")
    print(f"  attempts:   {len(attempts)}")
    for a in attempts:
        code = f" [{a.response_code}]" if a.response_code is not None else ""
        print(f"    #{a.number} {_when(a.started_at)} {a.status.value}{code} {a.error or ''}")
    return 0


async def _retry(delivery_id: int) -> int:
    async with _store() as store, store.transaction() as tx:
        delivery = await OutboxQueries(tx).requeue(delivery_id)
    print(
        f"delivery {delivery.id} ({delivery.kind}) is queued again; a running action server "
        "sends it within a second or two (see `handoff deliveries show "
        f"{delivery.id}`)"
    )
    return 0


async def _webhook_enable() -> int:
    async with _store() as store:
        async with store.transaction() as tx:
            saved = await SettingsQueries(tx).saved_settings()
            had = saved.get("webhook", {}).pop("enabled", None)
            if had is not None:
                if not saved["webhook"]:
                    del saved["webhook"]
                await SettingsQueries(tx).save_settings(saved)
        effective = load_settings(overrides=saved).webhook.enabled
    if had is None:
        print("no saved webhook.enabled to undo", end="; ")
    else:
        print(f"removed the saved webhook.enabled = {str(had).lower()}", end="; ")
    state = "on" if effective else "off (set HANDOFF_WEBHOOK_ENABLED=true)"
    print(f"the webhook is now {state}")
    return 0


async def _webhook_test() -> int:
    settings = load_settings()
    if not settings.webhook.url:
        raise ConfigurationError(
            "handoff: webhook.url is empty; set HANDOFF_WEBHOOK_URL to the receiver's URL"
        )
    result = await send_test_webhook(settings)
    signed = (
        "yes (X-Signature-256, webhook-signature)"
        if result.signed
        else f"no ({result.unsigned_reason})"
    )
    print(f"POST {result.url}")
    print(f"  event: {TEST_EVENT}   webhook-id: {result.message_id}   signed: {signed}")
    print(f"  body: {result.body}")
    if result.error:
        print(f"-> {result.error}")
        return 1
    print(f"-> HTTP {result.status} {result.reason} in {result.elapsed_ms} ms")
    if result.answer:
        print(result.answer)
    print(f"   ({result.meaning})")
    return 0 if result.delivered else 1
