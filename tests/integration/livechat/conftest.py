"""One in-process Rasa server with the livechat and REST channels for the live-chat tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from handoff_plugin import pause_guard
from handoff_plugin.runtime import Services
from handoff_plugin.settings import base_layers
from tests.conftest import ROOT
from tests.integration.conftest import ActionServer, free_port
from tests.integration.livechat.harness import RunningServer, start_server

# Generous for conversations; the flood test sends far more than this at once.
LIVECHAT = {"livechat": {"rate_limit_burst": 15, "rate_limit_per_minute": 600}}


def server_layers(action_server: ActionServer) -> list[dict[str, Any]]:
    env = {"HANDOFF_DATABASE_URL": action_server.database_url}
    return [*base_layers(env, ROOT / "tests" / "data" / "handoff.yml"), LIVECHAT]


@pytest.fixture(scope="session")
async def livechat_server(agent: Any, action_server: ActionServer) -> AsyncIterator[RunningServer]:
    services = await Services.create(server_layers(action_server))
    server = await start_server(agent, services, free_port())
    yield server
    await server.stop()
    pause_guard.uninstall()
    await services.close()
