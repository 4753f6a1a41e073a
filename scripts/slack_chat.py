"""Hold a live chat from "Slack" without Slack: a local stand-in for Slack's Web API, and Slack's
signed requests (thread replies, button presses) sent to the running bot.

    python scripts/slack_chat.py serve                   # the stand-in; prints what the bot posts
    python scripts/slack_chat.py reply "Hi, Ann here"    # a reply in the newest escalation's thread
    python scripts/slack_chat.py click claim             # press Claim (or: end) on its message

`make demo` with DEMO_SLACK=1 starts `serve` and points the bot at it. The requests are signed with
slack.signing_secret (HANDOFF_SLACK_SIGNING_SECRET, else the demo's
.handoff/slack-signing-secret) as Slack signs them; the Slack user (--user,
default U0DEMO) answers as the agent whose email `serve --email` gives it (default: the demo agent).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from handoff_plugin.config.settings import load_settings  # noqa: E402
from handoff_plugin.store import open_store  # noqa: E402
from handoff_plugin.store.tables import slack_threads  # noqa: E402
from tests.slack_standin import (  # noqa: E402
    SlackClient,
    SlackStandin,
    state_shown,
    thread_reply,
)

ACTIONS = {"claim": "handoff_claim", "end": "handoff_end"}


async def serve(port: int, emails: dict[str, str]) -> None:
    standin = SlackStandin()
    standin.port = port
    standin.emails.update(emails)
    standin.start()
    print(
        f"slack stand-in: {standin.url}/api/ (HANDOFF_SLACK_API_URL); Ctrl-C stops it", flush=True
    )
    shown = {"messages": 0, "updates": 0, "ephemerals": 0}
    try:
        while True:
            for posted in standin.messages[shown["messages"] :]:
                where = (
                    f"thread {posted.thread_ts}" if posted.thread_ts else f"new thread {posted.ts}"
                )
                print(f"[{where}] {posted.text}", flush=True)
            updates = [(m, u) for m in standin.messages for u in m.updates]
            for message, update in updates[shown["updates"] :]:
                print(f"[thread {message.ts}] now: {state_shown(update['blocks'])}", flush=True)
            for told in standin.ephemerals[shown["ephemerals"] :]:
                print(f"[only {told['user']} sees] {told['text']}", flush=True)
            shown = {
                "messages": len(standin.messages),
                "updates": len(updates),
                "ephemerals": len(standin.ephemerals),
            }
            await asyncio.sleep(0.3)
    finally:
        standin.stop()


async def newest_thread(given: str | None) -> tuple[str, str, int]:
    """(channel, ts, conversation id) of the thread `given`, or of the newest escalation."""
    settings = load_settings()
    store = await open_store(
        settings.database.url, secret_key=settings.security.secret_key.get_secret_value()
    )
    try:
        async with store.transaction() as tx:
            query = sa.select(slack_threads).order_by(slack_threads.c.id.desc()).limit(1)
            if given:
                query = query.where(slack_threads.c.ts == given)
            row = (await tx.conn.execute(query)).first()
    finally:
        await store.close()
    if row is None:
        sys.exit("slack_chat: no escalation thread yet: ask for a person in the visitor chat first")
    return str(row.channel), str(row.ts), int(row.conversation_id)


def signing_secret() -> str:
    secret = load_settings().slack.signing_secret.get_secret_value()
    kept = Path(".handoff/slack-signing-secret")  # where `DEMO_SLACK=1 make demo` keeps it
    if not secret and kept.is_file():
        secret = kept.read_text().strip()
    if not secret:
        sys.exit("slack_chat: set HANDOFF_SLACK_SIGNING_SECRET (the bot's slack.signing_secret)")
    return secret


async def send(args: argparse.Namespace, secret: str) -> None:
    channel, ts, conversation_id = await newest_thread(args.thread)
    client = SlackClient(args.url, secret)
    if args.command == "reply":
        status, body = await client.event(thread_reply(args.user, channel, ts, args.text))
    else:
        action = ACTIONS[args.action]
        status, body = await client.click(args.user, channel, ts, action, str(conversation_id))
    print(f"slack_chat: the bot answered HTTP {status} {body}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    served = commands.add_parser("serve", help="run the Slack Web API stand-in")
    served.add_argument("--port", type=int, default=5099)
    served.add_argument(
        "--email",
        action="append",
        default=[],
        metavar="USER=EMAIL",
        help="the email users.info gives a Slack user (default U0DEMO=agent@example.com)",
    )
    for name in ("reply", "click"):
        sub = commands.add_parser(name, help=f"{name} as a Slack user, signed like Slack")
        if name == "reply":
            sub.add_argument("text")
        else:
            sub.add_argument("action", choices=sorted(ACTIONS))
        sub.add_argument("--user", default="U0DEMO", help="the Slack user (default U0DEMO)")
        sub.add_argument("--thread", help="the thread's ts (default: the newest escalation's)")
        sub.add_argument("--url", default="http://127.0.0.1:5005", help="the Rasa server")
    args = parser.parse_args()
    if args.command == "serve":
        pairs = args.email or ["U0DEMO=agent@example.com"]
        emails = dict(pair.split("=", 1) for pair in pairs)
        try:
            asyncio.run(serve(args.port, emails))
        except KeyboardInterrupt:
            pass
    else:
        asyncio.run(send(args, signing_secret()))


if __name__ == "__main__":
    main()
