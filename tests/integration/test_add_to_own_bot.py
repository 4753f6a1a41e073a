"""The README's "Add handoff to your own bot" steps, applied to the bot `rasa init` creates."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from handoff_plugin.models import AgentRef
from handoff_plugin.store import open_store
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.tables import escalations, visitors
from tests.integration.conftest import LIVECHAT, VENV_BIN, Visitor, free_port, wait_until_up
from tests.servers import ACTIONS_TOKEN

pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (
        f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout + result.stderr


@dataclass
class OwnBot:
    path: Path
    database_url: str
    action_url: str
    init_output: str
    second_init_output: str


@pytest.fixture(scope="module")
def own_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnBot]:
    """The bot `rasa init` writes, with the README's steps applied, trained, its actions running."""
    from rasa.cli.scaffold import create_initial_project

    bot = tmp_path_factory.mktemp("own-bot")
    create_initial_project(str(bot))  # exactly the files `rasa init` writes before training
    database_url = f"sqlite+aiosqlite:///{bot}/.handoff/handoff.db"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_DATABASE_URL": database_url,
        "HANDOFF_ACTIONS_TOKEN": ACTIONS_TOKEN,  # what init tells the bot builder to set
        "PYTHONPATH": str(bot),
    }
    first = run([str(VENV_BIN / "handoff"), "init"], bot, env)
    second = run([str(VENV_BIN / "handoff"), "init"], bot, env)
    run([str(VENV_BIN / "handoff"), "db", "upgrade"], bot, env)
    run([str(VENV_BIN / "rasa"), "train", "--fixed-model-name", "bot", "--quiet"], bot, env)

    port = free_port()
    log = bot / "actions.log"
    with log.open("wb") as out:
        actions = subprocess.Popen(
            [str(VENV_BIN / "rasa"), "run", "actions", "--port", str(port)],
            cwd=bot,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", actions, log)
        yield OwnBot(bot, database_url, f"http://127.0.0.1:{port}/webhook", first, second)
    finally:
        actions.terminate()
        actions.wait(timeout=20)


async def test_documented_steps_make_a_rasa_init_bot_escalate(own_bot: OwnBot) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    assert "domain.yml: added" in own_bot.init_output
    assert "actions/handoff.py" in own_bot.init_output
    assert "nothing to do" in own_bot.second_init_output
    assert "token: ${HANDOFF_ACTIONS_TOKEN}" in (own_bot.path / "endpoints.yml").read_text()

    agent: Any = Agent.load(
        str(own_bot.path / "models" / "bot.tar.gz"),
        action_endpoint=EndpointConfig(own_bot.action_url, token=ACTIONS_TOKEN),
    )
    visitor = Visitor(agent, "own-bot-visitor")
    assert any("email" in t for t in await visitor.texts("I want to talk to a human"))
    assert any("passed your request" in t for t in await visitor.texts("gus@example.com"))
    # The bot's own conversation still works.
    assert await visitor.texts("hello") == ["Hey! How are you?"]

    store = await open_store(own_bot.database_url)
    try:
        async with store.transaction() as tx:
            query = sa.select(escalations.c.trigger, visitors.c.email).join(visitors)
            rows = (await tx.conn.execute(query)).all()
    finally:
        await store.close()
    assert [tuple(r) for r in rows] == [("intent", "gus@example.com")]


async def test_a_rasa_init_bot_predicts_as_before_after_a_live_chat(own_bot: OwnBot) -> None:
    """Visitor messages during live chat are logged without NLU (pause_guard); the bot's own
    policies (TED, memoization, rules, UnexpecTED: Rasa's default config) read the history after
    End Live Chat and carry on with its stories."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from handoff_plugin.config.settings import base_layers
    from handoff_plugin.rasa_bridge import pause_guard
    from handoff_plugin.services import Services
    from tests.integration.livechat.harness import start_server, visitor

    agent: Any = Agent.load(
        str(own_bot.path / "models" / "bot.tar.gz"),
        action_endpoint=EndpointConfig(own_bot.action_url, token=ACTIONS_TOKEN),
    )
    env = {"HANDOFF_DATABASE_URL": own_bot.database_url}
    services = await Services.create([*base_layers(env, own_bot.path / "none.yml"), LIVECHAT])
    session_guard = pause_guard._service  # the session-wide test server's, put back after
    server = await start_server(agent, services, free_port())
    ann = AgentRef("agent-ann", "Ann")
    try:
        async with visitor(server.url) as tab:
            await tab.say("hello")
            assert await tab.texts_until_quiet() == ["Hey! How are you?"]
            async with services.store.transaction() as tx:
                conversation = await ConversationQueries(tx).conversation_by_sender(tab.sender_id)
            assert conversation is not None
            await server.livechat.send_agent_message(conversation.id, ann, "Hi, Ann here.")
            await tab.texts_until_quiet()
            await tab.say("I am very sad, my order is lost")
            await server.handled(tab.sender_id, "I am very sad, my order is lost")
            assert await server.livechat.end_live_chat(conversation.id, ann)
            await tab.texts_until_quiet()

            await tab.say("I am sad")
            assert (await tab.texts_until_quiet())[0] == "Here is something to cheer you up:"
            await tab.say("yes")
            assert await tab.texts_until_quiet() == ["Great, carry on!"]
    finally:
        await server.stop()
        pause_guard.uninstall()
        if session_guard is not None:
            pause_guard.install(session_guard)
        await services.close()


def test_init_refuses_a_folder_without_a_bot(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "handoff"), "init", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "no domain.yml" in result.stderr
