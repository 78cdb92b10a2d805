"""nsfw: whether the input shows sexual content (seeds 002/003's content moderation). Frames are
sampled every `interval` seconds over the whole input (an image is its one frame) and judged by the
deployment's moderation model (providers/moderation.py); the input is nsfw when a frame scores at
least `threshold`. In a deployment a video is instead moderated as a whole by Rekognition's video
job, which samples it itself: its frames are those it reported labels at. A JSON file and the task
output's data:
`{nsfw, score, threshold, frames: [{time, score}], labels: [{name, confidence, start, end}], model}`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from mediatasks.domain.errors import InputUnsupported
from mediatasks.domain.ffmpeg_args import Limits, input_args, output_args
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import StrictOptions, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.kinds.base import (
    MODERATION_TRACK_STEPS,
    TRACK_STEP_WEIGHTS,
    Family,
    Kind,
    MadeTrack,
    Output,
    Track,
    TrackJob,
    TrackTools,
)
from mediatasks.kinds.intelligence import FRAME_WIDTH, sampled_frames
from mediatasks.providers.moderation import FrameVerdict

# A long input is sampled more sparsely rather than judged frame by frame for ever: at most this
# many frames (20 ms each locally, one Rekognition call each in a deployment).
MAX_FRAMES = 600
# Rekognition's video job reports only the frames it saw something in: a reported frame stands for
# the footage up to the next one, at most this long (a gap is footage it found nothing in).
REPORTED_FRAME_SECONDS = 1.0


class NsfwOptions(StrictOptions):
    interval: float = Field(
        default=1.0,
        ge=0.1,
        le=3600,
        description=f"Seconds between judged frames; widened so that at most {MAX_FRAMES} are judged"
        " (a deployment's Rekognition Video job samples a video itself)",
    )
    threshold: float = Field(
        default=0.5, ge=0, le=1, description="The score (0-1) from which a frame counts as nsfw"
    )


class NsfwTaskRequest(TaskRequest):
    kind: Literal["nsfw"]
    options: NsfwOptions = Field(default_factory=NsfwOptions)


@dataclass(frozen=True)
class Sampling:
    """Which frames are judged: `count` of them, `interval` seconds apart from the start."""

    interval: float
    count: int

    @classmethod
    def over(cls, duration: float | None, interval: float) -> Sampling:
        if not duration:  # a still picture
            return cls(interval, 1)
        interval = max(interval, duration / MAX_FRAMES)
        return cls(interval, max(1, min(MAX_FRAMES, math.ceil(duration / interval))))

    def time_of(self, index: int) -> float:
        return round(index * self.interval, 3)


def labels_over_time(frames: list[tuple[float, float, FrameVerdict]]) -> list[dict[str, Any]]:
    """Each label as the spans of consecutive frames it was seen in, with its highest confidence;
    `frames` are (time, end, verdict): a span runs from its first frame's time to its last one's end,
    and a frame after a gap (footage nobody judged) starts a new one."""
    spans: list[dict[str, Any]] = []
    open_spans: dict[str, dict[str, Any]] = {}
    for time, end, verdict in frames:
        seen = {label.name: label.confidence for label in verdict.labels}
        for name, running in list(open_spans.items()):
            if name not in seen or running["end"] < time:
                del open_spans[name]
        for name, confidence in seen.items():
            span = open_spans.get(name)
            if span is None:
                span = {"name": name, "confidence": confidence, "start": time, "end": end}
                open_spans[name] = span
                spans.append(span)
            span["confidence"] = max(span["confidence"], confidence)
            span["end"] = end
    return sorted(spans, key=lambda span: (span["start"], span["name"]))


def moderation_video_args(
    ffmpeg: str, media: ProbedMedia, source_path: str, output_path: str, limits: Limits
) -> list[str]:
    """The input's video as Rekognition's video job reads it (H.264 in MP4), no larger than the
    frames the local model is shown: the job reads pictures, so a small fast encode is enough."""
    return [
        ffmpeg, *input_args(media, Trim(), source_path, limits), "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", f"scale='2*trunc(min({FRAME_WIDTH},iw)/2)':-2,setsar=1", "-c:v", "libx264",
        "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
        *output_args(limits, "mp4", output_path),
    ]  # fmt: skip


def judged_frames(job: TrackJob, tools: TrackTools) -> tuple[str, list[tuple[float, float, FrameVerdict]]]:
    """The model's name and each judged frame as (time, end, verdict): the moderation job's frames,
    else frames sampled here, each lasting until the next sampled one."""
    duration = job.media.duration or 0.0
    if job.moderation is not None:
        reported = job.moderation.frames
        nexts = [frame.time for frame in reported[1:]] + [duration]
        return job.moderation.model, [
            (
                frame.time,
                round(max(frame.time, min(after, frame.time + REPORTED_FRAME_SECONDS)), 3),
                frame.verdict,
            )
            for frame, after in zip(reported, nexts, strict=True)
        ]
    options: NsfwOptions = job.options
    sampling = Sampling.over(job.media.duration, options.interval)
    frames = sampled_frames(job, tools, sampling.interval, sampling.count)
    if not frames:
        raise InputUnsupported("the input has no pictures to judge")
    moderator = tools.moderator()
    verdicts = [moderator.judge(frame) for frame in frames]
    return moderator.model, [
        (sampling.time_of(index), min(sampling.time_of(index + 1), duration) if duration else 0.0, verdict)
        for index, verdict in enumerate(verdicts)
    ]


def make_nsfw(job: TrackJob, tools: TrackTools) -> MadeTrack:
    options: NsfwOptions = job.options
    model, frames = judged_frames(job, tools)
    score = max((verdict.score for _, _, verdict in frames), default=0.0)
    data = {
        "nsfw": score >= options.threshold,
        "score": score,
        "threshold": options.threshold,
        "frames": [{"time": time, "score": verdict.score} for time, _, verdict in frames],
        "labels": labels_over_time(frames),
        "model": model,
    }
    (job.folder / "nsfw.json").write_text(json.dumps(data))
    return MadeTrack(filename="nsfw.json", format="json", type="application/json", data=data)


KIND = Kind(
    name="nsfw",
    family=Family.intelligence,
    summary="Whether the input shows sexual content: frames sampled over it, judged by a moderation model",
    request=NsfwTaskRequest,
    steps=MODERATION_TRACK_STEPS,
    output=Output.made_file,
    track=Track(needs="video", output="nsfw", make=make_nsfw, format_of=lambda options: "json"),
    step_weights=TRACK_STEP_WEIGHTS,
)
