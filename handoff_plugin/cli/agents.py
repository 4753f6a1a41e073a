"""`handoff agent add|list|remove|passwd|set-slack-user`: the people who log into the inbox."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from handoff_plugin.config.settings import load_settings
from handoff_plugin.errors import InvalidInput
from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.models import ROLES
from handoff_plugin.store import open_store


def add_commands(commands: Any) -> None:
    agent = commands.add_parser("agent", help="inbox agents (who may log in and answer visitors)")
    actions = agent.add_subparsers(dest="agent_command", required=True)

    add = actions.add_parser("add", help="create an agent")
    add.add_argument("email")
    add.add_argument("--name", required=True, help="shown to visitors, e.g. 'Ann'")
    add.add_argument(
        "--role",
        choices=ROLES,
        default="agent",
        help="admin: may also change settings, manage agents and export (default: agent)",
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (else it is asked for)",
    )
    add.add_argument(
        "--slack-user",
        metavar="U123",
        help="the agent's Slack member ID: replies in escalation threads are sent as this agent",
    )
    add.set_defaults(run=lambda args: _run(_add, args))

    slack = actions.add_parser(
        "set-slack-user", help="link an agent to a Slack member ID (answering from Slack)"
    )
    slack.add_argument("email")
    slack.add_argument("slack_user", metavar="U123")
    slack.set_defaults(run=lambda args: _run(_set_slack_user, args))

    actions.add_parser("list", help="list the agents").set_defaults(
        run=lambda args: _run(_list, args)
    )

    remove = actions.add_parser("remove", help="delete an agent and end its sessions")
    remove.add_argument("email")
    remove.set_defaults(run=lambda args: _run(_remove, args))

    passwd = actions.add_parser("passwd", help="set an agent's password (ends its sessions)")
    passwd.add_argument("email")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(run=lambda args: _run(_passwd, args))


@asynccontextmanager
async def _agents() -> AsyncIterator[AgentService]:
    settings = load_settings()
    store = await open_store(
        settings.database.url, secret_key=settings.security.secret_key.get_secret_value()
    )
    try:
        yield AgentService(store)
    finally:
        await store.close()


def _run(command: Callable[[AgentService, argparse.Namespace], Awaitable[int]], args: Any) -> int:
    async def main() -> int:
        async with _agents() as agents:
            return await command(agents, args)

    return asyncio.run(main())


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InvalidInput("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise InvalidInput("standard input is not a terminal: pass --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat it: "):
        raise InvalidInput("the two passwords differ")
    return first


async def _add(agents: AgentService, args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    agent = await agents.add(args.email, args.name, password, args.role)
    print(f"handoff: added agent {agent.email} ({agent.name}), role {agent.role}", file=sys.stderr)
    if args.slack_user:
        return await _set_slack_user(agents, args)
    return 0


async def _set_slack_user(agents: AgentService, args: argparse.Namespace) -> int:
    agent = await agents.set_slack_user(args.email, args.slack_user)
    print(
        f"handoff: {agent.email} answers from Slack as {args.slack_user.strip()}", file=sys.stderr
    )
    return 0


async def _list(agents: AgentService, _: argparse.Namespace) -> int:
    everyone = await agents.all()
    if not everyone:
        print("handoff: no agents yet; add one with `handoff agent add EMAIL --name NAME`")
        return 0
    width = max(len(a.email) for a in everyone)
    print(f"{'EMAIL':<{width}}  {'NAME':<24}  {'ROLE':<5}  {'ADDED':<16}  LAST LOGIN")
    for agent in everyone:
        last = agent.last_login_at.strftime("%Y-%m-%d %H:%M") if agent.last_login_at else "never"
        added = agent.created_at.strftime("%Y-%m-%d %H:%M")
        print(
            f"{agent.email:<{width}}  {agent.name[:24]:<24}  {agent.role:<5}  {added:<16}  {last}"
        )
    return 0


async def _remove(agents: AgentService, args: argparse.Namespace) -> int:
    agent = await agents.remove(args.email)
    print(f"handoff: removed agent {agent.email}", file=sys.stderr)
    return 0


async def _passwd(agents: AgentService, args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    ended = await agents.set_password(args.email, password)
    print(
        f"handoff: password changed for {args.email.strip().lower()}; "
        f"{ended} session{'s' * (ended != 1)} ended",
        file=sys.stderr,
    )
    return 0
