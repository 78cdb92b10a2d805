"""Local runs build ffmpeg's argv exactly as the transcode step does."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediatasks.adapters import ffmpeg
from mediatasks.config import Settings
from mediatasks.domain.ffmpeg_args import ffprobe_args
from mediatasks.domain.media import parse_ffprobe
from mediatasks.domain.options import MediaOptions
from mediatasks.kinds.registry import kind_of
from mediatasks.service.local_run import encode_argv
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
