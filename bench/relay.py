"""Relay latency of live chat, agent -> visitor and visitor -> agent, with N concurrent live chats
on one process, against a bare python-socketio echo server in the same run (the floor).

In this process: a Rasa server with the livechat, REST and inbox channels (the trained model, as
`rasa run` wires it) and a bare python-socketio echo server (aiohttp). N visitors (python-socketio
AsyncClient, polling transport) each say hello to the bot, then an agent answers each of them
(`LiveChatService.send_agent_message`, what the inbox API calls): N live chats. Then every chat at
once, `--rounds` times with a random pause: the agent writes (timed until the visitor's socket has
it) and the visitor writes (timed until the inbox's event feed has it, what the SSE stream sends
the agent). The echo clients, as many, do the same number of round trips with the same pauses.

    PYTHONPATH=. .venv/bin/python bench/relay.py [--chats 50 200] [--rounds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    MODEL,
    OPEN_LIMITS,
    Visitor,
    free_port,
    percentile,
    quiet,
    start_visitors,
    stop_visitors,
)

PAUSE = (0.2, 0.8)  # seconds between a chat's messages (people do not type every millisecond)


async def echo_server() -> tuple[str, web.AppRunner]:
    sio = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio.attach(app)

    @sio.on("ping")  # type: ignore[misc]
    async def ping(sid: str, data: Any) -> None:
        await sio.emit("pong", data, to=sid)

    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return f"http://127.0.0.1:{port}", runner


async def echo_round_trips(url: str, clients: int, rounds: int) -> list[float]:
    samples: list[float] = []

    async def client() -> None:
        sio = socketio.AsyncClient(reconnection=False)
        pongs: asyncio.Queue[Any] = asyncio.Queue()
        sio.on("pong", pongs.put)
        await sio.connect(url, transports=["polling"])
        for i in range(rounds * 2):  # as many messages as a chat sends both ways
            await asyncio.sleep(random.uniform(*PAUSE) / 2)
            started = time.perf_counter()
            await sio.emit("ping", {"n": i})
            await asyncio.wait_for(pongs.get(), 30)
            samples.append((time.perf_counter() - started) * 1000)
        await sio.disconnect()

    gate = asyncio.Semaphore(25)

    async def gated() -> None:
        async with gate:
            pass
        await client()

    await asyncio.gather(*(gated() for _ in range(clients)))
    return samples


async def start_rasa(workdir: Path) -> Any:
    from rasa.core.agent import Agent

    from handoff_plugin.config.settings import base_layers
    from handoff_plugin.services import Services
    from tests.integration.livechat.harness import start_server

    env = {"HANDOFF_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/handoff.db", **OPEN_LIMITS}
    services = await Services.create(base_layers(env, workdir / "none.yml"))
    agent = Agent.load(str(MODEL))
    quiet()  # loading the model configures logging again
    return await start_server(agent, services, free_port())


async def live_chats(server: Any, count: int, rounds: int) -> dict[str, list[float]]:
    from handoff_plugin.models import AgentRef, Author
    from handoff_plugin.store.queries.conversations import ConversationQueries

    agent = AgentRef("bench-agent", "Bea")
    visitors = await start_visitors(server.url, count)
    await asyncio.gather(*(v.turn("hello", timeout=120) for v in visitors))
    ids: list[int] = []
    for visitor in visitors:
        async with server.services.store.transaction() as tx:
            conversation = await ConversationQueries(tx).conversation_by_sender(visitor.sender_id)
        assert conversation is not None, "the visitor's conversation was not stored"
        ids.append(conversation.id)
    await asyncio.sleep(1)
    for visitor in visitors:
        visitor.drain()

    waiting: dict[tuple[int, str], asyncio.Future[float]] = {}
    feed = server.livechat.broker.subscribe()

    async def read_feed() -> None:
        async for event in feed:
            message = event.message
            if event.kind == "message.created" and message and message.author is Author.VISITOR:
                future = waiting.pop((event.conversation_id, message.text or ""), None)
                if future is not None and not future.done():
                    future.set_result(time.perf_counter())

    reader = asyncio.create_task(read_feed())

    errors: Counter[str] = Counter()

    async def agent_says(visitor: Visitor, cid: int, text: str) -> float | None:
        started = time.perf_counter()
        try:
            await server.livechat.send_agent_message(cid, agent, text)
            while (await asyncio.wait_for(visitor.replies.get(), 30)).get("text") != text:
                pass
        except Exception as problem:  # noqa: BLE001  (counted and reported, not fatal)
            errors[f"agent message: {type(problem).__name__}"] += 1
            return None
        return (time.perf_counter() - started) * 1000

    async def visitor_says(visitor: Visitor, cid: int, text: str) -> float | None:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        waiting[(cid, text)] = future
        started = time.perf_counter()
        try:
            await visitor.say(text)
            return (await asyncio.wait_for(future, 30) - started) * 1000
        except Exception as problem:  # noqa: BLE001
            errors[f"visitor message: {type(problem).__name__}"] += 1
            return None

    await asyncio.gather(
        *(agent_says(v, c, "Hi, Bea here.") for v, c in zip(visitors, ids, strict=True))
    )
    samples: dict[str, list[float]] = {"agent_to_visitor": [], "visitor_to_agent": []}

    async def chat(visitor: Visitor, cid: int) -> None:
        for i in range(rounds):
            await asyncio.sleep(random.uniform(*PAUSE))
            if (sample := await agent_says(visitor, cid, f"agent {i}")) is not None:
                samples["agent_to_visitor"].append(sample)
            await asyncio.sleep(random.uniform(*PAUSE))
            if (sample := await visitor_says(visitor, cid, f"visitor {i}")) is not None:
                samples["visitor_to_agent"].append(sample)

    await asyncio.gather(*(chat(v, c) for v, c in zip(visitors, ids, strict=True)))
    await feed.close()
    reader.cancel()
    for cid in ids:
        with contextlib.suppress(Exception):
            await server.livechat.end_live_chat(cid, agent)
    await stop_visitors(visitors)
    samples["errors"] = [float(sum(errors.values()))]
    if errors:
        print(f"{count} chats: {sum(errors.values())} relays failed: {dict(errors)}")
    return samples


async def run(counts: list[int], rounds: int) -> dict[int, dict[str, list[float]]]:
    quiet()
    result: dict[int, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        server = await start_rasa(Path(tmp))
        echo_url, echo = await echo_server()
        try:
            for count in counts:
                echo_ms = await echo_round_trips(echo_url, count, rounds)
                relay = await live_chats(server, count, rounds)
                result[count] = {"echo": echo_ms, **relay}
        finally:
            await echo.cleanup()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.stop(), 30)
                await asyncio.wait_for(server.services.close(), 30)
    return result


def main(argv: list[str] | None = None) -> dict[int, dict[str, dict[str, float]]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--chats", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--rounds", type=int, default=8, help="messages each way per chat")
    args = parser.parse_args(argv)
    samples = asyncio.run(run(args.chats, args.rounds))
    figures: dict[int, dict[str, dict[str, float]]] = {}
    print(f"relay latency, ms ({args.rounds} messages each way per chat, polling transport)")
    print(f"{'chats':>6} {'path':<22}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'p99/echo':>10}")
    for count, by_path in samples.items():
        echo_p99 = percentile(by_path["echo"], 99)
        figures[count] = {}
        figures[count]["errors"] = {"count": by_path.pop("errors")[0]}
        for path, values in by_path.items():
            row = {f"p{q}": percentile(values, q) for q in (50, 95, 99)}
            row["ratio_p99"] = row["p99"] / echo_p99
            figures[count][path] = row
            print(
                f"{count:>6} {path:<22}{len(values):>6}{row['p50']:>8.1f}{row['p95']:>8.1f}"
                f"{row['p99']:>8.1f}{row['ratio_p99']:>10.2f}"
            )
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
