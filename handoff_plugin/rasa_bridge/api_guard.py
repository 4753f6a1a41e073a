"""Warns at start-up when the Rasa server's HTTP API is on without authentication.

`rasa run --enable-api` without `--auth-token` or `--jwt-secret` lets anyone who reaches the port
read every transcript (`GET /conversations/<id>/tracker`), push messages in the bot's name and
replace the model (`PUT /model`). Rasa keeps the token only inside `rasa.server.requires_auth`'s
closure around each API handler, so that is where we look (checked against Rasa 3.6).
"""

from __future__ import annotations

from typing import Any

import structlog

log = structlog.get_logger(__name__)

PROBE_ROUTE = "conversations/<conversation_id:path>/tracker"


def _probe_handler(app: Any) -> Any:
    for route in getattr(app.router, "routes", ()):
        if getattr(route, "path", "").strip("/") == PROBE_ROUTE:
            return route.handler
    return None


def rasa_api_unprotected(app: Any) -> bool | None:
    """True: the HTTP API answers anyone; False: it is off or needs a token/JWT; None: unknown."""
    handler = _probe_handler(app)
    if handler is None:
        return False  # `rasa run` without --enable-api
    if app.config.get("USE_JWT"):
        return False
    cells = dict(zip(handler.__code__.co_freevars, handler.__closure__ or (), strict=False))
    if "token" not in cells:
        return None  # not Rasa's requires_auth wrapper: a Rasa version we do not know
    return cells["token"].cell_contents is None


def warn_if_rasa_api_unprotected(app: Any) -> None:
    unprotected = rasa_api_unprotected(app)
    if unprotected:
        log.warning(
            "handoff.security.rasa_api_unprotected",
            risk="anyone reaching this port reads every transcript, speaks as the bot and "
            "replaces the model",
            fix="start Rasa with --auth-token (or --jwt-secret), or without --enable-api; "
            "never expose the HTTP API (see README, 'Security')",
        )
    else:
        state = {False: "off_or_protected", None: "unknown"}[unprotected]
        log.info("handoff.security.rasa_api_checked", api=state)
