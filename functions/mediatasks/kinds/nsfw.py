"""nsfw: whether the input shows sexual content (seeds 002/003's content moderation). Frames are
sampled every `interval` seconds over the whole input (an image is its one frame) and judged by the
deployment's moderation model (providers/moderation.py); the input is nsfw when a frame scores at
least `threshold`. A JSON file and the task output's data:
`{nsfw, score, threshold, frames: [{time, score}], labels: [{name, confidence, start, end}], model}`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from mediatasks.domain.errors import InputUnsupported
from mediatasks.domain.options import StrictOptions
from mediatasks.domain.requests import TaskRequest
from mediatasks.kinds.base import (
    TRACK_STEP_WEIGHTS,
    TRACK_STEPS,
    Family,
    Kind,
    MadeTrack,
    Output,
    Track,
    TrackJob,
    TrackTools,
)
from mediatasks.kinds.intelligence import sampled_frames
from mediatasks.providers.moderation import FrameVerdict

# A long input is sampled more sparsely rather than judged frame by frame for ever: at most this
# many frames (20 ms each locally, one Rekognition call each in a deployment).
MAX_FRAMES = 600


class NsfwOptions(StrictOptions):
    interval: float = Field(
        default=1.0,
        ge=0.1,
        le=3600,
        description=f"Seconds between judged frames; widened so that at most {MAX_FRAMES} are judged",
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


def labels_over_time(
    verdicts: list[FrameVerdict], sampling: Sampling, duration: float | None
) -> list[dict[str, Any]]:
    """Each label as the spans of consecutive frames it was seen in, with its highest confidence:
    a span runs from its first frame to where the frame after its last one would be."""
    spans: list[dict[str, Any]] = []
    open_spans: dict[str, dict[str, Any]] = {}
    for index, verdict in enumerate(verdicts):
        end = min(sampling.time_of(index + 1), duration) if duration else 0.0
        seen = {label.name: label.confidence for label in verdict.labels}
        for name in list(open_spans):
            if name not in seen:
                del open_spans[name]
        for name, confidence in seen.items():
            span = open_spans.get(name)
            if span is None:
                span = {"name": name, "confidence": confidence, "start": sampling.time_of(index), "end": end}
                open_spans[name] = span
                spans.append(span)
            span["confidence"] = max(span["confidence"], confidence)
            span["end"] = end
    return sorted(spans, key=lambda span: (span["start"], span["name"]))


def make_nsfw(job: TrackJob, tools: TrackTools) -> MadeTrack:
    options: NsfwOptions = job.options
    media = job.media
    sampling = Sampling.over(media.duration, options.interval)
    frames = sampled_frames(job, tools, sampling.interval, sampling.count)
    if not frames:
        raise InputUnsupported("the input has no pictures to judge")
    moderator = tools.moderator()
    verdicts = [moderator.judge(frame) for frame in frames]
    used = Sampling(sampling.interval, len(frames))
    score = max(verdict.score for verdict in verdicts)
    data = {
        "nsfw": score >= options.threshold,
        "score": score,
        "threshold": options.threshold,
        "frames": [
            {"time": used.time_of(index), "score": verdict.score} for index, verdict in enumerate(verdicts)
        ],
        "labels": labels_over_time(verdicts, used, media.duration),
        "model": moderator.model,
    }
    (job.folder / "nsfw.json").write_text(json.dumps(data))
    return MadeTrack(filename="nsfw.json", format="json", type="application/json", data=data)


KIND = Kind(
    name="nsfw",
    family=Family.intelligence,
    summary="Whether the input shows sexual content: frames sampled over it, judged by a moderation model",
    request=NsfwTaskRequest,
    steps=TRACK_STEPS,
    output=Output.made_file,
    track=Track(needs="video", output="nsfw", make=make_nsfw, format_of=lambda options: "json"),
    step_weights=TRACK_STEP_WEIGHTS,
)
