"""What a kind declares about itself: its request (and so its options), its steps, its output and how
ffmpeg makes it. The API's validation and OpenAPI document, the state machine's branches, progress and
the pipeline's dispatch are all read from these declarations (kinds/registry.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from mediatasks.domain.errors import InputTooLarge, InputUnsupported
from mediatasks.domain.ffmpeg_args import Limits
from mediatasks.domain.media import OutputKind, ProbedMedia
from mediatasks.domain.progress import task_progress
from mediatasks.domain.requests import TaskRequest
from mediatasks.domain.tasks import CompanionFile, FileKind, StepName
from mediatasks.domain.transcripts import Transcript
from mediatasks.providers.language import TextModel
from mediatasks.providers.moderation import FrameModerator, VideoModeration


class Family(StrEnum):
    """The contract's families of kinds (SPEC.md)."""

    media = "media"
    tracks = "tracks"
    intelligence = "intelligence"
    utility = "utility"
    composition = "composition"


class Output(StrEnum):
    """What a succeeded task of the kind holds as its output."""

    made_file = "made_file"  # a new file made from the input
    input_file = "input_file"  # the input's own description; nothing is written
    stored_input = "stored_input"  # the input stored as it is


# ffmpeg argv builder: (ffmpeg path, options, probed source, source path, output path, limits).
EncodeArgs = Callable[[str, Any, ProbedMedia, str, str, Limits], list[str]]

# ffmpeg argv joining encoded pieces (domain/segments.py): (ffmpeg path, options, probed source,
# the pieces' concat list, the source's audio as split copied it (None: it has none; encoded once,
# whole), output path, limits).
JoinArgs = Callable[[str, Any, ProbedMedia, str, str | None, str, Limits], list[str]]

# Each step's share of a task's 0-100 progress: the transcode is nearly all of the work.
STEP_WEIGHTS: Mapping[StepName, int] = {
    StepName.probe: 5,
    StepName.ingest: 10,
    StepName.transcode: 80,
    StepName.upload: 5,
}
# The input crosses the network once: ingest stores it, every later step reads what was stored.
MEDIA_STEPS = (StepName.ingest, StepName.probe, StepName.transcode, StepName.upload)
# Where each step's result sits in the execution's state (handlers.steps.ExecutionState).
STEP_RESULT: Mapping[StepName, str] = {
    StepName.probe: "probe",
    StepName.ingest: "source",
    StepName.transcode: "rendition",
    StepName.upload: "output",
    StepName.transcribe: "transcript",
    StepName.moderate: "moderation",
    StepName.track: "rendition",
}
# A track kind's steps: recognising speech is most of the work of the kinds that need it.
TRACK_STEPS = (StepName.ingest, StepName.probe, StepName.track, StepName.upload)
SPEECH_TRACK_STEPS = (StepName.ingest, StepName.probe, StepName.transcribe, StepName.track, StepName.upload)
MODERATION_TRACK_STEPS = (StepName.ingest, StepName.probe, StepName.moderate, StepName.track, StepName.upload)
TRACK_STEP_WEIGHTS: Mapping[StepName, int] = {
    StepName.probe: 5,
    StepName.ingest: 10,
    StepName.transcribe: 60,
    StepName.moderate: 60,
    StepName.track: 20,
    StepName.upload: 5,
}


@dataclass(frozen=True)
class Encoding:
    """How ffmpeg makes a media kind from the ingested source."""

    needs: Literal["video", "audio"]
    encode_args: EncodeArgs
    output: OutputKind
    # formats ffmpeg only extracts frames for (RGB PPM files) and the picture encoder makes
    picture_formats: frozenset[str] = frozenset()
    # the output is a folder (an HLS master playlist beside its renditions), not one file
    playlist: bool = False
    # a long source may be encoded in pieces: each piece's video by encode_args (given the piece
    # as a video-only source), the pieces joined with the audio by join_args
    join_args: JoinArgs | None = None


class TrackTools(Protocol):
    """What the pipeline lends a track maker: the pinned ffmpeg, run within the step's deadline
    and limits, Pillow's sprite sheets and the configured moderation model. Kinds stay free of
    subprocesses and images."""

    @property
    def ffmpeg(self) -> str: ...

    def run(self, argv: list[str], on_line: Callable[[str], None] | None = None) -> bytes: ...

    def sprite_sheet(
        self, frames: list[Path], columns: int, tile: tuple[int, int], target: Path, quality: Any
    ) -> int:
        """Tiles the frames (PPM files) `columns` to a row into `target`; its size in bytes."""
        ...

    def moderator(self) -> FrameModerator:
        """The deployment's content moderation model (providers/moderation.py)."""
        ...

    def jpeg(self, frame: Path) -> bytes:
        """A sampled frame (PPM) as JPEG bytes, as models are sent pictures."""
        ...

    def text_model(self) -> TextModel | None:
        """The deployment's language model; None when set to write extractively (providers/language.py)."""
        ...


@dataclass(frozen=True)
class TrackJob:
    """One track to make: from the stored source (and its transcript, for kinds that read speech;
    a moderation job's answer, for nsfw on a deployment's video) into `folder`, which is published
    as it is."""

    options: Any
    media: ProbedMedia
    source: Path
    folder: Path
    transcript: Transcript | None
    limits: Limits
    moderation: VideoModeration | None = None


@dataclass(frozen=True)
class MadeTrack:
    """What a track maker wrote in its folder: the track file, the files it names, its data."""

    filename: str
    format: str
    type: str
    data: Any = None
    companions: list[CompanionFile] | None = None


MakeTrack = Callable[[TrackJob, TrackTools], MadeTrack]


@dataclass(frozen=True)
class Track:
    """How a track kind makes its file. `speech`: whether its steps recognise speech first
    ("optional": when the input has an audio stream)."""

    needs: Literal["video", "audio"]
    output: FileKind
    make: MakeTrack
    # the track file's format for the given options (vtt, srt, json)
    format_of: Callable[[Any], str]
    speech: Literal["required", "optional", "none"] = "none"
    # the longest input the kind takes, when shorter than every input's limit
    max_seconds: float | None = None
    # the track names files published beside it (sprites): it is written as a folder
    folder: bool = False
    # it is written by the deployment's language model (outline, description, prompt)
    writes: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    family: Family
    summary: str
    request: type[TaskRequest]
    steps: tuple[StepName, ...]
    output: Output
    encoding: Encoding | None = None
    track: Track | None = None
    # other names a request may use (`import` for `ingest`); the task is stored under `name`
    aliases: tuple[str, ...] = ()
    step_weights: Mapping[StepName, int] = field(default_factory=lambda: STEP_WEIGHTS)

    @property
    def options(self) -> type[BaseModel]:
        """The kind's options model, as its request declares it."""
        annotation = self.request.model_fields["options"].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise TypeError(f"{self.request.__name__}.options must be an options model")
        return annotation

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def progress(self, step: StepName, step_percent: int) -> int:
        """The task's progress while `step` is `step_percent` done."""
        return task_progress(self.steps, self.step_weights, step, step_percent)

    def next_step(self, step: StepName) -> StepName | None:
        """The step after `step`, or None when `step` ends the task."""
        position = self.steps.index(step)
        return self.steps[position + 1] if position + 1 < len(self.steps) else None

    def check_streams(self, media: ProbedMedia) -> None:
        """Refuses an input without the stream the kind makes its output from."""
        needs = self.encoding.needs if self.encoding else self.track.needs if self.track else None
        if needs is None and not (media.has_video or media.has_audio):
            raise InputUnsupported("the input has no audio or video stream")
        if needs is not None and not (media.has_video if needs == "video" else media.has_audio):
            raise InputUnsupported(f"the input has no {needs} stream")
        longest = self.track.max_seconds if self.track else None
        if longest is not None and media.duration is not None and media.duration > longest:
            raise InputTooLarge(
                f"the input lasts {media.duration:g} s; a {self.name} task takes at most {longest:g} s"
            )
