from __future__ import annotations

import pytest

from mediatasks.domain.progress import FfmpegProgress, Throttle, task_progress
from mediatasks.domain.tasks import StepName


def test_task_progress_spans_the_steps_in_order() -> None:
    assert task_progress(StepName.ingest, 0) == 0
    assert task_progress(StepName.transcode, 0) == 15
    assert task_progress(StepName.transcode, 50) == 55
    assert task_progress(StepName.upload, 100) == 100
    values = [task_progress(step, p) for step in StepName for p in (0, 50, 100)]
    assert values == sorted(values)


def feed(duration: float | None, text: str) -> list[int]:
    seen: list[int] = []
    progress = FfmpegProgress(duration, seen.append)
    for line in text.strip().splitlines():
        progress.line(line)
    return seen


def test_ffmpeg_blocks_become_percentages() -> None:
    report = """
        frame=10
        out_time_us=1000000
        progress=continue
        out_time_us=2500000
        progress=continue
        out_time_us=N/A
        progress=continue
        out_time_us=4000000
        progress=end
    """
    assert feed(4.0, report) == [25, 62, 62, 100]


def test_unknown_duration_reports_only_the_end() -> None:
    assert feed(None, "out_time_us=5\nprogress=continue\nprogress=end") == [100]


def test_overshoot_is_capped_until_the_end() -> None:
    assert feed(1.0, "out_time_us=9000000\nprogress=continue") == [99]


@pytest.mark.parametrize(
    ("events", "forwarded"),
    [
        ([(0.0, 10), (0.5, 20), (1.2, 30), (1.3, 40), (2.5, 35), (2.6, 100)], [10, 30, 35, 100]),
        ([(0.0, 5), (10.0, 5), (20.0, 6)], [5, 6]),
    ],
)
def test_throttle(events: list[tuple[float, int]], forwarded: list[int]) -> None:
    clock_value = [0.0]
    seen: list[int] = []
    throttle = Throttle(seen.append, min_seconds=1.0, clock=lambda: clock_value[0])
    for at, percent in events:
        clock_value[0] = at
        throttle(percent)
    assert seen == forwarded
