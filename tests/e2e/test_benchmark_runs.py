"""The benchmark stays runnable: a run of it on a short clip with every other setting at its default
(50 creates, polled through the per-key throttle), in its own process (it starts its own stack)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def test_pipeline_overhead_benchmark_runs_and_reports() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.pipeline_overhead", "--seconds", "2"],
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
        "AWS calls per create:",
    ):
        assert figure in result.stdout


@pytest.mark.slow
def test_segmented_encode_benchmark_runs_and_reports() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.segmented_encode", "--seconds", "6", "--segment-seconds", "2"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for figure in ("frames", "A/V offset ms", "SSIM vs source", "speed-up", "projected 2-hour 1080p film"):
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
