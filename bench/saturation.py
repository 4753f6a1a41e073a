"""Bot turns per second under load: livechat vs Rasa's stock SocketIOInput, same model, same run.

Starts both `rasa run` servers on loopback (as bench/livechat_latency.py does: in-memory tracker
store, one process each; livechat also writes its transcript to SQLite), connects `--visitors`
socket.io visitors (polling) to one server at a time and has each say `--turns` messages, each
waiting for the bot's reply; the servers take turns round by round so both see the same load.
Prints bot turns/s and p50/p99 turn latency per channel and the livechat/stock ratios.

    PYTHONPATH=. .venv/bin/python bench/saturation.py --visitors 200 --turns 5 --rounds 2
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.livechat_latency import CREDENTIALS, MESSAGES, Visitor, percentile  # noqa: E402
from tests.servers import free_port  # noqa: E402

# Every bench visitor comes from 127.0.0.1: lift the visitor limits (they are per address).
LIFTED = {
    f"HANDOFF_LIVECHAT_{name}": "100000"
    for name in (
        "RATE_LIMIT_BURST",
        "RATE_LIMIT_PER_MINUTE",
        "RATE_LIMIT_PER_ADDRESS_BURST",
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE",
        "SESSIONS_PER_ADDRESS_PER_MINUTE",
        "SOCKETS_PER_ADDRESS",
    )
}


@contextlib.contextmanager
def rasa_server(kind: str, model: Path, workdir: Path) -> Iterator[str]:
    """`rasa run` with the `kind` channel on a free loopback port, stopped on exit."""
    port = free_port()
    credentials = workdir / f"credentials-{kind}.yml"
    credentials.write_text(CREDENTIALS[kind])
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text("# in-memory tracker store and lock store\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "PYTHONPATH": str(ROOT),
        "HANDOFF_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/handoff-{kind}.db",
        **LIFTED,
    }
    log = workdir / f"rasa-{kind}.log"
    command = [str(Path(sys.executable).parent / "rasa"), "run", "--port", str(port)]
    command += ["--model", str(model), "--credentials", str(credentials)]
    command += ["--endpoints", str(endpoints)]
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


TURN_TIMEOUT = 120.0  # one reply; a server that takes longer has failed the run


async def visitor_turns(visitor: Visitor, turns: int, offset: int) -> list[float]:
    samples = []
    for n in range(turns):
        while not visitor.replies.empty():  # a second bubble of the previous turn
            visitor.replies.get_nowait()
        started = time.perf_counter()
        await visitor.sio.emit(
            "user_uttered", {"message": MESSAGES[(n + offset) % len(MESSAGES)], "customData": {}}
        )
        await asyncio.wait_for(visitor.replies.get(), TURN_TIMEOUT)
        samples.append(time.perf_counter() - started)
    return samples


async def one_round(url: str, visitors: int, turns: int) -> tuple[float, list[float]]:
    """(bot turns/s, per-turn latencies in ms) of `visitors` talking at once."""
    crowd = [Visitor(url) for _ in range(visitors)]
    for chunk in range(0, visitors, 20):  # connect in small batches: measure turns, not connects
        await asyncio.gather(*(v.start() for v in crowd[chunk : chunk + 20]))
    started = time.perf_counter()
    results = await asyncio.gather(*(visitor_turns(v, turns, i) for i, v in enumerate(crowd)))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(v.stop() for v in crowd))
    latencies = [s * 1000 for samples in results for s in samples]
    return len(latencies) / elapsed, latencies


async def measure(urls: dict[str, str], visitors: int, turns: int, rounds: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {kind: [] for kind in urls}
    latencies: dict[str, list[float]] = {kind: [] for kind in urls}
    for n in range(rounds):
        for kind in list(urls) if n % 2 == 0 else list(reversed(urls)):
            rate, samples = await one_round(urls[kind], visitors, turns)
            rates[kind].append(rate)
            latencies[kind].extend(samples)
            print(f"round {n + 1} {kind}: {rate:.1f} turns/s", file=sys.stderr)
    return {"rates": rates, "latencies": latencies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--turns", type=int, default=5, help="per visitor and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "handoff.tar.gz")
    args = parser.parse_args()
    if not args.model.is_file():
        raise SystemExit(f"bench: no model at {args.model}; run `make model`")
    with tempfile.TemporaryDirectory(prefix="saturation-bench-") as tmp:
        workdir = Path(tmp)
        with rasa_server("livechat", args.model, workdir) as livechat:
            with rasa_server("stock", args.model, workdir) as stock:
                result = asyncio.run(
                    measure(
                        {"livechat": livechat, "stock": stock},
                        args.visitors,
                        args.turns,
                        args.rounds,
                    )
                )
    print(
        f"saturation: {args.visitors} visitors at once x {args.turns} turns x {args.rounds} rounds"
        " per channel (polling transport)"
    )
    print(f"{'channel':<28}{'turns/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    names = {"livechat": "livechat (this plugin)", "stock": "stock SocketIOInput"}
    rate = {kind: statistics.mean(values) for kind, values in result["rates"].items()}
    for kind, values in result["latencies"].items():
        print(
            f"{names[kind]:<28}{rate[kind]:>9.1f}{percentile(values, 50):>9.0f}"
            f"{percentile(values, 99):>9.0f}"
        )
    print(f"ratio livechat/stock turns/s: {rate['livechat'] / rate['stock']:.2f}")
    for q in (50, 99):
        lat = result["latencies"]
        print(
            f"ratio livechat/stock p{q}: {percentile(lat['livechat'], q) / percentile(lat['stock'], q):.2f}"
        )


if __name__ == "__main__":
    main()
