"""`rasa run` with the reference bot's credentials.yml: the livechat channel as a bot builder runs it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT
from tests.integration.conftest import VENV_BIN, ActionServer, free_port, wait_until_up
from tests.integration.livechat.harness import WebchatVisitor
from tests.servers import ACTIONS_TOKEN

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rasa_run(
    trained_model: Path, action_server: ActionServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("rasa-run")
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "{action_server.url}"\n  token: "{ACTIONS_TOKEN}"\n'
    )
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_DATABASE_URL": action_server.database_url,
        "HANDOFF_CONFIG": str(ROOT / "tests" / "data" / "handoff.yml"),
        "PYTHONPATH": str(ROOT),
    }
    command = [str(VENV_BIN / "rasa"), "run", "--port", str(port), "--model", str(trained_model)]
    command += ["--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints)]
    log = workdir / "rasa.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/webhooks/livechat/", process, log, seconds=180)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)  # stops promptly: nothing of ours keeps the process alive


async def test_the_reference_bot_serves_visitors_and_the_demo_page(rasa_run: str) -> None:
    tab = WebchatVisitor(rasa_run)
    await tab.connect()
    await tab.say("hello")
    assert (await tab.next_bot(30))["text"].startswith("Hi! I'm the assistant")
    await tab.disconnect()

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{rasa_run}/webhooks/livechat/demo") as page:
            assert page.status == 200
            assert 'src="webchat.js"' in await page.text()
        async with http.get(f"{rasa_run}/webhooks/livechat/webchat.js") as script:
            assert script.status == 200
            assert script.headers["Content-Type"].startswith("application/javascript")
