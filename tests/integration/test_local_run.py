"""Local runs build ffmpeg's argv exactly as the transcode step does, and report the kind's steps in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediatasks.adapters import ffmpeg
from mediatasks.config import Settings
from mediatasks.domain.ffmpeg_args import ffprobe_args
from mediatasks.domain.media import parse_ffprobe
from mediatasks.domain.options import MediaOptions
from mediatasks.domain.tasks import StepName
from mediatasks.kinds.registry import kind_of
from mediatasks.service.local_run import LocalRun, encode_argv
from mediatasks.service.pipeline import _Job
from tests.support.media import MakeClip


@pytest.mark.parametrize(
    ("kind_name", "options"),
    [
        ("video", {"format": "webm", "width": 160, "quality": "high", "start": 0.5}),
        ("audio", {"format": "opus", "end": 1}),
        ("animation", {"format": "gif", "width": 64, "fps": 5}),
        ("adaptive_video", {"height": 120}),
    ],
)
def test_the_same_options_give_the_same_argv_here_and_in_the_step(
    make_clip: MakeClip, tmp_path: Path, kind_name: str, options: dict[str, object]
) -> None:
    kind = kind_of(kind_name)
    assert kind.encoding is not None
    parsed = kind.options.model_validate(options)
    assert isinstance(parsed, MediaOptions)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(make_clip())), 30))
    limits = Settings().ffmpeg_limits().within(media)  # what the transcode step holds ffmpeg to
    step = _Job(kind, kind.encoding, parsed, media, tmp_path, limits, 900)
    output = str(step.output_path)
    assert encode_argv(kind, parsed, media, step.source_path, output) == step.encode_argv(output)


@pytest.mark.parametrize("kind_name", ["video", "image", "probe"])
def test_a_local_run_reports_the_kinds_steps_in_order_and_progress_only_grows(
    make_clip: MakeClip, tmp_path: Path, kind_name: str
) -> None:
    kind = kind_of(kind_name)
    reports: list[tuple[StepName, int]] = []
    LocalRun(
        kind=kind,
        options=kind.options.model_validate({"width": 64} if kind.encoding else {}),
        source=str(make_clip()),
        destination=str(tmp_path / "out"),
        on_progress=lambda step, percent: reports.append((step, percent)),
    ).run()
    steps_seen = list(dict.fromkeys(step for step, _ in reports))
    assert steps_seen == list(kind.steps)  # every step reported, in order
    percents = [percent for _, percent in reports]
    assert percents == sorted(percents)
