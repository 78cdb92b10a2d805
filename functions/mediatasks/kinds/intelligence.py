"""What the kinds that read speech to write about it share (outline, description, prompt): the
transcript's sentences, how a model is shown them (numbered, so it can point at them and its answer
can be checked), and their result as a JSON file that is also the task output's data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mediatasks.domain.errors import InputUnsupported
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
)

EXTRACTIVE_MODEL = "extractive (sentences of the transcript)"
# What they read is also stored with the task (a DynamoDB item): 20 minutes of speech at most, as speech
MAX_SECONDS = 20 * 60


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
