"""`handoff agent ...` as an administrator runs it: a real process, password on stdin."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.store import open_store
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def handoff(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "handoff_plugin.cli", "agent", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_agents_are_added_listed_given_a_new_password_and_removed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/handoff.db"
    added = handoff(url, "add", "Ann@Example.com", "--name", "Ann Lee", "--password-stdin",
                    stdin="first password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added agent ann@example.com (Ann Lee), role agent" in added.stderr
    boss = handoff(url, "add", "cy@example.com", "--name", "Cy", "--role", "admin",
                   "--password-stdin", stdin="third password\n")  # fmt: skip
    assert "added agent cy@example.com (Cy), role admin" in boss.stderr
    bad_role = handoff(url, "add", "dee@example.com", "--name", "D", "--role", "root",
                       "--password-stdin", stdin="fourth password\n")  # fmt: skip
    assert bad_role.returncode == 2 and "invalid choice: 'root'" in bad_role.stderr

    again = handoff(url, "add", "ann@example.com", "--name", "Ann", "--password-stdin",
                    stdin="other password\n")  # fmt: skip
    assert again.returncode == 2
    assert "exists already" in again.stderr

    short = handoff(url, "add", "bob@example.com", "--name", "Bob", "--password-stdin",
                    stdin="short\n")  # fmt: skip
    assert (short.returncode, short.stderr.strip().splitlines()[-1]) == (
        2,
        "the password must have at least 10 characters",
    )

    listed = handoff(url, "list")
    assert listed.returncode == 0
    assert "ann@example.com" in listed.stdout and "Ann Lee" in listed.stdout
    assert "bob@example.com" not in listed.stdout
    # EMAIL  NAME  ROLE  ADDED (date time)  LAST LOGIN (never)
    roles = {line.split()[0]: line.split()[-4] for line in listed.stdout.splitlines()[1:]}
    assert roles == {"ann@example.com": "agent", "cy@example.com": "admin"}
    assert "ROLE" in listed.stdout.splitlines()[0]

    changed = handoff(
        url, "passwd", "ann@example.com", "--password-stdin", stdin="second password\n"
    )
    assert changed.returncode == 0, changed.stderr

    async def logs_in(password: str) -> bool:
        store = await open_store(url)
        try:
            await AgentService(store).login("ann@example.com", password, "127.0.0.1")
            return True
        except Exception:
            return False
        finally:
            await store.close()

    assert asyncio.run(logs_in("second password")) is True
    assert asyncio.run(logs_in("first password")) is False

    removed = handoff(url, "remove", "ann@example.com")
    assert removed.returncode == 0
    missing = handoff(url, "remove", "ann@example.com")
    assert missing.returncode == 2
    assert "there is no agent with the email ann@example.com" in missing.stderr


def test_without_a_terminal_the_password_must_come_from_stdin(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/handoff.db"
    result = handoff(url, "add", "ann@example.com", "--name", "Ann")
    assert result.returncode == 2
    assert "pass --password-stdin" in result.stderr


def test_an_agent_is_linked_to_a_slack_user_when_added_or_later(tmp_path: Path) -> None:
    from handoff_plugin.store.queries.slack import SlackQueries

    url = f"sqlite+aiosqlite:///{tmp_path}/handoff.db"
    added = handoff(url, "add", "ann@example.com", "--name", "Ann", "--slack-user", "U0ANN1",
                    "--password-stdin", stdin="first password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "ann@example.com answers from Slack as U0ANN1" in added.stderr
    handoff(url, "add", "bob@example.com", "--name", "Bob", "--password-stdin",
            stdin="second password\n")  # fmt: skip
    later = handoff(url, "set-slack-user", "Bob@Example.com", "U0BOB2")
    assert later.returncode == 0, later.stderr
    wrong = handoff(url, "set-slack-user", "bob@example.com", "bob")
    assert wrong.returncode == 2 and "not a Slack member ID" in wrong.stderr
    nobody = handoff(url, "set-slack-user", "cy@example.com", "U0CY3")
    assert nobody.returncode != 0 and "no agent with the email cy@example.com" in nobody.stderr

    async def linked() -> list[int | None]:
        store = await open_store(url)
        try:
            async with store.transaction() as tx:
                q = SlackQueries(tx)
                return [await q.agent_of(u) for u in ("U0ANN1", "U0BOB2", "U0CY3")]
        finally:
            await store.close()

    ann, bob, cy = asyncio.run(linked())
    assert ann is not None and bob is not None and ann != bob and cy is None
