"""How long the visitor waits for the escalation's confirmation, with every notifier on and a
10 s-slow webhook receiver versus no notifiers at all, measured in the same run.

Starts two real action servers (`rasa run actions`, the reference bot's actions, each with its own
SQLite database): the baseline with every notifier off, the other with email (a local SMTP
server), Slack (a local stand-in for its Web API) and the webhook on, the webhook pointed at a
local receiver that takes 10 s to answer each request. Then it sends the same `action_escalate`
call Rasa sends, alternating between the two, and times call -> reply. After each call to the
slow set-up the next waits for its email and Slack post (see `notified`).

    .venv/bin/python bench/confirmation_latency.py [--rounds 60] [--delay 10]

Prints p50/p95 per set-up and the ratio slow/baseline (1.0 = the slow receiver costs nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RASA = Path(sys.executable).parent / "rasa"
BENCH_TOKEN = "bench-actions-token"  # the action servers refuse calls without it

from tests.servers import SLACK_OK, HttpServer, SmtpServer, free_port  # noqa: E402


class SlowReceiver:
    """A webhook receiver that answers 200 after `delay` seconds, in its own thread."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.port = free_port()
        self.received = 0
        self.answered = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.received += 1
        await asyncio.sleep(self.delay)
        self.answered += 1
        return web.Response(text="ok")

    async def serve(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()

    def start(self) -> SlowReceiver:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.serve(), self.loop).result(10)
        return self


class ActionServer:
    def __init__(self, name: str, workdir: Path, settings: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
        env.update(
            PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
            HANDOFF_ACTIONS_TOKEN=BENCH_TOKEN,
            HANDOFF_DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/{name}.db",
            **settings,
        )
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(RASA), "run", "actions", "--port", str(self.port), "--actions", "actions"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_until_up(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} action server exited:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        sys.exit(f"{self.name} action server did not start; see {self.log}")

    def escalate(self) -> float:
        """One `action_escalate` call as Rasa makes it; seconds until the reply arrived."""
        sender = f"bench-{uuid.uuid4().hex[:12]}"
        user = {
            "event": "user",
            "text": "I want to talk to a human",
            "parse_data": {"intent": {"name": "human_handoff", "confidence": 0.99}},
            "input_channel": "rest",
        }
        call = {
            "next_action": "action_escalate",
            "sender_id": sender,
            "version": "3.6.21",
            "domain": {},
            "tracker": {
                "sender_id": sender,
                "slots": {"handoff_email": f"{sender}@example.com"},
                "latest_message": user,
                "events": [user],
                "paused": False,
                "followup_action": None,
                "active_loop": {},
                "latest_action_name": "handoff_form",
            },
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhook?token={BENCH_TOKEN}",
            data=json.dumps(call).encode(),
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            reply: Any = json.loads(response.read())
        elapsed = time.perf_counter() - started
        if not any("passed your request" in (r.get("text") or "") for r in reply["responses"]):
            sys.exit(f"{self.name}: unexpected reply {reply}")
        return elapsed

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def notified(smtp: SmtpServer, slack: HttpServer, escalations: int, timeout: float = 30) -> None:
    """Wait until the email and the Slack post of each of `escalations` arrived. The sends
    (and the writes that record them) would otherwise overlap the next call, and as often the
    baseline's as the slow set-up's: both processes share this machine's cores and disk."""
    deadline = time.monotonic() + timeout
    while len(smtp.recipients) < escalations or len(slack.requests) < escalations:
        if time.monotonic() > deadline:
            sys.exit(f"the slow set-up's notifications did not arrive within {timeout:g} s")
        time.sleep(0.002)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60, help="calls per set-up (default 60)")
    parser.add_argument("--delay", type=float, default=10.0, help="receiver delay, s (default 10)")
    args = parser.parse_args(argv)

    receiver = SlowReceiver(args.delay).start()
    smtp, slack = SmtpServer().start(), HttpServer(SLACK_OK).start()
    workdir = Path(tempfile.mkdtemp(prefix="handoff-bench-"))
    baseline = ActionServer("baseline", workdir, {})
    slow = ActionServer(
        "slow-webhook",
        workdir,
        {
            "HANDOFF_EMAIL_ENABLED": "true",
            "HANDOFF_EMAIL_RECIPIENTS": "team@support.test",
            "HANDOFF_EMAIL_SMTP_HOST": "127.0.0.1",
            "HANDOFF_EMAIL_SMTP_PORT": str(smtp.port),
            "HANDOFF_SLACK_ENABLED": "true",
            "HANDOFF_SLACK_BOT_TOKEN": "xoxb-bench-token",
            "HANDOFF_SLACK_CHANNEL": "#support",
            "HANDOFF_SLACK_API_URL": f"{slack.url}/api/",
            "HANDOFF_WEBHOOK_ENABLED": "true",
            "HANDOFF_WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/hook",
            "HANDOFF_WEBHOOK_SECRET": "bench-secret",
            "HANDOFF_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",  # the receiver is on 127.0.0.1
            "HANDOFF_WEBHOOK_TIMEOUT": str(args.delay + 20),
            "HANDOFF_DELIVERY_LEASE_SECONDS": str(args.delay + 60),
        },
    )
    servers = [baseline, slow]
    try:
        for server in servers:
            server.wait_until_up()
        escalated = 0

        def call(server: ActionServer) -> float:
            nonlocal escalated
            elapsed = server.escalate()
            if server is slow:  # its email and Slack sends end before the next call
                escalated += 1
                notified(smtp, slack, escalated)
            return elapsed

        for _ in range(3):  # warm-up: first imports, database connections
            for server in servers:
                call(server)
        times: dict[str, list[float]] = {server.name: [] for server in servers}
        for n in range(args.rounds):
            for server in servers if n % 2 == 0 else reversed(servers):
                times[server.name].append(call(server))
        in_flight = receiver.received - receiver.answered
    finally:
        for server in servers:
            server.stop()
        smtp.stop()
        slack.stop()

    print(f"confirmation latency, {args.rounds} escalations per set-up, same run, this machine")
    print(f"{'set-up':<34}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for server, label in (
        (baseline, "no notifiers (baseline)"),
        (slow, f"all on, webhook {args.delay:g} s slow"),
    ):
        values = times[server.name]
        print(
            f"{label:<34}{percentile(values, 50) * 1000:>9.1f}{percentile(values, 95) * 1000:>9.1f}"
            f"{statistics.mean(values) * 1000:>9.1f}"
        )
    base, slowed = times[baseline.name], times[slow.name]
    print(
        f"ratio slow/baseline: p50 {percentile(slowed, 50) / percentile(base, 50):.2f}, "
        f"p95 {percentile(slowed, 95) / percentile(base, 95):.2f}"
    )
    result = {
        "rounds": args.rounds,
        "baseline_p50_ms": percentile(base, 50) * 1000,
        "baseline_p95_ms": percentile(base, 95) * 1000,
        "slow_p50_ms": percentile(slowed, 50) * 1000,
        "slow_p95_ms": percentile(slowed, 95) * 1000,
        "ratio_p50": percentile(slowed, 50) / percentile(base, 50),
        "ratio_p95": percentile(slowed, 95) / percentile(base, 95),
        "webhook_requests": receiver.received,
        "emails": len(smtp.recipients),
        "slack_posts": len(slack.requests),
    }
    print(
        f"notifications sent during the run: {result['emails']} email recipients, "
        f"{result['slack_posts']} Slack posts"
    )
    print(
        f"webhook receiver: {receiver.received} requests received during the run, "
        f"{in_flight} still waiting for their {args.delay:g} s answer when it ended"
    )
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
