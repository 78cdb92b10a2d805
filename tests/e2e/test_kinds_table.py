"""One table over kinds x options: each task runs through the local product, and each requested
property is checked on the output it published (ffprobe for media, Pillow for pictures)."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mediatasks.adapters.ffmpeg import binaries
from tests.local_product import Api
from tests.support.media import MakeClip, ffprobe_json
from tests.support.servers import FileServer

Check = Callable[[Path, dict[str, Any]], None]
MP4 = "mov,mp4,m4a,3gp,3g2,mj2"


def stream(report: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(s for s in report["streams"] if s["codec_type"] == kind)


def video(
    size: tuple[int, int] | None = None, codec: str | None = None, container: str | None = None
) -> Check:
    def check(path: Path, _: dict[str, Any]) -> None:
        report = ffprobe_json(str(path))
        found = stream(report, "video")
        if size is not None:
            assert (found["width"], found["height"]) == size
        if codec is not None:
            assert found["codec_name"] == codec
        if container is not None:
            assert report["format"]["format_name"] == container

    return check


def fps(expected: str) -> Check:
    def check(path: Path, _: dict[str, Any]) -> None:
        assert stream(ffprobe_json(str(path)), "video")["avg_frame_rate"] == expected

    return check


def duration(seconds: float, frame: float = 1 / 25) -> Check:
    def check(path: Path, _: dict[str, Any]) -> None:
        assert float(ffprobe_json(str(path))["format"]["duration"]) == pytest.approx(seconds, abs=frame * 1.5)

    return check


def bitrate(bits: int, tolerance: float) -> Check:
    def check(path: Path, _: dict[str, Any]) -> None:
        report = ffprobe_json(str(path))
        assert int(report["format"]["bit_rate"]) == pytest.approx(bits, rel=tolerance)

    return check


def audio(codec: str, container: str) -> Check:
    def check(path: Path, _: dict[str, Any]) -> None:
        report = ffprobe_json(str(path))
        assert [s["codec_name"] for s in report["streams"]] == [codec]
        assert report["format"]["format_name"] == container

    return check


def first_frame_pixel(xy: tuple[int, int], rgb: tuple[int, int, int]) -> Check:
    """Fit geometry: the colour at a point of the first frame (e.g. a letterbox band)."""

    def check(path: Path, _: dict[str, Any]) -> None:
        frame = path.with_suffix(".ppm")
        subprocess.run(
            [
                binaries().ffmpeg,
                "-loglevel",
                "error",
                "-nostdin",
                "-y",
                "-i",
                str(path),
                "-frames:v",
                "1",
                "-c:v",
                "ppm",
                str(frame),
            ],
            check=True,
        )
        found = Image.open(frame).convert("RGB").getpixel(xy)
        assert all(abs(a - b) <= 24 for a, b in zip(found, rgb, strict=True)), found  # type: ignore[arg-type]

    return check


def picture(pillow_format: str, size: tuple[int, int], frames: int = 1) -> Check:
    def check(path: Path, _: dict[str, Any]) -> None:
        image = Image.open(path)
        assert (image.format, image.size, getattr(image, "n_frames", 1)) == (pillow_format, size, frames)

    return check


def renditions(heights: list[int], source_height: int) -> Check:
    def check(_: Path, output: dict[str, Any]) -> None:
        found = [r["height"] for r in output["renditions"]]
        assert found == heights
        assert max(found) <= source_height

    return check


TABLE: list[tuple[str, str, dict[str, Any], list[Check]]] = [
    ("video", "clip", {"format": "mp4", "width": 160}, [video((160, 120), "h264", MP4)]),
    ("video", "clip", {"format": "webm", "width": "50%"}, [video((160, 120), "vp9", "matroska,webm")]),
    ("video", "clip", {"format": "mov", "codec": "h265", "height": 60}, [video((80, 60), "hevc", MP4)]),
    ("video", "clip", {"format": "mp4", "codec": "av1", "width": 96}, [video((96, 72), "av1", MP4)]),
    ("video", "clip", {"width": 200, "height": 200, "background": "#ff0000"}, [
        video((200, 200)), first_frame_pixel((100, 4), (255, 0, 0))]),
    ("video", "clip", {"width": 200, "height": 100, "fit": "cover"}, [video((200, 100))]),
    ("video", "clip", {"width": 200, "height": 100, "fit": "fill"}, [video((200, 100))]),
    ("video", "clip", {"width": 160, "fps": 10}, [fps("10/1")]),
    ("video", "long", {"width": 160, "start": 1, "end": 2.5}, [duration(1.5)]),
    ("video", "long", {"width": 320, "bitrate": 400_000}, [bitrate(400_000 + 128_000, 0.35)]),
    ("audio", "long", {"format": "mp3", "bitrate": 96_000}, [audio("mp3", "mp3"), bitrate(96_000, 0.1)]),
    ("audio", "clip", {"format": "aac"}, [audio("aac", "aac")]),
    ("audio", "clip", {"format": "ogg"}, [audio("vorbis", "ogg")]),
    ("audio", "clip", {"format": "opus"}, [audio("opus", "ogg")]),
    ("audio", "clip", {"format": "wav"}, [audio("pcm_s16le", "wav")]),
    ("audio", "long", {"format": "flac", "start": 0.5, "end": 2}, [
        audio("flac", "flac"), duration(1.5, 0.02)]),
    ("image", "clip", {"format": "png", "width": 160}, [picture("PNG", (160, 120))]),
    ("image", "clip", {"format": "jpeg", "width": 100, "height": 100, "fit": "cover", "start": 1}, [
        picture("JPEG", (100, 100))]),
    ("image", "clip", {"format": "avif", "height": 60}, [picture("AVIF", (80, 60))]),
    ("animation", "clip", {"format": "gif", "width": 80, "fps": 5, "end": 1}, [
        picture("GIF", (80, 60), 5)]),
    ("animation", "clip", {"format": "webp", "width": 80, "fps": 4, "end": 1}, [
        picture("WEBP", (80, 60), 4)]),
    ("adaptive_video", "wide", {"quality": "low"}, [renditions([360, 240], 360)]),
    ("adaptive_video", "wide", {"height": 1080}, [renditions([360, 240], 360)]),
]  # fmt: skip


@pytest.fixture(scope="module")
def sources(make_clip: MakeClip, file_server: FileServer) -> dict[str, str]:
    made = {
        "clip": make_clip("table-clip.mp4", size="320x240", seconds=2),
        "long": make_clip("table-long.mp4", size="320x240", seconds=4),
        "wide": make_clip("table-wide.mp4", size="640x360", seconds=3),
    }
    return {name: file_server.url_of(path.name) for name, path in made.items()}


@pytest.mark.parametrize(("kind", "source", "options", "checks"), TABLE)
def test_kind_and_options(
    api: Api,
    sources: dict[str, str],
    tmp_path: Path,
    kind: str,
    source: str,
    options: dict[str, Any],
    checks: list[Check],
) -> None:
    task = api.run({"kind": kind, "input": sources[source], "options": options})
    assert task["status"] == "succeeded", task["error"]
    output = task["output"]
    path = tmp_path / f"output.{'m3u8' if output['format'] == 'hls' else output['format']}"
    with urllib.request.urlopen(output["url"], timeout=30) as response:
        path.write_bytes(response.read())
    if output["format"] != "hls":  # a playlist's filesize counts its whole folder
        assert output["filesize"] == path.stat().st_size
    for check in checks:
        check(path, output)
