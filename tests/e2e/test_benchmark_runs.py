"""The benchmark stays runnable: a tiny run of it, in its own process (it starts its own stack)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_pipeline_overhead_benchmark_runs_and_reports() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.pipeline_overhead", "--seconds", "2", "--creates", "3"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for figure in (
        "bare ffmpeg (same argv):",
        "task end to end (local):",
        "ratio task / bare:",
        "cold import:",
    ):
        assert figure in result.stdout


def test_load_benchmark_runs_and_its_invariants_hold() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "--creates", "8", "--clients", "4"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for figure in ("creates/s", "p50", "p99", "429s:", "invariants: hold"):
        assert figure in result.stdout
