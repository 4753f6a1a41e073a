"""Scale-out, on the `make demo-scaled` stack (nginx, two `rasa run` replicas, one action server,
PostgreSQL, Redis), in one run:

1. Saturation through nginx: bot turns per second with N concurrent visitors (default 200). With
   one replica: every visitor connects from 127.0.0.1, so nginx's ip_hash (sticky by client
   address) sends them all to the same replica. With two: each visitor connects from its own
   loopback address 127.0.k.1 (ip_hash keys on the first three octets), spread over both. The
   phases alternate one, two, two, one so both see the same machine load.
2. Relay across replicas: M live chats (default 50) with their visitors on replica A. The agent
   writes through the inbox API of replica B (the message reaches A through Redis) and, as the
   baseline, of replica A itself: agent -> visitor latency, p50/p99, cross/same ratio.

    PYTHONPATH=. .venv/bin/python bench/scaled.py [--visitors 200] [--seconds 20] [--chats 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BIN,
    OPEN_LIMITS,
    ROOT,
    InboxAgent,
    Visitor,
    clean_env,
    conversation_ids,
    free_port,
    percentile,
    quiet,
    start_visitors,
    stop_visitors,
)
from bench.saturation import alternate  # noqa: E402

START_TIMEOUT = 300.0  # PostgreSQL, Redis, nginx, the action server and two replicas loading the model
PAUSE = (0.2, 0.8)  # seconds between a chat's messages
DEMO_AGENT = "agent@example.com"


@dataclass
class Stack:
    state: Path
    public_port: int
    replica_ports: list[int]
    pg_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.replica_ports[index]}"

    @property
    def database_url(self) -> str:
        password = (self.state / "scaled" / "postgres-password").read_text().strip()
        return f"postgresql+asyncpg://handoff:{password}@127.0.0.1:{self.pg_port}/handoff"

    @property
    def agent_password(self) -> str:
        return (self.state / "demo-agent-password").read_text().strip()

    def replicas_by_client(self) -> Counter[str]:
        """How many client addresses nginx sent to each replica (its access log)."""
        log = self.state / "scaled" / "nginx" / "logs" / "access.log"
        pinned: dict[str, str] = {}
        for line in log.read_text().splitlines():
            found = re.match(r"(\S+) .*\"(?:GET|POST) /socket\.io/.* -> (\S+)$", line)
            if found:
                pinned[found[1]] = found[2]
        return Counter(pinned.values())


@contextlib.contextmanager
def demo_scaled(workdir: Path) -> Iterator[Stack]:
    """scripts/demo_scaled.sh on free ports, its state in `workdir`; Ctrl-C'd (SIGINT) at the end."""
    ports = [free_port() for _ in range(6)]
    stack = Stack(workdir, ports[0], ports[1:3], ports[3])
    env = clean_env(
        VENV=str(BIN.parent),
        DEMO_STATE_DIR=str(workdir),
        PUBLIC_PORT=str(ports[0]),
        REPLICA_PORTS=f"{ports[1]} {ports[2]}",
        PG_PORT=str(ports[3]),
        REDIS_PORT=str(ports[4]),
        ACTIONS_PORT=str(ports[5]),
        **OPEN_LIMITS,
    )
    log = workdir / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "scripts/demo_scaled.sh"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        print("bench: starting the demo-scaled stack...", file=sys.stderr)
        deadline = time.monotonic() + START_TIMEOUT
        while not (workdir / "scaled" / "ready").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench: demo_scaled.sh did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield stack
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


async def saturation(stack: Stack, count: int, seconds: float) -> dict[str, Any]:
    crowds = {
        "one replica": await start_visitors(stack.url, count),
        "two replicas": await start_visitors(
            stack.url, count, sources=[f"127.0.{k + 1}.1" for k in range(count)]
        ),
    }
    for crowd in crowds.values():  # warm-up: one turn each
        await asyncio.gather(*(v.turn("hello", timeout=120) for v in crowd))
    order = ("one replica", "two replicas", "two replicas", "one replica")
    totals = await alternate(crowds, order, seconds)
    for crowd in crowds.values():
        await stop_visitors(crowd)
    return totals


async def relay(stack: Stack, count: int, rounds: int) -> dict[str, list[float]]:
    visitors = await start_visitors(stack.replica_url(0), count)
    await asyncio.gather(*(v.turn("hello", timeout=120) for v in visitors))
    ids = await conversation_ids(stack.database_url, [v.sender_id for v in visitors])
    agents = {
        "same replica": InboxAgent(stack.replica_url(0), DEMO_AGENT, stack.agent_password),
        "across replicas": InboxAgent(stack.replica_url(1), DEMO_AGENT, stack.agent_password),
    }
    for agent in agents.values():
        await agent.login()
    samples: dict[str, list[float]] = {path: [] for path in agents}
    errors: Counter[str] = Counter()

    async def says(path: str, visitor: Visitor, cid: int, text: str, timed: bool = True) -> None:
        started = time.perf_counter()
        try:
            await agents[path].send(cid, text)
            while (await asyncio.wait_for(visitor.replies.get(), 30)).get("text") != text:
                pass  # the "joined the chat" notice, late bot bubbles
        except Exception as problem:  # noqa: BLE001  (counted and reported, not fatal)
            errors[f"{path}: {type(problem).__name__}"] += 1
            return
        if timed:
            samples[path].append((time.perf_counter() - started) * 1000)

    async def chat(visitor: Visitor, cid: int) -> None:
        # The first reply starts the live chat (a tracker write, not a relay): not timed.
        await says("across replicas", visitor, cid, "Hi, Demo here.", timed=False)
        for i in range(rounds):
            for path in agents:
                await asyncio.sleep(random.uniform(*PAUSE))
                await says(path, visitor, cid, f"{path} {i}")

    await asyncio.gather(*(chat(v, c) for v, c in zip(visitors, ids, strict=True)))
    for cid in ids:
        await agents["same replica"].end(cid)
    for agent in agents.values():
        await agent.close()
    await stop_visitors(visitors)
    if errors:
        print(f"bench: {sum(errors.values())} relays failed: {dict(errors)}", file=sys.stderr)
    return {**samples, "errors": [float(sum(errors.values()))]}


async def measure(stack: Stack, visitors: int, seconds: float, chats: int, rounds: int) -> Any:
    quiet()
    totals = await saturation(stack, visitors, seconds)
    spread = stack.replicas_by_client()
    relays = await relay(stack, chats, rounds)
    return totals, spread, relays


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20, help="per replica count (default 20)")
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6, help="agent messages per path per chat")
    parser.add_argument(
        "--keep", type=Path, help="keep the stack's state and logs in this new directory"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the stack (finally)
    with contextlib.ExitStack() as cleanup:
        if args.keep:
            args.keep.mkdir(parents=True)
            workdir = args.keep.resolve()
        else:
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="scaled-")))
        if os.geteuid() == 0:  # PostgreSQL runs as `postgres` and must reach its directory
            os.chmod(workdir, 0o711)
        with demo_scaled(workdir) as stack:
            totals, spread, relays = asyncio.run(
                measure(stack, args.visitors, args.seconds, args.chats, args.rounds)
            )
    result: dict[str, Any] = {"visitors": args.visitors, "chats": args.chats}
    print(f"saturation through nginx, {args.visitors} concurrent visitors, closed loop, polling")
    print(f"{'replicas':<14}{'turns':>8}{'turns/s':>9}{'timeouts':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, total in totals.items():
        row = {
            "turns_per_s": total["turns"] / total["seconds"],
            "turns": total["turns"],
            "timeouts": total["failures"],
            "p50_ms": percentile(total["ms"], 50),
            "p99_ms": percentile(total["ms"], 99),
        }
        result[kind] = row
        print(
            f"{kind:<14}{row['turns']:>8}{row['turns_per_s']:>9.1f}{row['timeouts']:>10}"
            f"{row['p50_ms']:>9.0f}{row['p99_ms']:>9.0f}"
        )
    result["ratio"] = result["two replicas"]["turns_per_s"] / result["one replica"]["turns_per_s"]
    result["client_addresses_per_replica"] = dict(spread)
    print(f"ratio two/one replica turns/s: {result['ratio']:.2f}")
    print(f"client addresses per replica (nginx's access log): {dict(spread)}")
    print(f"relay agent -> visitor, ms, {args.chats} live chats on replica A")
    print(f"{'agent on':<18}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}")
    result["errors"] = relays.pop("errors")[0]
    for path, values in relays.items():
        row = {f"p{q}": percentile(values, q) for q in (50, 95, 99)}
        result[path] = row
        print(f"{path:<18}{len(values):>6}{row['p50']:>8.1f}{row['p95']:>8.1f}{row['p99']:>8.1f}")
    result["relay_ratio_p99"] = result["across replicas"]["p99"] / result["same replica"]["p99"]
    print(f"ratio across/same replica p99: {result['relay_ratio_p99']:.2f}; errors {result['errors']:.0f}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
