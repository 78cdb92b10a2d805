"""Progress: ffmpeg's `-progress` report as a percentage, and a step's share of the whole task.
Pure: the runner feeds lines in, the pipeline decides when to store."""

from __future__ import annotations

from collections.abc import Callable

from mediatasks.domain.tasks import StepName

# Each step's share of the task's 0-100: the transcode is nearly all of the work.
STEP_SPAN: dict[StepName, tuple[int, int]] = {
    StepName.ingest: (0, 10),
    StepName.probe: (10, 15),
    StepName.transcode: (15, 95),
    StepName.upload: (95, 100),
}


def task_progress(step: StepName, step_percent: int) -> int:
    start, end = STEP_SPAN[step]
    return start + (end - start) * max(0, min(100, step_percent)) // 100


class FfmpegProgress:
    """Reads `-progress pipe:1` lines; each finished block reports a percentage of `duration`."""

    def __init__(self, duration: float | None, report: Callable[[int], None]) -> None:
        self._duration_us = (duration or 0) * 1_000_000
        self._report = report
        self._out_time_us = 0

    def line(self, text: str) -> None:
        key, _, value = text.strip().partition("=")
        if key == "out_time_us" and value.lstrip("-").isdigit():
            self._out_time_us = max(0, int(value))
        elif key == "progress":
            if value == "end":
                self._report(100)
            elif self._duration_us > 0:
                self._report(min(99, int(self._out_time_us * 100 / self._duration_us)))


class Throttle:
    """Passes a percentage on when it has grown and enough time has passed (or it is 100)."""

    def __init__(
        self, forward: Callable[[int], None], min_seconds: float, clock: Callable[[], float]
    ) -> None:
        self._forward = forward
        self._min_seconds = min_seconds
        self._clock = clock
        self._last_percent = -1
        self._last_time = float("-inf")

    def __call__(self, percent: int) -> None:
        now = self._clock()
        due = now - self._last_time >= self._min_seconds
        if percent > self._last_percent and (due or percent == 100):
            self._last_percent, self._last_time = percent, now
            self._forward(percent)
