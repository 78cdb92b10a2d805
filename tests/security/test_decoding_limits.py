"""Limits that hold while ffmpeg and Pillow run, on the argv the encode step runs: a picture over the
pixel cap mid-stream (bounded memory), a Pillow decompression bomb, an HLS run over the size cap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.pictures import encode_picture
from mediatasks.domain.errors import InputTooLarge, OutputTooLarge
from mediatasks.domain.ffmpeg_args import Limits, ffprobe_args
from mediatasks.domain.media import InputLimits, parse_ffprobe
from mediatasks.kinds.adaptive_video import MASTER_PLAYLIST, AdaptiveOptions, hls_args
from mediatasks.service.pipeline import OutputFolderCap
from tests.security.hostile_files import HUGE_SIDE, growing_mkv
from tests.support.media import MakeClip

# Runs in a fresh interpreter, so the peak RSS of its children is this one ffmpeg run's alone.
_EXTRACT_LAST_FRAME = """
import json, resource, sys
from mediatasks.adapters import ffmpeg
from mediatasks.domain.errors import InputTooLarge
from dataclasses import replace
from mediatasks.domain.ffmpeg_args import Limits, demux_args, ffprobe_args
from mediatasks.domain.media import DemuxedDuration, parse_ffprobe
from mediatasks.kinds.image import ImageOptions, image_frame_args

source, pattern, max_pixels = sys.argv[1], sys.argv[2], int(sys.argv[3])
tools = ffmpeg.binaries()
media = parse_ffprobe(ffmpeg.probe(ffprobe_args(tools.ffprobe, source), 30))
meter = DemuxedDuration(14400)  # as the probe step does: this mkv has no duration of its own
ffmpeg.run(demux_args(tools.ffmpeg, media, source), 30, on_line=meter.line)
media = replace(media, duration=meter.seconds)
limits = Limits(10**9, 14400, max_pixels)
argv = image_frame_args(tools.ffmpeg, ImageOptions(start=2.0), media, source, pattern, limits)
try:
    ffmpeg.run(argv, 120)
    outcome = "made"
except InputTooLarge as error:
    outcome = str(error)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"outcome": outcome, "peak_mib": peak_kib / 1024}))
"""


def _last_frame(source: Path, tmp_path: Path, max_pixels: int) -> tuple[str, float]:
    """The outcome of extracting the frame at 2.0 s, and the peak RSS (MiB) of that ffmpeg run."""
    pattern = tmp_path / f"frames-{max_pixels}" / "%05d.ppm"
    pattern.parent.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", _EXTRACT_LAST_FRAME, str(source), str(pattern), str(max_pixels)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(run.stdout)
    return str(result["outcome"]), float(result["peak_mib"])


def test_a_huge_frame_midstream_stops_at_the_decoder_with_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "growing.mkv"
    source.write_bytes(growing_mkv(tmp_path))
    outcome, capped_mib = _last_frame(source, tmp_path, InputLimits.max_pixels)
    assert (
        outcome
        == f"a picture of {HUGE_SIDE}x{HUGE_SIDE} is over the limit of {InputLimits.max_pixels} pixels"
    )
    assert capped_mib < 100
    # the same run without the cap decodes the 10000x10000 frame: about a GiB
    outcome, uncapped_mib = _last_frame(source, tmp_path, 2**31 - 1)
    assert outcome == "made"
    assert uncapped_mib > 3 * capped_mib
    print(f"peak RSS of the ffmpeg run: capped {capped_mib:.0f} MiB, uncapped {uncapped_mib:.0f} MiB")


@pytest.mark.parametrize("max_pixels", [10_000, 30_000])  # far over the cap, and just over it
def test_a_picture_over_the_cap_is_refused_before_it_decodes_and_pillow_s_own_limit_is_kept(
    tmp_path: Path, max_pixels: int
) -> None:
    pillows_limit = Image.MAX_IMAGE_PIXELS
    frame = tmp_path / "00001.ppm"
    Image.new("RGB", (200, 200)).save(frame, format="PPM")
    with pytest.raises(InputTooLarge, match=f"limit of {max_pixels} pixels"):
        encode_picture([frame], tmp_path / "out.png", "png", "medium", None, max_pixels)
    assert encode_picture([frame], tmp_path / "out.png", "png", "medium", None, 40_000).width == 200
    # one limit for the whole process: a step's cap once leaked into every later Image.open here
    assert pillows_limit == Image.MAX_IMAGE_PIXELS


def test_an_hls_run_is_stopped_once_its_folder_reaches_the_size_cap(
    make_clip: MakeClip, tmp_path: Path
) -> None:
    source = make_clip("hls-cap.mp4", size="640x360", seconds=20)
    tools = ffmpeg.binaries()
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(tools.ffprobe, str(source)), 30))
    out = tmp_path / "out"
    for rendition in ("v0", "v1"):
        (out / rendition).mkdir(parents=True)
    cap = 200_000
    argv = hls_args(
        tools.ffmpeg,
        AdaptiveOptions(quality="high"),
        media,
        str(source),
        str(out / MASTER_PLAYLIST),
        Limits(cap),
    )
    seen: list[str] = []
    with pytest.raises(OutputTooLarge, match=f"limit of {cap} bytes"):
        ffmpeg.run(argv, 120, on_line=OutputFolderCap(out, cap, seen.append).line)
    made = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    # the hls muxer writes each segment once it is complete: the run stops at the first check after
    # the segments that crossed the cap, far from the whole 20 s (five 4 s segments per rendition)
    assert made >= cap
    assert sorted(f.name for f in (out / "v0").iterdir()) == ["segment_00000.ts"]
    assert any(line.startswith("progress=") for line in seen)  # progress still reached the task
