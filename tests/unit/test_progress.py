from __future__ import annotations

import pytest

from mediatasks.domain.progress import FfmpegProgress, Throttle
from mediatasks.domain.tasks import StepName
from mediatasks.kinds.registry import KINDS, kind_of


def test_a_media_task_progress_spans_its_steps_by_weight() -> None:
    video = kind_of("video")
    assert video.progress(StepName.ingest, 0) == 0
    assert video.progress(StepName.probe, 0) == 10
    assert video.progress(StepName.transcode, 0) == 15
    assert video.progress(StepName.transcode, 50) == 55
    assert video.progress(StepName.upload, 100) == 100


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_goes_from_0_to_100_without_going_back(name: str) -> None:
    kind = KINDS[name]
    values = [kind.progress(step, percent) for step in kind.steps for percent in (0, 50, 100)]
    assert values == sorted(values)
    assert (values[0], values[-1]) == (0, 100)


def test_a_kind_without_a_transcode_shares_the_whole_among_its_own_steps() -> None:
    ingest = kind_of("import")
    assert ingest.steps == (StepName.ingest, StepName.probe, StepName.upload)
    assert ingest.progress(StepName.probe, 0) == 50
    assert ingest.progress(StepName.upload, 0) == 75


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
