"""Audio tasks' argv run by the pinned ffmpeg; outputs checked with ffprobe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mediatasks.adapters import ffmpeg
from mediatasks.domain.ffmpeg_args import Limits, ffprobe_args
from mediatasks.domain.media import parse_ffprobe
from mediatasks.kinds.audio import AudioOptions, audio_encode_args
from tests.support.media import MakeClip, ffprobe_json


def encode(clip: Path, tmp_path: Path, **options: Any) -> dict[str, Any]:
    parsed = AudioOptions.model_validate(options)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(clip)), 30))
    out = tmp_path / f"out.{parsed.format}"
    ffmpeg.run(
        audio_encode_args(ffmpeg.binaries().ffmpeg, parsed, media, str(clip), str(out), Limits(10**8)), 60
    )
    return ffprobe_json(str(out))


@pytest.mark.parametrize(
    ("format_", "codec", "container"),
    [
        ("mp3", "mp3", "mp3"),
        ("aac", "aac", "aac"),
        ("ogg", "vorbis", "ogg"),
        ("opus", "opus", "ogg"),
        ("wav", "pcm_s16le", "wav"),
        ("flac", "flac", "flac"),
    ],
)
def test_each_audio_format(
    make_clip: MakeClip, tmp_path: Path, format_: str, codec: str, container: str
) -> None:
    report = encode(make_clip(), tmp_path, format=format_)
    assert [s["codec_name"] for s in report["streams"]] == [codec]  # the video stream is left out
    assert report["format"]["format_name"] == container
    assert float(report["format"]["duration"]) == pytest.approx(2.0, abs=0.1)


def test_bitrate_is_honoured(make_clip: MakeClip, tmp_path: Path) -> None:
    clip = make_clip("long.mp4", seconds=4, fps=25)
    report = encode(clip, tmp_path, format="mp3", bitrate=96_000)
    assert int(report["format"]["bit_rate"]) == pytest.approx(96_000, rel=0.1)


def test_trim(make_clip: MakeClip, tmp_path: Path) -> None:
    clip = make_clip("long.mp4", seconds=4, fps=25)
    report = encode(clip, tmp_path, format="flac", start=0.5, end=2.0)
    assert float(report["format"]["duration"]) == pytest.approx(1.5, abs=0.05)
