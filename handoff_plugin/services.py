"""The services of one process, built once from the settings, shared by channels and actions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from handoff_plugin.config.settings import base_layers, build_settings
from handoff_plugin.delivery.dispatcher import Dispatcher
from handoff_plugin.delivery.outbox import Outbox
from handoff_plugin.escalation.service import EscalationService
from handoff_plugin.inbox.feed import EscalationEventWriter
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.saved_settings import StoredSettings


@dataclass
class Services:
    settings: StoredSettings
    store: Store
    escalations: EscalationService
    # Delivers the notifications; started by the process that should send them (the action
    # server, see handoff_plugin.rasa_bridge.action_server), and woken by the outbox on every escalation.
    dispatcher: Dispatcher

    @classmethod
    async def create(cls, layers: list[dict[str, Any]]) -> Services:
        base = build_settings(*layers)
        store = await open_store(
            base.database.url, secret_key=base.security.secret_key.get_secret_value()
        )
        provider = StoredSettings(store, layers)

        async def turn_off(kind: str, reason: str) -> None:
            await provider.save({kind: {"enabled": False}})

        dispatcher = Dispatcher(store, provider, on_disable=turn_off)
        outbox = Outbox(on_enqueued=dispatcher.wake_after_reply)
        return cls(
            settings=provider,
            store=store,
            # The inbox learns of escalations through its event log, whichever process records them.
            escalations=EscalationService(store, provider, [outbox, EscalationEventWriter()]),
            dispatcher=dispatcher,
        )

    async def close(self) -> None:
        await self.dispatcher.stop()
        await self.store.close()


_services: Services | None = None
_lock: asyncio.Lock | None = None


async def services() -> Services:
    """This process's services, created on first use inside the running event loop."""
    global _services, _lock
    if _services is None:
        _lock = _lock or asyncio.Lock()
        async with _lock:
            if _services is None:
                _services = await Services.create(base_layers())
    return _services


async def reset_services() -> None:
    """Forget the services (tests; or after the settings changed on disk)."""
    global _services, _lock
    if _services is not None:
        await _services.close()
    _services, _lock = None, None
