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
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port  # noqa: E402  (one helper for tests and benches)

MESSAGES = [
    "hello",
    "what are your opening hours?",
    "how much does it cost?",
    "how long does shipping take?",
    "thanks",
]
CREDENTIALS = {
    "livechat": "rest:\nchannels.livechat.LiveChatInput:\n",
    "stock": "rest:\nsocketio:\n  user_message_evt: user_uttered\n  bot_message_evt: bot_uttered\n"
    "  session_persistence: false\n",
}


@contextlib.contextmanager
def rasa_server(kind: str, model: Path, workdir: Path) -> Iterator[str]:
    port = free_port()
    credentials = workdir / f"credentials-{kind}.yml"
    credentials.write_text(CREDENTIALS[kind])
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text("# in-memory tracker store and lock store\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "PYTHONPATH": str(ROOT),
        "HANDOFF_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/handoff-{kind}.db",
        "HANDOFF_LIVECHAT_RATE_LIMIT_BURST": "100000",
        "HANDOFF_LIVECHAT_RATE_LIMIT_PER_MINUTE": "100000",
        "HANDOFF_LIVECHAT_RATE_LIMIT_PER_ADDRESS_BURST": "100000",
        "HANDOFF_LIVECHAT_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "100000",
    }
    log = workdir / f"rasa-{kind}.log"
    rasa = Path(sys.executable).parent / "rasa"
    command = [str(rasa), "run", "--port", str(port), "--model", str(model)]
    command += ["--credentials", str(credentials), "--endpoints", str(endpoints)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench: {kind} server did not start:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/", timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print(f"bench: {kind} server did not stop within 30 s; killing it", file=sys.stderr)
            process.kill()
            process.wait()


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def measure(urls: dict[str, str], turns: int, warmup: int) -> dict[str, list[float]]:
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
        with rasa_server("livechat", args.model, workdir) as livechat:
            with rasa_server("stock", args.model, workdir) as stock:
                samples = asyncio.run(
                    measure({"livechat": livechat, "stock": stock}, args.turns, args.warmup)
                )

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
