"""The performance suite: the seven figures, each against its baseline measured in the same run,
written to bench/RESULTS.md with the machine, the date, the commit and the command.

    PYTHONPATH=. .venv/bin/python bench/run_all.py [--quick] [--minutes 2] [--output bench/RESULTS.md]

Each benchmark runs in its own process (they start servers and load the model); its figures come
back as JSON, its printed report goes into RESULTS.md under "Details". `--quick` runs every
benchmark at a tiny size (a smoke test: the figures mean nothing).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import render  # noqa: E402

STEP_TIMEOUT = 900.0  # seconds for any one benchmark

# name, module, full-run arguments, quick arguments (the load's duration is added from --minutes)
STEPS: list[tuple[str, str, list[str], list[str]]] = [
    # Sizes chosen so that a noisy 2-core machine gives the same ratio run after run.
    ("bot-turn latency", "livechat_latency", ["--turns", "200"], ["--turns", "6", "--warmup", "1"]),
    (
        "saturation",
        "saturation",
        ["--visitors", "200", "--seconds", "40"],
        ["--visitors", "10", "--seconds", "2"],
    ),  # fmt: skip
    (
        "relay latency",
        "relay",
        ["--chats", "50", "200", "--rounds", "6"],
        ["--chats", "3", "--rounds", "1"],
    ),  # fmt: skip
    (
        "confirmation latency",
        "confirmation_latency",
        ["--rounds", "40", "--delay", "10"],
        ["--rounds", "2", "--delay", "1"],
    ),  # fmt: skip
    (
        "inbox list and search",
        "inbox_list",
        ["--conversations", "1000", "100000"],
        ["--conversations", "100", "200", "--rounds", "3"],
    ),  # fmt: skip
    ("memory", "memory", ["--visitors", "1000"], ["--visitors", "10", "--settle", "0.5"]),
    (
        "load",
        "load",
        ["--visitors", "1000"],
        [
            "--visitors",
            "8",
            "--ramp",
            "1",
            "--think",
            "2",
            "--live-think",
            "1",
            "--escalate-every",
            "4",
            "--agents",
            "1",
        ],
    ),  # fmt: skip
]


def run_step(module: str, argv: list[str], out: Path) -> None:
    """In the child process: one benchmark's main(argv), its figures to `out` as JSON."""
    figures = importlib.import_module(f"bench.{module}").main(argv)
    out.write_text(json.dumps(figures, default=str))
    sys.stdout.flush()
    os._exit(0)  # not waiting on leftover client threads and sockets at interpreter exit


def run_child(command: list[str], stderr: Any, timeout: float = STEP_TIMEOUT) -> tuple[int, str]:
    """Run one benchmark in its own process group; past `timeout` it is interrupted (its servers
    stop in its `finally` blocks), then killed."""
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"    timed out after {timeout:.0f} s; stopping it", flush=True)
        os.killpg(child.pid, signal.SIGINT)
        try:
            stdout, _ = child.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            stdout, _ = child.communicate()
        return -1, stdout
    return child.returncode, stdout


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() or "unknown"

    dirty = (
        " (with uncommitted changes)"
        if git("status", "--porcelain", "--untracked-files=no") != "unknown"
        else ""
    )
    return {
        "nproc": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD") + dirty,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--step"]:  # the child: its arguments are the benchmark's own
        run_step(argv[1], argv[3:], Path(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--minutes", type=float, default=None, help="load test duration (2)")
    parser.add_argument("--output", type=Path, default=None, help="default bench/RESULTS.md")
    parser.add_argument("--only", nargs="+", default=None, help="module names to run")
    args = parser.parse_args(argv)
    minutes = args.minutes if args.minutes is not None else (0.25 if args.quick else 2.0)
    output = args.output or ROOT / "bench" / ("RESULTS-quick.md" if args.quick else "RESULTS.md")
    if not (ROOT / "models" / "handoff.tar.gz").is_file():
        raise SystemExit("bench: no model at models/handoff.tar.gz; run `make model`")

    results: dict[str, Any] = {}
    reports: dict[str, str] = {}
    started = time.monotonic()
    steps = [s for s in STEPS if args.only is None or s[1] in args.only]
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        for n, (title, module, full, quick) in enumerate(steps, 1):
            step_argv = list(quick if args.quick else full)
            if module == "load":
                step_argv += ["--minutes", str(minutes)]
            print(
                f"[{n}/{len(steps)}] {title}: bench/{module}.py {' '.join(step_argv)}", flush=True
            )
            out, log = Path(tmp) / f"{module}.json", Path(tmp) / f"{module}.log"
            t0 = time.monotonic()
            with log.open("w") as stderr:
                returncode, stdout = run_child(
                    [sys.executable, __file__, "--step", module, str(out), *step_argv], stderr
                )
            reports[module] = stdout
            print("    " + stdout.rstrip().replace("\n", "\n    "), flush=True)
            if returncode != 0 or not out.is_file():
                print(f"    FAILED (exit {returncode}); its log:\n{log.read_text()[-3000:]}")
                results[module] = None
            else:
                results[module] = json.loads(out.read_text())
            print(f"    ({time.monotonic() - t0:.0f} s, {time.monotonic() - started:.0f} s in all)")
    command = os.environ.get("BENCH_COMMAND") or (
        "PYTHONPATH=. .venv/bin/python bench/run_all.py " + shlex.join(argv)
    )
    text = render(machine(), command.strip(), results, reports, quick=args.quick, minutes=minutes)
    output.write_text(text)
    output.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    print(
        f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output} "
        f"({time.monotonic() - started:.0f} s)"
    )
    return 1 if any(r is None for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
