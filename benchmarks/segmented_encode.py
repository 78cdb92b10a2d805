"""A long video's encode in pieces against the single encode, side by side, with the product's argv.

On a generated 720p clip with moving content and audio (default 120 s, a keyframe every 2 s), the
`video` kind's encode (1280x720 h264 at `medium`) is run once whole, and once as the segmented path
runs it: split (stream copy at keyframes), every piece encoded by N local workers, joined (concat,
stream copy) with the audio encoded once. Printed: frame count, duration, A/V offset, bitrate and
SSIM against the source for both; the wall times and the speed-up; and, from the per-piece timings,
the projected wall time of a 2-hour 1080p film on 100 parallel Lambdas.

    .venv/bin/python -m benchmarks.segmented_encode [--seconds 120] [--workers 2] [--segment-seconds 10]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mediatasks.adapters import ffmpeg
from mediatasks.domain.ffmpeg_args import Limits, ffprobe_args
from mediatasks.domain.media import ProbedMedia, parse_ffprobe
from mediatasks.domain.segments import MB_PER_VCPU, concat_list, piece_media, piece_starts, split_args
from mediatasks.kinds.video import VideoOptions, video_encode_args, video_join_args
from tests.support.media import make_media

OPTIONS = VideoOptions.model_validate({"width": 1280, "height": 720, "format": "mp4", "quality": "medium"})
LIMITS = Limits(5 * 1024**3)
FILM_SECONDS = 2 * 3600
LAMBDAS = 100
LAMBDA_MEMORY_MB = 3008  # cdk.json's encodeSegment size
PIXELS_1080P_OVER_720P = (1920 * 1080) / (1280 * 720)


@dataclass(frozen=True)
class Measured:
    frames: int
    duration: float
    av_offset: float
    bitrate: float
    ssim: float


def describe(path: Path) -> ProbedMedia:
    return parse_ffprobe(ffmpeg.probe(ffprobe_args(ffmpeg.binaries().ffprobe, str(path)), 120))


def measure(output: Path, source: Path) -> Measured:
    argv = [ffmpeg.binaries().ffprobe, "-v", "error", "-show_streams", "-show_entries",
            "packet=stream_index,pts_time", "-of", "json", str(output)]  # fmt: skip
    report = json.loads(subprocess.run(argv, check=True, capture_output=True).stdout)
    video = next(s for s in report["streams"] if s["codec_type"] == "video")
    audio = next(s for s in report["streams"] if s["codec_type"] == "audio")
    video_times = [float(p["pts_time"]) for p in report["packets"] if p["stream_index"] == video["index"]]
    audio_times = [float(p["pts_time"]) for p in report["packets"] if p["stream_index"] == audio["index"]]
    # SSIM of the output's picture against the source's, frame by frame (same size here)
    ssim_run = subprocess.run(
        [ffmpeg.binaries().ffmpeg, "-hide_banner", "-nostdin", "-i", str(output), "-i", str(source),
         "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    ssim = float(re.findall(r"All:([0-9.]+)", ssim_run.stderr)[-1])
    return Measured(
        frames=len(video_times),
        duration=float(video["duration"]),
        av_offset=min(audio_times) - min(video_times),
        bitrate=float(video["bit_rate"]),
        ssim=ssim,
    )


def single(source: Path, media: ProbedMedia, out: Path) -> float:
    argv = video_encode_args(ffmpeg.binaries().ffmpeg, OPTIONS, media, str(source), str(out), LIMITS)
    started = time.perf_counter()
    ffmpeg.run(argv, 7200)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Segmented:
    split: float
    pieces: float
    join: float
    piece_seconds: list[float]  # each piece's own encode time
    piece_durations: list[float]

    @property
    def wall(self) -> float:
        return self.split + self.pieces + self.join


def segmented(
    source: Path, media: ProbedMedia, folder: Path, out: Path, workers: int, length: float
) -> Segmented:
    tools = ffmpeg.binaries()
    started = time.perf_counter()
    listing = ffmpeg.run(
        split_args(
            tools.ffmpeg,
            media,
            str(source),
            str(folder / "piece_%05d.mkv"),
            str(folder / "audio.mka"),
            length,
            LIMITS,
        ),
        3600,
    )
    pieces = piece_starts(listing.decode())
    split_seconds = time.perf_counter() - started
    starts = [start for _, start in pieces] + [media.duration or 0.0]

    def encode(index: int) -> float:
        name = pieces[index][0]
        begun = time.perf_counter()
        argv = video_encode_args(
            tools.ffmpeg,
            OPTIONS,
            piece_media(media),
            str(folder / name),
            str(folder / f"encoded_{index:05d}.mp4"),
            LIMITS,
        )
        ffmpeg.run(argv, 3600)
        return time.perf_counter() - begun

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        piece_seconds = list(pool.map(encode, range(len(pieces))))
    pieces_seconds = time.perf_counter() - started
    names = [f"encoded_{index:05d}.mp4" for index in range(len(pieces))]
    (folder / "pieces.ffconcat").write_text(concat_list(names))
    started = time.perf_counter()
    argv = video_join_args(
        tools.ffmpeg,
        OPTIONS,
        media,
        str(folder / "pieces.ffconcat"),
        str(folder / "audio.mka"),
        str(out),
        LIMITS,
    )
    ffmpeg.run(argv, 3600)
    join_seconds = time.perf_counter() - started
    durations = [end - start for start, end in itertools.pairwise(starts)]
    return Segmented(split_seconds, pieces_seconds, join_seconds, piece_seconds, durations)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--segment-seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediatasks-segmented-") as name:
        folder = Path(name)
        source = folder / "source.mp4"
        print(f"generating a {args.seconds} s 1280x720 30 fps clip with audio ...", flush=True)
        make_media(
            source,
            size="1280x720",
            seconds=args.seconds,
            fps=30,
            output_args=["-g", "60", "-preset", "veryfast"],
        )
        media = describe(source)
        print("single encode ...", flush=True)
        whole_seconds = single(source, media, folder / "single.mp4")
        print(f"segmented encode with {args.workers} workers ...", flush=True)
        pieces_folder = folder / "pieces"
        pieces_folder.mkdir()
        split = segmented(
            source, media, pieces_folder, folder / "segmented.mp4", args.workers, args.segment_seconds
        )
        print("measuring both against the source ...", flush=True)
        whole, joined = measure(folder / "single.mp4", source), measure(folder / "segmented.mp4", source)
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(f"\n{args.seconds} s 720p -> 1280x720 h264 medium; {len(split.piece_seconds)} pieces of "
          f"~{args.segment_seconds:g} s; {args.workers} workers on {cores} cores "
          f"(load average {load:.1f})")  # fmt: skip
    print(f"{'':24s}{'single':>12s}{'segmented':>12s}  difference")
    bitrate_change = 100 * (joined.bitrate / whole.bitrate - 1)
    rows = [
        ("frames", whole.frames, joined.frames, f"{joined.frames - whole.frames:+d} (target 0)"),
        ("duration s", whole.duration, joined.duration,
         f"{joined.duration - whole.duration:+.3f} (target +-1 frame)"),
        ("A/V offset ms", whole.av_offset * 1000, joined.av_offset * 1000, "(target <= 40)"),
        ("video kb/s", whole.bitrate / 1000, joined.bitrate / 1000, f"{bitrate_change:+.2f} % (target 2 %)"),
        ("SSIM vs source", whole.ssim, joined.ssim, f"{joined.ssim - whole.ssim:+.4f} (target >= -0.002)"),
    ]  # fmt: skip
    for label, a, b, note in rows:
        print(f"  {label:22s}{a:12.4f}{b:12.4f}  {note}")
    speed_up = whole_seconds / split.wall
    print(f"  {'wall s':22s}{whole_seconds:12.2f}{split.wall:12.2f}  speed-up {speed_up:.2f}x "
          f"(split {split.split:.2f} + pieces {split.pieces:.2f} + join {split.join:.2f})")  # fmt: skip
    print(projection(split, args.seconds, min(1.0, cores / args.workers)))


def projection(split: Segmented, seconds: float, cores_per_worker: float) -> str:
    """A 2-hour 1080p film on LAMBDAS functions, from the pieces' timings: a piece cost (its wall
    seconds x the cores its worker had) vCPU-seconds per second of video here; 1080p has 2.25x the
    pixels; a Lambda of LAMBDA_MEMORY_MB has MEMORY/1769 vCPUs; split and join (stream copies and
    one audio encode) scale with the duration."""
    pairs = zip(split.piece_seconds, split.piece_durations, strict=True)
    per_second = statistics.median(taken / lasted for taken, lasted in pairs)
    vcpu_seconds = per_second * cores_per_worker * PIXELS_1080P_OVER_720P
    lambda_vcpus = LAMBDA_MEMORY_MB / MB_PER_VCPU
    piece_length = 60.0  # cdk.json's segmentSeconds
    piece_wall = vcpu_seconds * piece_length / lambda_vcpus
    waves = -(-int(FILM_SECONDS / piece_length) // LAMBDAS)
    copy_seconds = (split.split + split.join) * FILM_SECONDS / seconds
    projected = copy_seconds + waves * piece_wall
    whole_hours = vcpu_seconds * FILM_SECONDS / lambda_vcpus / 3600
    return (
        f"projected 2-hour 1080p film on {LAMBDAS} Lambdas of {LAMBDA_MEMORY_MB} MB "
        f"({lambda_vcpus:.1f} vCPU): "
        f"{projected / 60:.1f} min ({waves} waves of {piece_wall:.0f} s pieces + {copy_seconds / 60:.1f} min "
        f"split and join); as one encode on one such Lambda: {whole_hours:.1f} h"
    )


if __name__ == "__main__":
    main()
