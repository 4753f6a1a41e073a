"""Runs the notification dispatcher inside the rasa-sdk action server (`rasa run actions`).

rasa-sdk 3.6 loads plugins only from a package named `rasa_sdk_plugins` that exposes
`init_hooks(manager)`; rasa-handoff ships that package, which registers `ActionServerPlugin`. Its
`attach_sanic_app_extensions(app)` hook starts the dispatcher when the server has started (so
pending deliveries resume after a restart) and stops it cleanly when the server stops.
"""

from __future__ import annotations

from typing import Any

import pluggy
import structlog

from handoff_plugin.services import reset_services, services

log = structlog.get_logger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")


async def start_dispatcher(app: Any, loop: Any) -> None:
    await (await services()).dispatcher.start()


async def stop_dispatcher(app: Any, loop: Any) -> None:
    await reset_services()  # stops the dispatcher (giving back what it was sending), closes the db


class ActionServerPlugin:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        app.register_listener(start_dispatcher, "after_server_start")
        app.register_listener(stop_dispatcher, "before_server_stop")


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Register rasa-handoff with rasa-sdk's plugin manager (call it from your own
    `rasa_sdk_plugins.init_hooks` if your bot already has that package)."""
    manager.register(ActionServerPlugin())
