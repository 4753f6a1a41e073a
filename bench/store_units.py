"""Write throughput of the store on SQLite: 500 small units of work (a visitor message each),
50 at a time, as a burst of live-chat messages makes them. Shows what group commit buys.

    PYTHONPATH=. .venv/bin/python bench/store_units.py [--units 500] [--at-once 50]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handoff_plugin.models import Author  # noqa: E402
from handoff_plugin.store import StoreTransaction, open_store  # noqa: E402
from handoff_plugin.store.queries.conversations import ConversationQueries  # noqa: E402
from handoff_plugin.store.queries.livechat import LiveChatQueries  # noqa: E402


async def main(units: int, at_once: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await open_store(f"sqlite+aiosqlite:///{folder}/handoff.db")
        latencies: list[float] = []

        async def visitor(n: int) -> None:
            for r in range(units // at_once):

                async def says(tx: StoreTransaction, r: int = r) -> None:
                    conversation = await ConversationQueries(tx).ensure_conversation(
                        f"v{n}", "livechat"
                    )
                    await LiveChatQueries(tx).append_message(conversation, Author.VISITOR, f"m{r}")

                started = time.perf_counter()
                await store.run(says)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(visitor(n) for n in range(at_once)))
        elapsed = time.perf_counter() - started
        await store.close()
    latencies.sort()
    done = len(latencies)
    print(
        f"{done} units, {at_once} at once: {done / elapsed:.0f} units/s, "
        f"p50 {latencies[done // 2] * 1000:.1f} ms, p99 {latencies[int(done * 0.99)] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--at-once", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.units, arguments.at_once))
