"""A long video's encode in pieces, forced on a short clip (pieces of 1 s) through the local stack,
in this process so a test can make one piece's ffmpeg fail or wait: the output matches the single
encode frame for frame, a failed piece is retried on its own, a piece that keeps failing fails the
task cleanly, and a cancel during the map ends the task cancelled."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from mediatasks.adapters import ffmpeg
from mediatasks.client import Client
from mediatasks.contract.latest import TaskView
from mediatasks.domain.errors import ProcessingFailed
from mediatasks.domain.ffmpeg_args import Limits, ffprobe_args
from mediatasks.domain.media import parse_ffprobe
from mediatasks.kinds.video import VideoOptions, video_encode_args
from mediatasks.local.cloud import free_port
from mediatasks.local.stack import LocalStack, SegmentSettings
from tests.support.media import make_media
from tests.support.servers import serve_directory
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

CLIP_SECONDS = 4
FPS = 25
TASK_SECONDS = 180
ONE_FRAME = 1 / FPS


@dataclass(frozen=True)
class Product:
    client: Client
    input_url: str
    clip: Path
    folder: Path
    media_bucket: str

    def run(self, options: dict[str, Any]) -> TaskView:
        task = self.client.create({"kind": "video", "input": self.input_url, "options": options})
        return self.client.wait(task.id, timeout=TASK_SECONDS, poll_seconds=0.3)

    def work_files(self, task_id: str) -> list[str]:
        listed = boto3.client("s3").list_objects_v2(Bucket=self.media_bucket, Prefix=f"work/{task_id}/")
        return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    folder = tmp_path_factory.mktemp("segmented")
    # a keyframe every second: the pieces are cut there
    clip = make_media(folder / "clip.mp4", seconds=CLIP_SECONDS, fps=FPS, output_args=["-g", str(FPS)])
    with (
        serve_directory(folder) as server,
        LocalStack(port=free_port(), allow_local_inputs=True, segments=SegmentSettings(1, 1)) as stack,
        Client(stack.url, stack.api_key) as client,
    ):
        assert stack.cloud is not None
        media_bucket = stack.cloud.names.refs["MediaBucket"]
        yield Product(client, server.url_of(clip.name), clip, folder, media_bucket)


@dataclass(frozen=True)
class Streams:
    frames: int
    video_start: float
    video_duration: float
    audio_start: float
    audio_duration: float
    video_codec: str


def streams(path: Path) -> Streams:
    """What a player sees: the video's frames (each its own packet: this ffprobe has no AV1 decoder to
    count decoded frames with), and where each stream starts and ends by its packets' times (a
    webm holds no per-stream duration)."""
    argv = [
        ffmpeg.binaries().ffprobe, "-v", "error", "-show_streams", "-show_entries",
        "packet=stream_index,pts_time,duration_time", "-of", "json", str(path),
    ]  # fmt: skip
    report = json.loads(subprocess.run(argv, check=True, capture_output=True).stdout)
    video = next(s for s in report["streams"] if s["codec_type"] == "video")
    audio = next(s for s in report["streams"] if s["codec_type"] == "audio")

    def packets(stream: dict[str, Any]) -> list[dict[str, Any]]:
        return [p for p in report["packets"] if p["stream_index"] == stream["index"]]

    def span(stream: dict[str, Any]) -> tuple[float, float]:
        start = min(float(p["pts_time"]) for p in packets(stream))
        end = max(float(p["pts_time"]) + float(p.get("duration_time", 0)) for p in packets(stream))
        return start, end - start

    (video_start, video_duration), (audio_start, audio_duration) = span(video), span(audio)
    return Streams(
        len(packets(video)),
        video_start,
        video_duration,
        audio_start,
        audio_duration,
        video["codec_name"],
    )


def single_encode(product: Product, options: dict[str, Any], name: str) -> Path:
    """The same kind's argv over the whole clip in one ffmpeg run: what the single path makes."""
    binaries = ffmpeg.binaries()
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(binaries.ffprobe, str(product.clip)), 60))
    out = product.folder / name
    argv = video_encode_args(
        binaries.ffmpeg,
        VideoOptions.model_validate(options),
        media,
        str(product.clip),
        str(out),
        Limits(10**9),
    )
    ffmpeg.run(argv, 120)
    return out


def download(task: TaskView, target: Path) -> Path:
    assert task.output is not None
    assert task.output.url
    target.write_bytes(httpx.get(task.output.url).content)
    return target


def piece_encodes(fake: Callable[[list[str], Callable[..., bytes]], bytes]) -> Callable[..., bytes]:
    """ffmpeg.run with the encode of a piece (its input is the downloaded piece.mkv) replaced."""
    real = ffmpeg.run

    def run(argv: list[str], *args: Any, **kwargs: Any) -> bytes:
        if any(arg.endswith("/piece.mkv") for arg in argv):
            return fake(argv, lambda: real(argv, *args, **kwargs))
        return real(argv, *args, **kwargs)

    return run


@pytest.mark.parametrize(
    "options",
    [
        {"format": "mp4"},
        pytest.param({"format": "mp4", "codec": "h265"}, marks=pytest.mark.slow),
        pytest.param({"format": "webm", "codec": "vp9"}, marks=pytest.mark.slow),
        pytest.param({"format": "mp4", "codec": "av1"}, marks=pytest.mark.slow),
    ],
    ids=lambda options: options.get("codec", "h264"),
)
def test_pieces_make_the_single_encodes_video(product: Product, options: dict[str, Any]) -> None:
    task = product.run(options)
    assert task.status == "succeeded", task.error
    assert [step.kind for step in task.steps] == ["ingest", "probe", "split", "video", "join", "upload"]
    assert all(step.status == "succeeded" and step.progress == 100 for step in task.steps)
    name = f"{options.get('codec', 'h264')}.{options['format']}"
    made, single = (
        streams(download(task, product.folder / f"pieces-{name}")),
        streams(single_encode(product, options, f"single-{name}")),
    )
    assert made.video_codec == single.video_codec
    assert made.frames == single.frames == CLIP_SECONDS * FPS
    assert abs(made.video_duration - single.video_duration) <= ONE_FRAME
    assert abs((made.audio_start - made.video_start) - (single.audio_start - single.video_start)) <= 0.04
    assert abs(made.audio_duration - single.audio_duration) <= 0.05
    assert wait_until(lambda: not product.work_files(task.id), 10, "the work files to be removed")


def test_a_failed_piece_is_retried_on_its_own(product: Product, monkeypatch: pytest.MonkeyPatch) -> None:
    failures: list[list[str]] = []

    def fail_once(argv: list[str], encode: Callable[[], bytes]) -> bytes:
        if not failures:
            failures.append(argv)
            raise ProcessingFailed("ffmpeg failed")
        return encode()

    monkeypatch.setattr(ffmpeg, "run", piece_encodes(fail_once))
    task = product.run({"format": "mp4"})
    assert task.status == "succeeded", task.error
    assert len(failures) == 1
    assert streams(download(task, product.folder / "retried.mp4")).frames == CLIP_SECONDS * FPS


def test_a_piece_that_keeps_failing_fails_the_task_cleanly(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_fail(argv: list[str], encode: Callable[[], bytes]) -> bytes:
        raise ProcessingFailed("ffmpeg could not encode the piece")

    monkeypatch.setattr(ffmpeg, "run", piece_encodes(always_fail))
    task = product.run({"format": "mp4"})
    assert task.status == "failed"
    assert task.error is not None
    assert task.error.kind == ProcessingFailed.kind
    assert task.error.message == "ffmpeg could not encode the piece"
    assert task.output is None
    assert wait_until(lambda: not product.work_files(task.id), 30, "every work file to be removed")


def test_cancel_during_the_pieces_ends_cancelled(product: Product, monkeypatch: pytest.MonkeyPatch) -> None:
    encoding, release = threading.Event(), threading.Event()

    def wait_for_the_cancel(argv: list[str], encode: Callable[[], bytes]) -> bytes:
        encoding.set()
        release.wait(TASK_SECONDS)
        return encode()

    monkeypatch.setattr(ffmpeg, "run", piece_encodes(wait_for_the_cancel))
    task = product.client.create({"kind": "video", "input": product.input_url, "options": {"format": "mp4"}})
    assert encoding.wait(TASK_SECONDS), "no piece started encoding"
    cancelled = product.client.cancel(task.id)
    release.set()
    assert cancelled.status == "cancelled"
    ended = product.client.wait(task.id, timeout=TASK_SECONDS, poll_seconds=0.3)
    assert ended.status == "cancelled"
    assert ended.output is None
    steps = {step.kind: step.status for step in ended.steps}
    assert steps == {"ingest": "succeeded", "probe": "succeeded", "split": "succeeded", "video": "cancelled",
                     "join": "cancelled", "upload": "cancelled"}  # fmt: skip
