"""Bot-turn latency through the livechat channel vs Rasa's stock SocketIOInput, same model, same run.

Starts two `rasa run` servers on loopback with the trained model (one with the livechat channel,
one with Rasa's `socketio` channel), then measures, for each, the time from a visitor's
`user_uttered` to the first `bot_uttered`, over N sequential turns, alternating servers turn by
turn so both see the same machine load. Prints p50/p99 per channel and livechat/stock ratios.

    PYTHONPATH=. .venv/bin/python bench/livechat_latency.py --turns 100

Both use Rasa's in-memory tracker store (the stock channel then has nothing to wait for but
Rasa); the livechat server also writes its transcript to SQLite (`HANDOFF_DATABASE_URL`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import MESSAGES, percentile, quiet, rasa_servers  # noqa: E402


class Visitor:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[Any] = asyncio.Queue()
        self.sio.on("bot_uttered", self.replies.put)
        self.sio.on("session_confirm", self.replies.put)

    async def start(self) -> None:
        await self.sio.connect(self.url, transports=["polling"])
        await self.sio.emit("session_request", {"session_id": None})
        await asyncio.wait_for(self.replies.get(), 10)

    async def turn(self, text: str) -> float:
        while not self.replies.empty():  # replies to earlier turns (e.g. a second bubble)
            self.replies.get_nowait()
        started = time.perf_counter()
        await self.sio.emit("user_uttered", {"message": text, "customData": {}})
        await asyncio.wait_for(self.replies.get(), 30)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.05)  # let any further bubbles of this turn arrive
        return elapsed

    async def stop(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.sio.disconnect(), 3)


async def measure(urls: dict[str, str], turns: int, warmup: int) -> dict[str, list[float]]:
    quiet()
    visitors = {kind: Visitor(url) for kind, url in urls.items()}
    for visitor in visitors.values():
        await visitor.start()
    samples: dict[str, list[float]] = {kind: [] for kind in urls}
    for n in range(warmup + turns):
        text = MESSAGES[n % len(MESSAGES)]
        order = list(visitors) if n % 2 == 0 else list(reversed(visitors))
        for kind in order:
            elapsed = await visitors[kind].turn(text)
            if n >= warmup:
                samples[kind].append(elapsed * 1000)
    for visitor in visitors.values():
        await visitor.stop()
    return samples


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "handoff.tar.gz")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        raise SystemExit(f"bench: no model at {args.model}; run `make model`")

    with tempfile.TemporaryDirectory(prefix="livechat-bench-") as tmp:
        workdir = Path(tmp)
        with rasa_servers(["livechat", "stock"], workdir, args.model) as (livechat, stock):
            urls = {"livechat": livechat.url, "stock": stock.url}
            samples = asyncio.run(measure(urls, args.turns, args.warmup))

    print(f"bot-turn latency, {args.turns} sequential turns per channel (polling transport), ms")
    print(f"{'channel':<28}{'p50':>8}{'p99':>8}{'mean':>8}")
    names = {"livechat": "livechat (this plugin)", "stock": "stock SocketIOInput"}
    result: dict[str, Any] = {"turns": args.turns}
    for kind, values in samples.items():
        result[kind] = {"p50": percentile(values, 50), "p99": percentile(values, 99)}
        print(
            f"{names[kind]:<28}{percentile(values, 50):>8.1f}{percentile(values, 99):>8.1f}"
            f"{statistics.mean(values):>8.1f}"
        )
    for q in (50, 99):
        ratio = percentile(samples["livechat"], q) / percentile(samples["stock"], q)
        result[f"ratio_p{q}"] = ratio
        print(f"ratio livechat/stock p{q}: {ratio:.2f}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
