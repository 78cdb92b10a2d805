"""The one generator of test media (ffmpeg's lavfi test pattern and tone), and reading media back."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mediatasks.adapters.ffmpeg import binaries

MakeClip = Callable[..., Path]

# Encoder settings per codec: fast to make, and a pixel format every decoder takes.
_VIDEO_CODEC_ARGS = {
    "libx264": ["-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "libx265": ["-preset", "ultrafast", "-pix_fmt", "yuv420p"],
}


def make_media(
    target: Path,
    *,
    size: str | None = "320x240",
    seconds: float | None = 2,
    fps: int = 25,
    audio: bool = True,
    video_codec: str = "libx264",
    audio_codec: str = "aac",
    container: str | None = None,
    frames: int | None = None,
    video_filter: str | None = None,
    output_args: Sequence[str] = (),
) -> Path:
    """Writes `target`: a moving test pattern of `size` (None: audio only) at `fps`, with a 440 Hz
    tone unless `audio` is false, lasting `seconds` or `frames` video frames (frames=1 with an image
    codec is a still picture). The container is `container` (ffmpeg's -f) or the one `target`'s
    suffix names; `video_filter` and `output_args` are passed to ffmpeg as they are."""
    if size is None and not audio:
        raise ValueError("media needs a picture or a sound")
    argv = [binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    if size is not None:
        argv += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
    if audio:
        argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:a", audio_codec]
        if size is not None:
            argv += ["-shortest"]
    if seconds is not None:
        argv += ["-t", str(seconds)]
    if frames is not None:
        argv += ["-frames:v", str(frames)]
    if size is not None:
        argv += ["-c:v", video_codec, *_VIDEO_CODEC_ARGS.get(video_codec, [])]
    if video_filter is not None:
        argv += ["-vf", video_filter]
    if container is not None:
        argv += ["-f", container]
    subprocess.run([*argv, *output_args, str(target)], check=True)
    return target


def ffprobe_json(path_or_url: str) -> dict[str, Any]:
    """What the pinned ffprobe says about a file (tests may read their own outputs freely)."""
    out = subprocess.run(
        [binaries().ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json", path_or_url],
        check=True,
        capture_output=True,
    ).stdout
    report: dict[str, Any] = json.loads(out)
    return report


def video_stream(report: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in report["streams"] if s["codec_type"] == "video")


def fetch_output(task: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Downloads a task's output from its url, as a user would, and ffprobes the bytes."""
    target = folder / f"output.{task['output']['format']}"
    with urllib.request.urlopen(task["output"]["url"], timeout=30) as response:
        target.write_bytes(response.read())
    return ffprobe_json(str(target))


def loop_to_size(clip: Path, target: Path, size: int, *, index_at_front: bool) -> Path:
    """Writes `target`: `clip` repeated (stream copy, nothing re-encoded) until it is about `size`
    bytes, with the MP4 index (moov) at the front or, as ffmpeg and phones write it, at the end."""
    loops = max(0, -(-size // clip.stat().st_size) - 1)
    faststart = ["-movflags", "+faststart"] if index_at_front else []
    argv = [binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    argv += ["-stream_loop", str(loops), "-i", str(clip), "-c", "copy", *faststart, str(target)]
    subprocess.run(argv, check=True)
    return target
