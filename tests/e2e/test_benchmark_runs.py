"""Every benchmark stays runnable: each runs in its own process (it starts its own stack) on short
inputs, with every other setting at its default, and prints the figures its docs name."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BenchmarkRun:
    module: str
    arguments: tuple[str, ...]
    figures: tuple[str, ...]
    timeout: int = 300
    absent: tuple[str, ...] = field(default=())


def benchmark(
    module: str,
    arguments: tuple[str, ...],
    figures: tuple[str, ...],
    *,
    timeout: int = 300,
    absent: tuple[str, ...] = (),
    marks: tuple[pytest.MarkDecorator, ...] = (),
) -> Any:
    """One run of the table, named by its module."""
    return pytest.param(BenchmarkRun(module, arguments, figures, timeout, absent), id=module, marks=marks)


SLOW = (pytest.mark.slow,)

RUNS = [
    benchmark(
        "pipeline_overhead",
        ("--seconds", "2"),
        (
            "bare ffmpeg (same argv):",
            "task end to end (local):",
            "ratio task / bare:",
            "cold import:",
            # the task, its waiting output file and its new media in one transaction, then the start
            "AWS calls per create: 2 (1 dynamodb:TransactWriteItems, 1 stepfunctions:StartExecution)",
        ),
    ),
    benchmark(
        "segmented_encode",
        ("--seconds", "6", "--segment-seconds", "2"),
        ("frames", "A/V offset ms", "SSIM vs source", "speed-up", "projected 2-hour 1080p film"),
        marks=SLOW,
    ),
    benchmark(
        "load", ("--creates", "8", "--clients", "4"), ("creates/s", "p50", "p99", "429s:", "invariants: hold")
    ),
    benchmark(
        "speech_recognition",
        ("--readings", "1"),
        ("speech:", "model load:", "recognition:", "word error rate:"),
    ),
    benchmark(
        "state_snapshot",
        ("--tasks", "5", "--megabytes", "1"),
        ("empty stack (baseline):", "whole:", "1.0 MB copied", "unchanged, not written", "restore"),
        timeout=600,
        marks=(pytest.mark.slow, pytest.mark.e2e),
    ),
    benchmark(
        "playback",
        ("--seconds", "2", "--repeat", "3"),
        ("playback start: 3 requests", "whole stream:", "(baseline):", "master playlist request:"),
        marks=SLOW,
    ),
    benchmark(
        "probe_reads",
        ("--megabytes", "20"),
        ("moov at front", "moov at end", "ffprobe direct MB"),
        absent=("OVER",),
    ),
    benchmark(
        "workflow_transitions",
        ("--steps", "10"),
        ("one video task on its own:", "(baseline): ", "a workflow of 10 top-level video steps:"),
    ),
    benchmark(
        "intelligence",
        ("--short",),
        (
            "baseline, speech recognition alone:",
            "nsfw ",
            "outline ",
            "description ",
            "Rekognition Video moderation job",
            "Bedrock Converse 1 call",
            "extractive (baseline): ",
            "SmolLM2-135M-Instruct",
        ),
        timeout=900,
        marks=SLOW,
    ),
]


@pytest.mark.parametrize("run", RUNS)
def test_the_benchmark_runs_and_reports(run: BenchmarkRun) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{run.module}", *run.arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=run.timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for figure in run.figures:
        assert figure in result.stdout
    for figure in run.absent:
        assert figure not in result.stdout
