"""The performance suite keeps working: `bench/run_all.py --quick` runs every benchmark at a tiny
size and writes the results table, and `bench/scaled.py` runs on the demo-scaled stack. No timing
is asserted (the figures of a smoke run mean nothing); only that each figure was measured and
reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.bench]  # ~5 min: `make bench-check`, not `make test`


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}


def test_the_quick_suite_measures_all_seven_figures_and_writes_the_table(
    trained_model: Path, tmp_path: Path
) -> None:
    results = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "bench/run_all.py", "--quick", "--output", str(results)],
        cwd=ROOT,
        env={**clean_env(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    table = results.read_text()
    assert "FAILED" not in table
    for figure in range(1, 8):
        assert f"| {figure}. " in table, f"figure {figure} missing from the table:\n{table}"
    assert "- commit: " in table and "- machine: " in table
    assert "every message accounted for" in table


def test_the_scaled_bench_measures_both_replica_counts_and_both_relay_paths() -> None:
    done = subprocess.run(
        [sys.executable, "bench/scaled.py", "--visitors", "6", "--seconds", "2"]
        + ["--chats", "3", "--rounds", "1"],
        cwd=ROOT,
        env={**clean_env(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "ratio two/one replica turns/s: " in done.stdout
    assert "ratio across/same replica p99: " in done.stdout
    assert "errors 0" in done.stdout, done.stdout
