"""The `handoff` command: check the configuration, migrate the database, set up a bot, and
see or steer notification deliveries, and manage inbox agents."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from handoff_plugin.cli import agents as cli_agents
from handoff_plugin.cli import notifications as cli_notifications
from handoff_plugin.cli import slack_check
from handoff_plugin.cli.bot_init import init_bot
from handoff_plugin.config.settings import Settings, load_settings, mask_url_password
from handoff_plugin.errors import HandoffError
from handoff_plugin.store import open_store


def _check(args: argparse.Namespace) -> int:
    settings = load_settings()
    print(json.dumps(settings.masked(), indent=2, default=str))
    print("handoff: configuration is valid", file=sys.stderr)
    for warning in (cli_notifications.dispatcher_warning(settings), _token_warning(settings)):
        if warning:
            print(warning, file=sys.stderr)
    return asyncio.run(_check_slack(settings, ask=args.slack))


async def _check_slack(settings: Settings, *, ask: bool) -> int:
    in_force, source = await slack_check.with_saved_settings(settings)
    print(f"handoff: Slack (from {source}):", file=sys.stderr)
    for line in slack_check.report(in_force):
        print(f"  {line}", file=sys.stderr)
    if not ask:
        return 0
    ok, lines = await slack_check.ask_slack(in_force)
    for line in lines:
        print(f"  {line}", file=sys.stderr)
    return 0 if ok else 1


def _token_warning(settings: Settings) -> str | None:
    if settings.actions.token.get_secret_value():
        return None
    return (
        "handoff: warning: actions.token is not set, so the action server refuses every action "
        "call. Generate one (`python -c 'import secrets; print(secrets.token_urlsafe(32))'`) and "
        "set it as HANDOFF_ACTIONS_TOKEN for both `rasa run actions` and `rasa run` "
        "(endpoints.yml: `token: ${HANDOFF_ACTIONS_TOKEN}` under action_endpoint); "
        "see README, 'Security'."
    )


async def _upgrade() -> None:
    settings = load_settings()
    store = await open_store(settings.database.url, upgrade=False)
    try:
        shown = mask_url_password(settings.database.url)
        print(f"handoff: migrating {shown} ...", file=sys.stderr)
        await store.upgrade()
    finally:
        await store.close()


def _db_upgrade(_: argparse.Namespace) -> int:
    asyncio.run(_upgrade())
    print("handoff: database schema is up to date", file=sys.stderr)
    return 0


def _init(args: argparse.Namespace) -> int:
    init_bot(Path(args.bot_dir))
    print(
        "handoff init: done. Next: set HANDOFF_ACTIONS_TOKEN (a random secret, the same for "
        "both servers: endpoints.yml sends it, the action server checks it), then "
        "`handoff db upgrade`, `rasa train`, `rasa run actions` and `rasa run` "
        "(see README, 'Add handoff to your own bot' and 'Security').",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handoff", description="rasa-handoff administration")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser(
        "check", help="validate the settings and print them (secrets masked)"
    )
    check.add_argument(
        "--slack",
        action="store_true",
        help="also try the Slack bot token with auth.test (exit 1 when Slack refuses it)",
    )
    check.set_defaults(run=_check)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations").set_defaults(run=_db_upgrade)

    init = commands.add_parser("init", help="add handoff to the Rasa bot in BOT_DIR")
    init.add_argument("bot_dir", nargs="?", default=".", metavar="BOT_DIR")
    init.set_defaults(run=_init)

    cli_notifications.add_commands(commands)
    cli_agents.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except HandoffError as error:
        print(str(error), file=sys.stderr)
        return 2
