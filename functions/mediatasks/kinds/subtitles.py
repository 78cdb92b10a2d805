"""subtitles: captions of the input's speech as WebVTT or SubRip, laid out as captions should be
(domain/cues.py: at most 2 lines of 42 characters and 7 s a cue, split at sentences and pauses)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mediatasks.domain.cues import caption_cues, subrip, webvtt
from mediatasks.domain.options import StrictOptions
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
from mediatasks.kinds.speech import Language, spoken

SubtitleFormat = Literal["vtt", "srt"]
MIME_BY_FORMAT = {"vtt": "text/vtt", "srt": "application/x-subrip"}


class SubtitlesOptions(StrictOptions):
    format: SubtitleFormat = "vtt"
    language: Language | None = None


class SubtitlesTaskRequest(TaskRequest):
    kind: Literal["subtitles"]
    options: SubtitlesOptions = Field(default_factory=SubtitlesOptions)


def make_subtitles(job: TrackJob, tools: TrackTools) -> MadeTrack:
    options: SubtitlesOptions = job.options
    cues = caption_cues(spoken(job))
    filename = f"subtitles.{options.format}"
    (job.folder / filename).write_text(webvtt(cues) if options.format == "vtt" else subrip(cues))
    return MadeTrack(filename=filename, format=options.format, type=MIME_BY_FORMAT[options.format])


KIND = Kind(
    name="subtitles",
    family=Family.tracks,
    summary="Captions of the input's speech as WebVTT or SRT",
    request=SubtitlesTaskRequest,
    steps=SPEECH_TRACK_STEPS,
    output=Output.made_file,
    track=Track(
        needs="audio",
        output="subtitles",
        make=make_subtitles,
        format_of=lambda options: str(options.format),
        speech="required",
    ),
    step_weights=TRACK_STEP_WEIGHTS,
)
