"""The argv we build, run by the pinned ffmpeg on generated clips; outputs checked with ffprobe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mediatasks.adapters import ffmpeg
from mediatasks.domain.errors import InputUnsupported, ProcessingFailed, StepTimeout
from mediatasks.domain.ffmpeg_args import Limits, expected_duration, ffprobe_args
from mediatasks.domain.media import parse_ffprobe
from mediatasks.domain.progress import FfmpegProgress
from mediatasks.kinds.video import VideoOptions, video_encode_args
from tests.support.media import MakeClip, ffprobe_json

LIMITS = Limits(max_output_bytes=50_000_000)


def encode(clip: Path, tmp_path: Path, **options: Any) -> dict[str, Any]:
    parsed = VideoOptions.model_validate(options)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(clip)), 30))
    out = tmp_path / f"out.{parsed.format}"
    ffmpeg.run(video_encode_args(ffmpeg.binaries().ffmpeg, parsed, media, str(clip), str(out), LIMITS), 120)
    return ffprobe_json(str(out))


def video_stream(report: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in report["streams"] if s["codec_type"] == "video")


@pytest.mark.parametrize(
    ("options", "codec", "container"),
    [
        ({"format": "mp4"}, "h264", "mov,mp4,m4a,3gp,3g2,mj2"),
        ({"format": "mp4", "codec": "h265"}, "hevc", "mov,mp4,m4a,3gp,3g2,mj2"),
        ({"format": "mp4", "codec": "av1"}, "av1", "mov,mp4,m4a,3gp,3g2,mj2"),
        ({"format": "webm"}, "vp9", "matroska,webm"),
        ({"format": "mov"}, "h264", "mov,mp4,m4a,3gp,3g2,mj2"),
    ],
)
def test_codec_and_container(
    make_clip: MakeClip, tmp_path: Path, options: dict[str, Any], codec: str, container: str
) -> None:
    report = encode(make_clip(), tmp_path, width=160, **options)
    assert video_stream(report)["codec_name"] == codec
    assert report["format"]["format_name"] == container


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({"width": 160}, (160, 120)),
        ({"height": 60}, (80, 60)),
        ({"width": "50%"}, (160, 120)),
        ({"width": 200, "height": 200}, (200, 200)),
        ({"width": 200, "height": 200, "fit": "cover", "position": "left"}, (200, 200)),
        ({"width": 200, "height": 100, "fit": "fill"}, (200, 100)),
    ],
)
def test_size_and_fit(
    make_clip: MakeClip, tmp_path: Path, options: dict[str, Any], size: tuple[int, int]
) -> None:
    stream = video_stream(encode(make_clip(), tmp_path, **options))
    assert (stream["width"], stream["height"]) == size


def test_fps_and_trim(make_clip: MakeClip, tmp_path: Path) -> None:
    clip = make_clip("long.mp4", seconds=4, fps=25)
    report = encode(clip, tmp_path, width=160, fps=10, start=1, end=3)
    stream = video_stream(report)
    assert stream["avg_frame_rate"] == "10/1"
    assert float(report["format"]["duration"]) == pytest.approx(2.0, abs=0.1)


def test_silent_source_gives_silent_output(make_clip: MakeClip, tmp_path: Path) -> None:
    report = encode(make_clip("silent.mp4", audio=False), tmp_path, width=160)
    assert [s["codec_type"] for s in report["streams"]] == ["video"]


def test_output_size_cap_cuts_the_encode_short_detectably(make_clip: MakeClip, tmp_path: Path) -> None:
    # ffmpeg overshoots the cap by what its pipeline buffers (~200 KB here), so the clip must be longer
    clip = make_clip("thirty.mp4", seconds=30, audio=False)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(clip)), 30))
    sizes = {}
    for name, cap in (("full", 50_000_000), ("capped", 100_000)):
        out = tmp_path / f"{name}.mp4"
        limits = Limits(cap)
        ffmpeg.run(
            video_encode_args(ffmpeg.binaries().ffmpeg, VideoOptions(), media, str(clip), str(out), limits),
            60,
        )
        sizes[name] = (out.stat().st_size, limits.output_truncated(out.stat().st_size))
    assert sizes["capped"][0] < sizes["full"][0]
    assert sizes == {"full": (sizes["full"][0], False), "capped": (sizes["capped"][0], True)}


def test_garbage_is_not_media(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01not a video" * 1000)
    with pytest.raises(InputUnsupported):
        ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(junk)), 30)


def test_deadline_kills_the_run(make_clip: MakeClip, tmp_path: Path) -> None:
    with pytest.raises(StepTimeout):
        ffmpeg.run(
            [ffmpeg.binaries().ffmpeg, "-nostdin", "-f", "lavfi", "-i", "testsrc2=rate=5", "-f", "null", "-"],
            0.5,
        )


def test_failure_is_reported_without_details() -> None:
    with pytest.raises(ProcessingFailed) as raised:
        ffmpeg.run(
            [ffmpeg.binaries().ffmpeg, "-nostdin", "-i", "/nonexistent/file.mp4", "-f", "null", "-"], 10
        )
    assert "/nonexistent" not in str(raised.value)


def test_progress_is_reported_while_encoding(make_clip: MakeClip, tmp_path: Path) -> None:
    clip = make_clip("long.mp4", seconds=4, fps=25)
    options = VideoOptions(width=160, start=1)
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(clip)), 30))
    seen: list[int] = []
    progress = FfmpegProgress(expected_duration(options, media), seen.append)
    argv = video_encode_args(
        ffmpeg.binaries().ffmpeg, options, media, str(clip), str(tmp_path / "o.mp4"), LIMITS
    )
    assert ffmpeg.run(argv, 60, on_line=progress.line) == b""
    assert seen[-1] == 100
    assert seen == sorted(seen)
    assert expected_duration(options, media) == pytest.approx(3.0, abs=0.05)


def test_a_failing_progress_callback_stops_ffmpeg(make_clip: MakeClip, tmp_path: Path) -> None:
    class Cancelled(Exception):
        pass

    def refuse(_: str) -> None:
        raise Cancelled

    argv = [
        ffmpeg.binaries().ffmpeg,
        "-nostdin",
        "-f",
        "lavfi",
        "-i",
        "testsrc2",
        "-progress",
        "pipe:1",
        "-f",
        "null",
        "-",
    ]
    with pytest.raises(Cancelled):
        ffmpeg.run(argv, 30, on_line=refuse)
