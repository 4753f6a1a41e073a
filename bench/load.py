"""Load: N simulated visitors (default 1,000) on loopback hold conversations for `--minutes`;
some escalate (the bot's form asks their email, the action server confirms) and chat with
simulated agents through the inbox API and its live event stream. It stops by itself.

Servers: `rasa run` (livechat, REST, inbox; in-memory tracker store) and `rasa run actions`
sharing one SQLite database. Visitors connect over the first `--ramp` seconds, then each writes
every `--think` seconds on average (uniform 0.5x-1.5x); in live chat every `--live-think` seconds,
answered by an agent. At the end: the error rate, p95/p99 of bot replies and of relays, and every
visitor and agent message accounted for (stored in the database == sent).

    PYTHONPATH=. .venv/bin/python bench/load.py [--visitors 1000] [--minutes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    MESSAGES,
    MODEL,
    InboxAgent,
    Visitor,
    action_server,
    add_agent,
    conversation_ids,
    percentile,
    quiet,
    rasa_server,
    stop_visitors,
)


@dataclass
class Stats:
    bot_ms: list[float] = field(default_factory=list)
    to_visitor_ms: list[float] = field(default_factory=list)
    to_agent_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    operations: int = 0
    visitor_sent: int = 0
    agent_sent: int = 0
    escalated: int = 0
    live: int = 0


class AgentDesk:
    """The simulated agents: inbox API sessions, and one live event stream (SSE) they all watch."""

    def __init__(self, url: str, agents: int) -> None:
        self.url = url
        self.sessions = [InboxAgent(url) for _ in range(agents)]
        self.waiting: dict[tuple[int, str], asyncio.Future[float]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.database_url = ""

    async def start(self) -> None:
        for session in self.sessions:
            await session.login()
        ready = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self.read_stream(ready))
        await asyncio.wait_for(ready, 30)

    async def read_stream(self, ready: asyncio.Future[None]) -> None:
        session = self.sessions[0]
        async with session.http.get(f"{session.base}/events", timeout=None) as response:
            ready.set_result(None)
            event = ""
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "message":
                    data = json.loads(line[6:])
                    if data.get("author") == "visitor":
                        key = (int(data["conversation_id"]), data.get("text") or "")
                        future = self.waiting.pop(key, None)
                        if future is not None and not future.done():
                            future.set_result(time.perf_counter())

    def expect(self, conversation_id: int, text: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[(conversation_id, text)] = future
        return future

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader
        for session in self.sessions:
            await session.close()


async def bot_turn(visitor: Visitor, text: str, stats: Stats, expect: str | None = None) -> bool:
    stats.operations += 1
    visitor.drain()
    started = time.perf_counter()
    try:
        await visitor.say(text)
        stats.visitor_sent += 1
        reply = await asyncio.wait_for(visitor.replies.get(), 30)
        stats.bot_ms.append((time.perf_counter() - started) * 1000)
        while expect and expect not in (reply.get("text") or ""):
            reply = await asyncio.wait_for(visitor.replies.get(), 30)
        return True
    except asyncio.TimeoutError:
        stats.errors["bot reply timed out"] += 1
        return False


async def live_chat(
    visitor: Visitor, n: int, desk: AgentDesk, stats: Stats, deadline: float, think: float
) -> None:
    agent = desk.sessions[n % len(desk.sessions)]
    [cid] = await conversation_ids(desk.database_url, [visitor.sender_id])

    async def agent_says(text: str) -> None:
        stats.operations += 1
        visitor.drain()
        started = time.perf_counter()
        try:
            await agent.send(cid, text)
            stats.agent_sent += 1
            while (await asyncio.wait_for(visitor.replies.get(), 30)).get("text") != text:
                pass
            stats.to_visitor_ms.append((time.perf_counter() - started) * 1000)
        except (asyncio.TimeoutError, RuntimeError) as problem:
            stats.errors[f"agent message: {type(problem).__name__}"] += 1

    await agent_says(f"Hi, this is Bea, visitor {n}.")
    stats.live += 1
    i = 0
    while time.perf_counter() + think * 1.5 < deadline:
        await asyncio.sleep(random.uniform(0.5, 1.5) * think)
        text = f"visitor {n} live {i}"
        stats.operations += 1
        arrived = desk.expect(cid, text)
        started = time.perf_counter()
        await visitor.say(text)
        stats.visitor_sent += 1
        try:
            stats.to_agent_ms.append((await asyncio.wait_for(arrived, 30) - started) * 1000)
        except asyncio.TimeoutError:
            stats.errors["visitor message never reached the agent"] += 1
        await agent_says(f"agent to visitor {n}, {i}")
        i += 1


async def visitor_life(
    n: int, url: str, args: argparse.Namespace, desk: AgentDesk, stats: Stats, t0: float
) -> Visitor | None:
    await asyncio.sleep(args.ramp * n / args.visitors)
    deadline = t0 + args.ramp + args.minutes * 60
    visitor = Visitor(url)
    stats.operations += 1
    try:
        await visitor.start()
    except Exception as problem:  # noqa: BLE001  (counted, not fatal)
        stats.errors[f"connect: {type(problem).__name__}"] += 1
        return None
    escalates = args.escalate_every and n % args.escalate_every == 0
    await asyncio.sleep(random.uniform(0, args.think))
    turns = 0
    margin = min(30.0, args.minutes * 15)  # the last turn must fit before the deadline
    while time.perf_counter() + margin < deadline:
        if escalates:
            ok = await bot_turn(visitor, "I want to talk to a human", stats)
            if ok and await bot_turn(visitor, f"visitor{n}@example.com", stats, "passed your"):
                stats.escalated += 1
                await live_chat(visitor, n, desk, stats, deadline, args.live_think)
            return visitor
        await bot_turn(visitor, MESSAGES[(n + turns) % len(MESSAGES)], stats)
        turns += 1
        # Think, but not past the end: a visitor asleep at the deadline is done.
        await asyncio.sleep(
            min(random.uniform(0.5, 1.5) * args.think, deadline - margin - time.perf_counter())
        )
    return visitor


async def stored_counts(database_url: str) -> dict[str, int]:
    from handoff_plugin.store import open_store
    from handoff_plugin.store.tables import messages

    store = await open_store(database_url)
    try:
        async with store.transaction() as tx:
            rows = await tx.conn.execute(
                sa.select(messages.c.author, sa.func.count()).group_by(messages.c.author)
            )
            return {str(author): int(count) for author, count in rows}
    finally:
        await store.close()


async def report_progress(stats: Stats, t0: float, every: float = 15.0) -> None:
    """A line every `every` seconds (the run takes minutes): what was done, what failed."""
    while True:
        await asyncio.sleep(every)
        print(
            f"  {time.perf_counter() - t0:5.0f} s: {stats.operations} operations, "
            f"{len(stats.bot_ms)} bot replies (p95 {percentile(stats.bot_ms, 95):.0f} ms), "
            f"{stats.live} live chats, errors {dict(stats.errors) or 0}",
            flush=True,
        )


async def measure(url: str, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    quiet()
    await add_agent(database_url)
    desk = AgentDesk(url, args.agents)
    desk.database_url = database_url
    await desk.start()
    stats = Stats()
    t0 = time.perf_counter()
    lives = [
        asyncio.create_task(visitor_life(n, url, args, desk, stats, t0))
        for n in range(args.visitors)
    ]
    limit = args.ramp + args.minutes * 60 + 120  # bounded whatever happens
    progress = asyncio.create_task(report_progress(stats, t0))
    done, unfinished = await asyncio.wait(lives, timeout=limit)
    progress.cancel()
    stuck: Counter[str] = Counter()
    for life in unfinished:  # counted, then stopped: the run ends on time and still reports
        frames = life.get_stack()
        stuck[" <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames))] += 1
        life.cancel()
    for where, count in stuck.most_common(5):
        print(f"  {count} visitor(s) still waiting in {where}", flush=True)
    if unfinished:
        stats.errors["visitor still busy at the time limit"] += len(unfinished)
        await asyncio.gather(*unfinished, return_exceptions=True)
    visitors = [v for life in done if (v := life.result()) is not None]
    elapsed = time.perf_counter() - t0
    await desk.close()
    # The server may still be working through a backlog: count until everything is stored or
    # nothing more arrives for 10 s (bounded).
    stored, last_change, give_up = (
        await stored_counts(database_url),
        time.monotonic(),
        time.monotonic() + 120,
    )
    while stored.get("visitor", 0) < stats.visitor_sent and time.monotonic() < give_up:
        await asyncio.sleep(1)
        now = await stored_counts(database_url)
        if now != stored:
            stored, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > 10:
            break
    await stop_visitors(visitors)
    errors = sum(stats.errors.values())
    return {
        "visitors": args.visitors,
        "connected": len(visitors),
        "seconds": elapsed,
        "operations": stats.operations,
        "errors": dict(stats.errors),
        "error_rate": errors / max(1, stats.operations),
        "bot_turns": len(stats.bot_ms),
        "bot_p95_ms": percentile(stats.bot_ms, 95),
        "bot_p99_ms": percentile(stats.bot_ms, 99),
        "escalated": stats.escalated,
        "live_chats": stats.live,
        "relays": len(stats.to_visitor_ms) + len(stats.to_agent_ms),
        "relay_p95_ms": percentile(stats.to_visitor_ms + stats.to_agent_ms, 95),
        "relay_p99_ms": percentile(stats.to_visitor_ms + stats.to_agent_ms, 99),
        "visitor_sent": stats.visitor_sent,
        "visitor_stored": stored.get("visitor", 0),
        "agent_sent": stats.agent_sent,
        "agent_stored": stored.get("agent", 0),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=2.0, help="how long they chat")
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds to connect them all")
    parser.add_argument("--think", type=float, default=120.0, help="mean s between bot messages")
    parser.add_argument("--live-think", type=float, default=10.0, help="mean s in live chat")
    parser.add_argument("--escalate-every", type=int, default=20, help="every n-th visitor")
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite+aiosqlite:///{workdir}/handoff.db"
        with action_server(workdir, database_url) as actions:
            with rasa_server(
                "full", workdir, args.model, action_url=actions, database_url=database_url
            ) as server:
                r = asyncio.run(measure(server.url, database_url, args))
    accounted = r["visitor_sent"] == r["visitor_stored"] and r["agent_sent"] == r["agent_stored"]
    r["accounted"] = accounted
    print(
        f"load: {r['connected']}/{r['visitors']} visitors connected, {r['seconds']:.0f} s, "
        f"{r['operations']} operations, error rate {r['error_rate']:.2%} {r['errors'] or ''}"
    )
    print(
        f"bot replies: {r['bot_turns']}, p95 {r['bot_p95_ms']:.0f} ms, p99 {r['bot_p99_ms']:.0f} ms"
    )
    print(
        f"escalated {r['escalated']}, live chats {r['live_chats']}, relays {r['relays']}: "
        f"p95 {r['relay_p95_ms']:.0f} ms, p99 {r['relay_p99_ms']:.0f} ms"
    )
    print(
        f"messages: visitor sent {r['visitor_sent']} stored {r['visitor_stored']}, agent sent "
        f"{r['agent_sent']} stored {r['agent_stored']}: "
        + ("all accounted for" if accounted else "MISMATCH")
    )
    return r


if __name__ == "__main__":
    main(sys.argv[1:])
