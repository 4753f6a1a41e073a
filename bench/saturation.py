"""Saturation throughput: bot turns per second with N concurrent visitors (default 200), the
livechat channel vs Rasa's stock SocketIOInput, same model, same run.

Both servers run at once (`rasa run`, in-memory tracker store); the phases alternate
livechat, stock, stock, livechat so both see the same machine load. In each phase every visitor
sends a message as soon as the bot answered its previous one, for `--seconds`.

    PYTHONPATH=. .venv/bin/python bench/saturation.py [--visitors 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    MESSAGES,
    MODEL,
    Visitor,
    percentile,
    quiet,
    rasa_servers,
    start_visitors,
    stop_visitors,
)


async def phase(visitors: list[Visitor], seconds: float) -> tuple[int, int, list[float]]:
    """Closed loop for `seconds`: (turns answered, turns timed out, latencies ms)."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    failures = 0

    async def loop(n: int, visitor: Visitor) -> None:
        nonlocal failures
        i = n
        while time.perf_counter() < deadline:
            try:
                latencies.append(await visitor.turn(MESSAGES[i % len(MESSAGES)]) * 1000)
            except asyncio.TimeoutError:
                failures += 1
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(n, v) for n, v in enumerate(visitors)))
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1)  # late second bubbles of the last turns
    for visitor in visitors:
        visitor.drain()
    return len(latencies), failures, [elapsed, *latencies]


async def alternate(
    crowds: dict[str, list[Visitor]], order: tuple[str, ...], seconds: float
) -> dict[str, dict[str, Any]]:
    """The closed-loop `phase`s in `order` (`seconds` per crowd, split over its phases), summed
    per crowd: turns, failures (timed-out turns), seconds and latencies in ms."""
    totals: dict[str, dict[str, Any]] = {
        kind: {"turns": 0, "failures": 0, "seconds": 0.0, "ms": []} for kind in crowds
    }
    for kind in order:
        turns, failures, (elapsed, *ms) = await phase(crowds[kind], seconds / order.count(kind))
        total = totals[kind]
        total["turns"] += turns
        total["failures"] += failures
        total["seconds"] += elapsed
        total["ms"] += ms
    return totals


async def measure(urls: dict[str, str], count: int, seconds: float) -> dict[str, Any]:
    quiet()
    crowds = {kind: await start_visitors(url, count) for kind, url in urls.items()}
    for kind in urls:  # warm-up: one turn each
        await asyncio.gather(*(v.turn("hello") for v in crowds[kind]))
    totals = await alternate(crowds, ("livechat", "stock", "stock", "livechat"), seconds)
    for crowd in crowds.values():
        await stop_visitors(crowd)
    return totals


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20, help="per channel (default 20)")
    parser.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="saturation-bench-") as tmp:
        workdir = Path(tmp)
        with rasa_servers(["livechat", "stock"], workdir, args.model) as (livechat, stock):
            urls = {"livechat": livechat.url, "stock": stock.url}
            totals = asyncio.run(measure(urls, args.visitors, args.seconds))
    result: dict[str, Any] = {"visitors": args.visitors}
    print(f"saturation, {args.visitors} concurrent visitors, closed loop, polling transport")
    print(f"{'channel':<12}{'turns':>8}{'turns/s':>9}{'timeouts':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, total in totals.items():
        rate = total["turns"] / total["seconds"]
        result[kind] = {
            "turns_per_s": rate,
            "turns": total["turns"],
            "timeouts": total["failures"],
            "p50_ms": percentile(total["ms"], 50),
            "p99_ms": percentile(total["ms"], 99),
        }
        row = result[kind]
        print(
            f"{kind:<12}{total['turns']:>8}{rate:>9.1f}{total['failures']:>10}"
            f"{row['p50_ms']:>9.0f}{row['p99_ms']:>9.0f}"
        )
    result["ratio"] = result["livechat"]["turns_per_s"] / result["stock"]["turns_per_s"]
    print(f"ratio livechat/stock turns/s: {result['ratio']:.2f}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
