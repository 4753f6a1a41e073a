"""How fast the inbox's conversation list answers with 100,000 conversations.

Seeds a fresh SQLite database (the default set-up) through the real migrations: 100,000
conversations over 90 days, 30,000 visitors, ~430,000 messages, 2,000 waiting and 300 live. Starts
the inbox channel in this process on a real port, logs in, and times `GET api/conversations` over
HTTP, sequentially:

- first page of All (the baseline), of Waiting, and of Live;
- keyset pages deep in the list (after 10,000 / 50,000 / 99,000 rows);
- searches: by email, by name, by message text (a word in 10 messages, and one in none);

and, at the query level, the keyset page against the same page fetched with OFFSET (what a naive
list would do), at the same depths.

    .venv/bin/python bench/inbox_list.py [--conversations 1000 100000] [--rounds 100]

Prints p50/p99 per case and the ratio of each p50 to the baseline's, and the query plans.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import quiet  # noqa: E402
from channels.inbox import InboxInput  # noqa: E402
from handoff_plugin.inbox.agents import AgentService  # noqa: E402
from handoff_plugin.livechat.broker import InProcessBroker  # noqa: E402
from handoff_plugin.livechat.service import LiveChatService  # noqa: E402
from handoff_plugin.livechat.sessions import SessionSigner  # noqa: E402
from handoff_plugin.models import Cursor  # noqa: E402
from handoff_plugin.services import Services  # noqa: E402
from handoff_plugin.store import Store, open_store  # noqa: E402
from handoff_plugin.store.queries.inbox import InboxQueries, list_query  # noqa: E402
from handoff_plugin.store.tables import (  # noqa: E402
    conversations,
    escalations,
    messages,
    visitors,
)
from tests.servers import free_port, serve_sanic  # noqa: E402

PASSWORD = "benchmark password"
WORDS = (
    "order parcel invoice refund delivery address password account login price discount "
    "shipping tracking return exchange size colour warranty payment card subscription"
).split()
FIRST = ["Ann", "Max", "Zoe", "Lea", "Tom", "Eva", "Ben", "Mia", "Noah", "Ida", "Paul", "Lina"]
LAST = ["Lee", "Berg", "Kim", "Nowak", "Silva", "Moreau", "Rossi", "Schmidt", "Ito", "Khan"]


def fmt(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def seed(path: Path, total: int, rng: random.Random) -> dict[str, Any]:
    """Rows straight into the migrated schema (sync SQLAlchemy: seeding is not what we measure)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    now = datetime(2026, 2, 9, 12, tzinfo=timezone.utc)
    n_visitors = total * 3 // 10
    visitor_rows = []
    for vid in range(1, n_visitors + 1):
        created = now - timedelta(seconds=rng.randrange(90 * 86400))
        visitor_rows.append(
            {
                "id": vid,
                "email": f"visitor{vid}@mail{vid % 97}.example",
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "phone": None,
                "created_at": fmt(created),
                "updated_at": fmt(created),
            }
        )
    conversation_rows, message_rows, escalation_rows = [], [], []
    special = set(rng.sample(range(1, total + 1), 10))  # conversations that mention "zeppelin"
    for cid in range(1, total + 1):
        created = now - timedelta(seconds=rng.randrange(90 * 86400))
        state = "bot"
        if cid % 50 == 0:
            state = "escalated"
        elif cid % 333 == 0:
            state = "live"
        visitor_id = rng.randrange(1, n_visitors + 1) if state != "bot" or cid % 4 == 0 else None
        count = rng.randrange(2, 7)
        at = created
        last_text = None
        for seq in range(1, count + 1):
            at = at + timedelta(seconds=rng.randrange(5, 90))
            author = "visitor" if seq % 2 else "bot"
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 12)))
            if author == "visitor" and cid in special and seq == 1:
                text += " zeppelin"
            if author == "visitor":
                last_text = text
            message_rows.append(
                {
                    "conversation_id": cid,
                    "seq": seq,
                    "author": author,
                    "text": text,
                    "channel": "livechat",
                    "created_at": fmt(at),
                }
            )
        conversation_rows.append(
            {
                "id": cid,
                "sender_id": f"sender-{cid}",
                "channel": "livechat",
                "state": state,
                "visitor_id": visitor_id,
                "last_message": last_text,
                "last_message_at": fmt(at),
                "created_at": fmt(created),
                "updated_at": fmt(at),
                "last_seq": count,
                "last_activity_at": fmt(at),
            }
        )
        if state != "bot":
            escalation_rows.append(
                {
                    "conversation_id": cid,
                    "visitor_id": visitor_id,
                    "trigger": "intent",
                    "message": "I want to talk to a human",
                    "status": "open",
                    "created_at": fmt(at),
                }
            )
    known: int = next(r["visitor_id"] for r in conversation_rows if r["visitor_id"])  # type: ignore[assignment]
    with engine.begin() as conn:
        for table, rows in (
            (visitors, visitor_rows),
            (conversations, conversation_rows),
            (messages, message_rows),
            (escalations, escalation_rows),
        ):
            for start in range(0, len(rows), 20_000):
                conn.execute(table.insert(), rows[start : start + 20_000])
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {
        "megabytes": path.stat().st_size / 1e6,
        "visitors": len(visitor_rows),
        "conversations": len(conversation_rows),
        "messages": len(message_rows),
        "waiting": sum(1 for r in conversation_rows if r["state"] == "escalated"),
        "live": sum(1 for r in conversation_rows if r["state"] == "live"),
        "email": f"visitor{known}@mail",
        "name": f"{visitor_rows[known - 1]['first_name']} {visitor_rows[known - 1]['last_name']}",
    }


class NoTranscript:
    """The list never talks to Rasa."""

    def lock(self, sender_id: str) -> Any:
        raise NotImplementedError

    async def append(self, sender_id: str, events: Any) -> None:
        raise NotImplementedError


async def start_inbox(store: Store, url: str) -> tuple[str, Any]:
    from sanic import Sanic

    layers: list[dict[str, Any]] = [{"database": {"url": url}}]
    services = await Services.create(layers)
    app = Sanic(f"inbox_bench_{free_port()}", configure_logging=False)
    app.ctx.handoff_livechat = LiveChatService(
        services.store,
        services.settings,
        NoTranscript(),
        InProcessBroker(),
        SessionSigner(b"bench-secret-0123456789"),
    )

    async def no_rasa(_: Any) -> None:
        return None

    app.blueprint(InboxInput(services).blueprint(no_rasa), url_prefix="/webhooks/inbox")
    port = free_port()
    server = await serve_sanic(app, port)
    app.ctx.bench_services = services  # closed with the server
    return f"http://127.0.0.1:{port}/webhooks/inbox", server


async def timed(rounds: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    for _ in range(3):  # warm-up
        await call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> dict[int, dict[str, dict[str, float]]]:
    """p50/p99 (ms) of every case, by number of conversations."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--conversations", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quiet()
    figures: dict[int, dict[str, dict[str, float]]] = {}
    if len(args.conversations) > 1:  # one process per size: Sanic serves one app per process
        for total in args.conversations:
            with tempfile.TemporaryDirectory(prefix="inbox-bench-") as workdir:
                out = Path(workdir) / "figures.json"
                command = [sys.executable, __file__, "--conversations", str(total)]
                command += ["--rounds", str(args.rounds), "--json", str(out)]
                sys.stdout.flush()
                subprocess.run(command, check=True, timeout=900)
                figures[total] = json.loads(out.read_text())
        return figures
    total = args.conversations[0]
    size = argparse.Namespace(conversations=total, rounds=args.rounds)
    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as workdir:
        figures[total] = asyncio.run(run(Path(workdir) / "handoff.db", size, random.Random(7)))
    if args.json:
        args.json.write_text(json.dumps(figures[total]))
    return figures


async def run(
    db: Path, args: argparse.Namespace, rng: random.Random
) -> dict[str, dict[str, float]]:
    url = f"sqlite+aiosqlite:///{db}"
    store = await open_store(url)  # runs the migrations
    started = time.perf_counter()
    facts = await asyncio.to_thread(seed, db, args.conversations, rng)
    print(
        f"seeded {facts['conversations']:,} conversations, {facts['visitors']:,} visitors, "
        f"{facts['messages']:,} messages ({facts['waiting']:,} waiting, {facts['live']:,} live) "
        f"in {time.perf_counter() - started:.1f} s; database {facts['megabytes']:.0f} MB"
    )
    agent = await AgentService(store).add("bench@example.com", "Bench", PASSWORD)
    base, server = await start_inbox(store, url)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(
        f"{base}/api/login", json={"email": "bench@example.com", "password": PASSWORD}
    ) as response:
        assert response.status == 200, await response.text()

    async def get(query: str) -> dict[str, Any]:
        async with http.get(f"{base}/api/conversations?{query}") as response:
            assert response.status == 200, await response.text()
            result: dict[str, Any] = await response.json()
            return result

    async def cursor_after(rows: int) -> str:
        async with store.transaction() as tx:
            row = (
                await tx.conn.execute(
                    sa.select(conversations.c.id, conversations.c.last_activity_at)
                    .order_by(conversations.c.last_activity_at.desc(), conversations.c.id.desc())
                    .offset(rows - 1)
                    .limit(1)
                )
            ).one()
        return Cursor(row.last_activity_at, row.id).encode()

    cases: list[tuple[str, str]] = [
        ("All, first page (baseline)", "status=all"),
        ("Waiting, first page", "status=waiting"),
        ("Live, first page", "status=live"),
    ]
    total = args.conversations
    depths = (total // 10, total // 2, total - total // 100)
    for depth in depths:
        cases.append(
            (
                f"All, keyset page after {depth:,} rows",
                f"status=all&cursor={await cursor_after(depth)}",
            )
        )
    cases += [
        (f"Search email '{facts['email']}'", f"q={facts['email']}"),
        (f"Search name '{facts['name']}'", f"q={facts['name'].replace(' ', '%20')}"),
        ("Search message text 'zeppelin' (10 hits)", "q=zeppelin"),
        ("Search message text, no hit", "q=xylophone"),
    ]
    print(
        f"\nGET api/conversations over HTTP, {args.rounds} sequential requests each, 50 rows a page"
    )
    print(f"{'case':<48} {'rows':>5} {'p50 ms':>8} {'p99 ms':>8} {'p50/base':>9}")
    baseline = 0.0
    figures: dict[str, dict[str, float]] = {}
    for name, query in cases:
        rows = len((await get(query))["conversations"])
        samples = await timed(args.rounds, lambda query=query: get(query))  # type: ignore[misc]
        p50, p99 = p(samples, 0.5), p(samples, 0.99)
        figures[name] = {"p50": p50, "p99": p99}
        baseline = baseline or p50
        print(f"{name:<48} {rows:>5} {p50:>8.1f} {p99:>8.1f} {p50 / baseline:>8.1f}x")

    print(
        "\nThe same query at the query level: keyset page (what the inbox does) vs OFFSET (naive)"
    )
    print(f"{'depth':>8} {'keyset p50':>11} {'offset p50':>11} {'offset/keyset':>14}")
    for depth in (0, *depths):
        cursor = Cursor.decode(await cursor_after(depth)) if depth else None

        async def keyset(cursor: Cursor | None = cursor) -> None:
            async with store.transaction() as tx:
                await InboxQueries(tx).list_conversations(agent.id, "all", None, cursor, 50)

        async def offset(depth: int = depth) -> None:
            async with store.transaction() as tx:
                page = list_query(agent.id, "all", None).offset(depth).limit(51)
                (await tx.conn.execute(page)).all()

        k = p(await timed(max(20, args.rounds // 2), keyset), 0.5)
        o = p(await timed(max(20, args.rounds // 2), offset), 0.5)
        print(f"{depth:>8,} {k:>10.2f}  {o:>10.2f}  {o / k:>13.1f}x")

    print("\nQuery plans (SQLite EXPLAIN QUERY PLAN):")
    sync_engine = store.engine.sync_engine
    for label, status, q, cursor in (
        ("All, keyset page", "all", None, Cursor.decode(await cursor_after(depths[1]))),
        ("Waiting", "waiting", None, None),
        ("Search", "all", "zeppelin", None),
    ):
        captured: list[tuple[str, Any]] = []

        def capture(
            _c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any, into: list = captured
        ) -> None:
            into.append((statement, parameters))

        sa.event.listen(sync_engine, "before_cursor_execute", capture)
        async with store.transaction() as tx:
            await InboxQueries(tx).list_conversations(agent.id, status, q, cursor, 50)  # type: ignore[arg-type]
        sa.event.remove(sync_engine, "before_cursor_execute", capture)
        statement, parameters = next(c for c in captured if "FROM conversations" in c[0])
        async with store.transaction() as tx:
            plan = await tx.conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            print(f"  {label}:")
            for row in plan:
                print(f"    {row[-1]}")
    await http.close()
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.app.ctx.bench_services.close()
    await store.close()
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
