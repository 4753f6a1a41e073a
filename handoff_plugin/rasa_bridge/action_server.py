"""Runs the notification dispatcher inside the rasa-sdk action server (`rasa run actions`), and
refuses action calls that do not carry the shared token.

rasa-sdk 3.6 loads plugins only from a package named `rasa_sdk_plugins` that exposes
`init_hooks(manager)`; rasa-handoff ships that package, which registers `ActionServerPlugin`. Its
`attach_sanic_app_extensions(app)` hook starts the dispatcher when the server has started (so
pending deliveries resume after a restart), stops it cleanly when the server stops, and checks
every request but `/health` for `actions.token` (Rasa sends it as the `token` query parameter).
"""

from __future__ import annotations

import hmac
from typing import Any

import pluggy
import structlog
from sanic import response

from handoff_plugin.services import reset_services, services

log = structlog.get_logger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")

OPEN_PATHS = frozenset({"/health"})  # liveness probes carry no token
TOKEN_PARAMETER = "token"  # rasa.utils.endpoints.EndpointConfig's default token_name
TOKEN_HINT = (
    "set HANDOFF_ACTIONS_TOKEN (actions.token) for the action server and the same value as "
    "`token:` under action_endpoint in endpoints.yml (see README, 'Security')"
)


def token_refusal(expected: str, provided: str | None) -> str | None:
    """Why a call with `provided` is refused when the server expects `expected`; None: allowed."""
    if not expected:
        return "no_token_configured"
    if not provided:
        return "missing_token"
    if not hmac.compare_digest(provided.encode(), expected.encode()):
        return "wrong_token"
    return None


async def require_token(request: Any) -> Any:
    if request.path in OPEN_PATHS:
        return None
    settings = await (await services()).settings.current()
    reason = token_refusal(
        settings.actions.token.get_secret_value(), request.args.get(TOKEN_PARAMETER)
    )
    if reason is None:
        return None
    if reason == "no_token_configured":
        log.error("handoff.actions.refused", reason=reason, path=request.path, fix=TOKEN_HINT)
    else:
        log.warning("handoff.actions.refused", reason=reason, path=request.path)
    return response.json(
        {"error": "not authenticated: this action server needs its token", "reason": reason},
        status=401,
    )


async def start_dispatcher(app: Any, loop: Any) -> None:
    shared = await services()
    if not (await shared.settings.current()).actions.token.get_secret_value():
        log.error(
            "handoff.actions.token_missing",
            consequence="every action call is refused",
            fix=TOKEN_HINT,
        )
    await shared.dispatcher.start()


async def stop_dispatcher(app: Any, loop: Any) -> None:
    await reset_services()  # stops the dispatcher (giving back what it was sending), closes the db


class ActionServerPlugin:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        app.register_middleware(require_token, "request")
        app.register_listener(start_dispatcher, "after_server_start")
        app.register_listener(stop_dispatcher, "before_server_stop")


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Register rasa-handoff with rasa-sdk's plugin manager (call it from your own
    `rasa_sdk_plugins.init_hooks` if your bot already has that package)."""
    manager.register(ActionServerPlugin())
