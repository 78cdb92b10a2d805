"""What the intelligence kinds share: frames sampled over the input (nsfw; description and prompt
for a model that sees pictures) and, for the kinds that read speech to write about it (outline,
description, prompt), the transcript's sentences, how a model is shown them (numbered, so it can
point at them and its answer can be checked), and their result as a JSON file that is also the
task output's data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mediatasks.domain.errors import InputUnsupported
from mediatasks.domain.ffmpeg_args import frames_args
from mediatasks.domain.options import Trim
from mediatasks.domain.requests import TaskRequest
from mediatasks.domain.summaries import Sentence, sentences_between
from mediatasks.domain.tasks import FileKind
from mediatasks.domain.transcripts import Transcript
from mediatasks.kinds.base import (
    SPEECH_TRACK_STEPS,
    TRACK_STEP_WEIGHTS,
    Family,
    Kind,
    MadeTrack,
    MakeTrack,
    Output,
    Track,
    TrackJob,
    TrackTools,
)
from mediatasks.providers.language import TextModel

EXTRACTIVE_MODEL = "extractive (sentences of the transcript)"
# What they read is also stored with the task (a DynamoDB item): 20 minutes of speech at most, as speech
MAX_SECONDS = 20 * 60
# Models look at small pictures (open_nsfw at 224 px); this keeps the detail Rekognition and
# multimodal language models use.
FRAME_WIDTH = 480
# A language model that sees pictures is shown this many frames, spread over the input.
FRAMES_FOR_WRITING = 4


def sampled_frames(job: TrackJob, tools: TrackTools, interval: float, count: int) -> list[Path]:
    """Up to `count` frames `interval` seconds apart from the start (an image: itself), as PPM
    files in a folder beside the job's."""
    frames_dir = job.folder.parent / "frames"
    frames_dir.mkdir(exist_ok=True)
    filters = [f"scale='min({FRAME_WIDTH},iw)':-2", "setsar=1"]
    if job.media.duration:
        filters.insert(0, f"fps={1 / interval:.6f}")
    tools.run(
        frames_args(
            tools.ffmpeg, job.media, Trim(), filters, ["-frames:v", str(count)],
            str(frames_dir / "%05d.ppm"), job.limits, str(job.source),
        )
    )  # fmt: skip
    return sorted(frames_dir.glob("*.ppm"))


def frames_for(model: TextModel, job: TrackJob, tools: TrackTools) -> tuple[bytes, ...]:
    """What the model is shown of the input's pictures: a few frames spread over it, as JPEG, when
    it sees pictures and the input has some."""
    if not model.sees_pictures or not job.media.has_video:
        return ()
    interval = (job.media.duration or 0) / FRAMES_FOR_WRITING or 1.0
    return tuple(tools.jpeg(frame) for frame in sampled_frames(job, tools, interval, FRAMES_FOR_WRITING))


def text_kind(
    name: FileKind,
    summary: str,
    request: type[TaskRequest],
    make: MakeTrack,
    aliases: tuple[str, ...] = (),
) -> Kind:
    """A kind that writes about the input's speech: transcribed first, its result a JSON file."""
    return Kind(
        name=name,
        family=Family.intelligence,
        summary=summary,
        request=request,
        steps=SPEECH_TRACK_STEPS,
        output=Output.made_file,
        track=Track(
            needs="audio",
            output=name,
            make=make,
            format_of=lambda options: "json",
            speech="required",
            max_seconds=MAX_SECONDS,
            writes=True,
        ),
        aliases=aliases,
        step_weights=TRACK_STEP_WEIGHTS,
    )


def spoken_transcript(job: TrackJob, purpose: str) -> Transcript:
    """The input's transcript; an input without speech has nothing to `purpose`."""
    if job.transcript is None or not job.transcript.segments:
        raise InputUnsupported(f"the input has no speech to {purpose}")
    return job.transcript


def spoken_sentences(job: TrackJob, purpose: str) -> list[Sentence]:
    """Everything said in the input as sentences."""
    return sentences_between(spoken_transcript(job, purpose), 0.0, float("inf"))


def numbered(sentences: Sequence[Sentence], first: int = 1) -> list[str]:
    """The sentences as a model reads them, numbered from `first`, with their times."""
    return [f"{first + i}. [{s.start:.1f}s] {s.text}" for i, s in enumerate(sentences)]


def quoted(sentences: Sequence[Sentence]) -> str:
    """Sentences chosen from the transcript as one text, the gaps between them marked."""
    return " … ".join(s.text for s in sentences)


def source_of(sentence: Sentence) -> dict[str, float]:
    return {"start": sentence.start, "end": sentence.end}


def json_track(job: TrackJob, name: str, data: dict[str, Any]) -> MadeTrack:
    filename = f"{name}.json"
    (job.folder / filename).write_text(json.dumps(data, ensure_ascii=False))
    return MadeTrack(filename=filename, format="json", type="application/json", data=data)
