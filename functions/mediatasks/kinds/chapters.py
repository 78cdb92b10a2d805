"""chapters: chapter markers where the picture changes scene (ffmpeg's scene score), at least
`min_seconds` long and at most `max_chapters` of them, titled by the first words spoken in each
(or "Chapter N"): a WebVTT chapters track, and the chapters as data `[{start, end, title}]`."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Literal

from pydantic import Field

from mediatasks.domain.cues import Chapter, Cue, chapter_bounds, chapters_of, webvtt
from mediatasks.domain.errors import InputUnsupported
from mediatasks.domain.ffmpeg_args import Limits, input_args, output_bounds
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import StrictOptions, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.kinds.base import (
    SPEECH_TRACK_STEPS,
    TRACK_STEP_WEIGHTS,
    Family,
    Kind,
    MadeTrack,
    Output,
    Track,
    TrackJob,
    TrackTools,
)

# Scenes are compared on small pictures: the score barely changes and decoding dominates anyway.
SCENE_WIDTH = 160
_PTS_TIME = re.compile(r"\bpts_time:(\d+(?:\.\d+)?)")


class ChaptersOptions(StrictOptions):
    min_seconds: float = Field(default=10, ge=1, le=3600, description="The shortest chapter, in seconds")
    max_chapters: int = Field(default=20, ge=1, le=100)
    threshold: float = Field(
        default=0.3, ge=0.05, le=0.95, description="How different two frames must be to start a chapter (0-1)"
    )


class ChaptersTaskRequest(TaskRequest):
    kind: Literal["chapters"]
    options: ChaptersOptions = Field(default_factory=ChaptersOptions)


def scene_args(
    ffmpeg: str, options: ChaptersOptions, media: ProbedMedia, source_path: str, limits: Limits
) -> list[str]:
    """Prints the time of every frame whose scene score is over the threshold to stdout. The
    filtergraph holds validated numbers only."""
    filters = f"scale={SCENE_WIDTH}:-2,select='gt(scene,{options.threshold:.3f})',metadata=mode=print:file=-"
    return [
        ffmpeg, *input_args(media, Trim(), source_path, limits), "-map", "0:v:0", "-an", "-sn",
        "-vf", filters, *output_bounds(limits), "-f", "null", "-",
    ]  # fmt: skip


class SceneCuts:
    """Reads the metadata filter's lines: each `pts_time:` is the first frame of a new scene."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def line(self, text: str) -> None:
        if match := _PTS_TIME.search(text):
            self.times.append(float(match.group(1)))


def scene_chapters(job: TrackJob, tools: TrackTools, options: ChaptersOptions) -> list[Chapter]:
    """The input's chapters at its scene cuts (one chapter for an input without pictures)."""
    if not job.media.duration:
        raise InputUnsupported("the input has no duration to divide into chapters")
    cuts = SceneCuts()
    if job.media.has_video:
        tools.run(
            scene_args(tools.ffmpeg, options, job.media, str(job.source), job.limits), on_line=cuts.line
        )
    starts = chapter_bounds(cuts.times, job.media.duration, options.min_seconds, options.max_chapters)
    return chapters_of(starts, job.media.duration, job.transcript)


def make_chapters(job: TrackJob, tools: TrackTools) -> MadeTrack:
    if not job.media.duration:
        raise InputUnsupported("chapters need a video with a duration")
    chapters = scene_chapters(job, tools, job.options)
    track = webvtt([Cue(c.start, c.end, c.title) for c in chapters])
    (job.folder / "chapters.vtt").write_text(track)
    return MadeTrack(
        filename="chapters.vtt", format="vtt", type="text/vtt", data=[asdict(c) for c in chapters]
    )


KIND = Kind(
    name="chapters",
    family=Family.tracks,
    summary="Chapters at scene changes, titled from the speech when there is some: WebVTT and data",
    request=ChaptersTaskRequest,
    steps=SPEECH_TRACK_STEPS,
    output=Output.made_file,
    track=Track(
        needs="video",
        output="chapters",
        make=make_chapters,
        format_of=lambda options: "vtt",
        speech="optional",
    ),
    step_weights=TRACK_STEP_WEIGHTS,
)
