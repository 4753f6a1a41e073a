"""Memory per idle connected visitor and per live chat: RSS of a separate `rasa run` process
(livechat, REST and inbox channels, in-memory tracker store), read from /proc/<pid>/status.

1. warm-up: a few visitors connect, chat and leave (first imports, caches); RSS baseline.
2. N visitors connect (polling transport) and get a session: RSS delta / N per idle visitor.
3. each says hello (a bot turn: the conversation and its tracker exist) and an agent answers it
   through the inbox API (the bot pauses, a live chat): RSS delta / N per live chat.

    PYTHONPATH=. .venv/bin/python bench/memory.py [--visitors 1000]
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
    MODEL,
    InboxAgent,
    Visitor,
    add_agent,
    conversation_ids,
    quiet,
    rasa_server,
    rss_kb,
    start_visitors,
    stop_visitors,
)


async def settled_rss(pid: int, seconds: float = 3.0) -> int:
    """RSS once the server went quiet for a moment (queued work done)."""
    await asyncio.sleep(seconds)
    return rss_kb(pid)


async def bounded(parallel: int, jobs: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(parallel)

    async def run(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(run(job) for job in jobs))


async def measure(
    url: str, pid: int, database_url: str, count: int, settle: float
) -> dict[str, Any]:
    quiet()
    await add_agent(database_url)
    warm = await start_visitors(url, 10)
    await asyncio.gather(*(v.turn("hello", timeout=60) for v in warm))
    await stop_visitors(warm)
    agent = InboxAgent(url)
    await agent.login()
    base = await settled_rss(pid, settle)

    started = time.perf_counter()
    visitors = await start_visitors(url, count)
    connected = await settled_rss(pid, settle)
    connect_s = time.perf_counter() - started

    async def hello(visitor: Visitor) -> Visitor | None:
        try:
            await visitor.turn("hello", timeout=120)
            return visitor
        except asyncio.TimeoutError:
            return None

    answered = [v for v in await bounded(100, [hello(v) for v in visitors]) if v is not None]
    chatted = await settled_rss(pid, settle)
    ids = await conversation_ids(database_url, [v.sender_id for v in answered])

    async def go_live(visitor: Visitor, cid: int) -> bool:
        visitor.drain()
        try:
            await agent.send(cid, "Hi, Bea here.")
            while (await asyncio.wait_for(visitor.replies.get(), 120)).get(
                "text"
            ) != "Hi, Bea here.":
                pass
            return True
        except (asyncio.TimeoutError, RuntimeError):
            return False

    went = await bounded(50, [go_live(v, c) for v, c in zip(answered, ids, strict=True)])
    live_count = sum(went)
    live = await settled_rss(pid, settle)
    await stop_visitors(visitors)
    await agent.close()
    return {
        "visitors": count,
        "connect_seconds": connect_s,
        "rss_base_mb": base / 1024,
        "rss_connected_mb": connected / 1024,
        "rss_chatted_mb": chatted / 1024,
        "rss_live_mb": live / 1024,
        "kb_per_idle_visitor": (connected - base) / count,
        "kb_per_conversation": (chatted - connected) / count,
        "kb_per_live_chat": (live - connected) / max(1, live_count),
        "live_chats": live_count,
        "failed": count - live_count,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=3.0, help="s of quiet before each RSS")
    parser.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        with rasa_server("full", Path(tmp), args.model) as server:
            result = asyncio.run(
                measure(server.url, server.pid, server.database_url, args.visitors, args.settle)
            )
    print(f"memory of the Rasa server process, {args.visitors} visitors (RSS from /proc)")
    print(
        f"RSS: {result['rss_base_mb']:.0f} MB warm, {result['rss_connected_mb']:.0f} MB connected, "
        f"{result['rss_chatted_mb']:.0f} MB after a bot turn each, {result['rss_live_mb']:.0f} MB live"
    )
    print(f"per idle connected visitor: {result['kb_per_idle_visitor']:.1f} KB")
    if result["failed"]:
        print(f"{result['failed']} visitors got no bot reply or no agent message (not counted)")
    print(
        f"per live chat (conversation, tracker, live state): {result['kb_per_live_chat']:.1f} KB "
        f"(of which the bot conversation before going live {result['kb_per_conversation']:.1f} KB)"
    )
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
