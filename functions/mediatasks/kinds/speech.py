"""speech: a transcript of the input's speech (seeds 002/003), as a JSON file and the task output's
data: `{language, text, segments: [{start, end, text, words: [{start, end, word, confidence}]}]}`.
Recognised by the deployment's speech provider (providers/speech.py); silence is an empty transcript."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from mediatasks.domain.errors import OutputTooLarge
from mediatasks.domain.ffmpeg_args import Limits, input_args, output_args
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import StrictOptions, Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.domain.transcripts import Transcript
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

# The transcript is also the task output's data, which is stored with the task (a DynamoDB item holds
# at most 400 KB): about 70 bytes a word, 150 words a minute, so at most 20 minutes of speech, and
# a transcript over the data budget (fast speech) fails the task rather than the write.
MAX_SECONDS = 20 * 60
MAX_DATA_BYTES = 300 * 1024

Language = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$"),
    Field(description="The spoken language as ISO 639-1 (en) or with its region (en-GB); default: detected"),
]


class SpeechOptions(StrictOptions):
    language: Language | None = None


class SpeechTaskRequest(TaskRequest):
    kind: Literal["speech"]
    options: SpeechOptions = Field(default_factory=SpeechOptions)


def spoken(job: TrackJob) -> Transcript:
    """The transcript a speech kind reads: its transcribe step always leaves one."""
    if job.transcript is None:
        raise ValueError("the transcribe step left no transcript")
    return job.transcript


def make_transcript(job: TrackJob, tools: TrackTools) -> MadeTrack:
    transcript = spoken(job)
    data = transcript.model_dump(mode="json")
    body = json.dumps(data, ensure_ascii=False).encode()
    if len(body) > MAX_DATA_BYTES:
        raise OutputTooLarge(
            f"the transcript is {len(body)} bytes; a speech task returns at most {MAX_DATA_BYTES}:"
            " use subtitles for long inputs"
        )
    (job.folder / "speech.json").write_bytes(body)
    return MadeTrack(filename="speech.json", format="json", type="application/json", data=data)


KIND = Kind(
    name="speech",
    family=Family.intelligence,
    summary="A transcript of the input's speech with word times, as JSON",
    request=SpeechTaskRequest,
    steps=SPEECH_TRACK_STEPS,
    output=Output.made_file,
    track=Track(
        needs="audio",
        output="speech",
        make=make_transcript,
        format_of=lambda options: "json",
        speech="required",
        max_seconds=MAX_SECONDS,
    ),
    step_weights=TRACK_STEP_WEIGHTS,
)


def speech_audio_args(
    ffmpeg: str, media: ProbedMedia, source_path: str, output_path: str, limits: Limits
) -> list[str]:
    """The input's first audio stream as what recognisers read best: 16 kHz mono FLAC (lossless,
    about half the size of WAV), which Amazon Transcribe and the local model both take."""
    return [
        ffmpeg, *input_args(media, Trim(), source_path, limits), "-map", "0:a:0", "-vn", "-sn",
        "-ac", "1", "-ar", "16000", "-c:a", "flac", *output_args(limits, "flac", output_path),
    ]  # fmt: skip
