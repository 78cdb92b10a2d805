"""Tasks, steps, files and the rules for moving a task's status (forward only, terminal is final)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

# the kind of a task made of other tasks (kinds/workflow.py), and of its step that POSTs to a URL
WORKFLOW = "workflow"
HTTP = "http"


class Status(StrEnum):
    waiting = "waiting"
    validating = "validating"
    queued = "queued"
    processing = "processing"
    finishing = "finishing"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


# Terminal statuses share a rank: once one is reached, no status can follow it.
STATUS_RANK: dict[Status, int] = {
    Status.waiting: 0,
    Status.validating: 1,
    Status.queued: 2,
    Status.processing: 3,
    Status.finishing: 4,
    Status.succeeded: 5,
    Status.failed: 5,
    Status.cancelled: 5,
}
TERMINAL_RANK = 5
TERMINAL_STATUSES = frozenset(s for s, rank in STATUS_RANK.items() if rank == TERMINAL_RANK)


class StepStatus(StrEnum):
    waiting = "waiting"
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class StepName(StrEnum):
    """A pipeline step. The transcode step is shown with the task's kind ("video"), as in seed 001."""

    ingest = "ingest"
    probe = "probe"
    transcode = "transcode"
    # a track kind's steps: recognising the input's speech, then making the track (shown with the kind)
    transcribe = "transcribe"
    # nsfw's: a deployment's moderation job over the whole video, waited for as a transcription is
    moderate = "moderate"
    track = "track"
    upload = "upload"
    # a long video's encode in pieces (domain/segments.py): split before the kind's step, join after
    split_video = "split"
    join_video = "join"


# The task status while each step runs, and once it has finished (a kind's last step, always
# upload or a probe's probe, ends the task itself). The input is fetched once, by ingest, and probed
# where it was stored: both steps are the validation of the input.
TASK_STATUS_DURING_STEP: dict[StepName, Status] = {
    StepName.ingest: Status.validating,
    StepName.probe: Status.validating,
    StepName.transcode: Status.processing,
    StepName.transcribe: Status.processing,
    StepName.moderate: Status.processing,
    StepName.track: Status.processing,
    StepName.upload: Status.finishing,
    StepName.split_video: Status.processing,
    StepName.join_video: Status.processing,
}
TASK_STATUS_AFTER_STEP: dict[StepName, Status] = {
    StepName.ingest: Status.validating,
    StepName.probe: Status.queued,
    StepName.transcode: Status.processing,
    StepName.split_video: Status.processing,
    StepName.join_video: Status.processing,
    StepName.transcribe: Status.processing,
    StepName.moderate: Status.processing,
    StepName.track: Status.processing,
}


def can_move(current: Status, new: Status) -> bool:
    """A status may stay or move forward; nothing moves out of a terminal status."""
    current_rank = STATUS_RANK[current]
    return current_rank < TERMINAL_RANK and STATUS_RANK[new] >= current_rank


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(15)}"


class TaskErrorInfo(BaseModel):
    kind: str
    message: str


class Codecs(BaseModel):
    video: str | None = None
    audio: str | None = None


class StoredObject(BaseModel):
    """Where a file's bytes live. Internal: the API shows a fetchable `url` instead."""

    bucket: str
    key: str


class PlaylistRendition(BaseModel):
    """One rendition of an HLS stream; `playlist` is its media playlist, relative to the master."""

    width: int
    height: int
    bitrate: int
    playlist: str


# A media file, or a track kind's file (a WebVTT or SubRip track, a transcript, an analysis).
FileKind = Literal[
    "video",
    "audio",
    "image",
    "thumbnails",
    "chapters",
    "subtitles",
    "speech",
    "nsfw",
    "outline",
    "description",
    "prompt",
]


class CompanionFile(BaseModel):
    """A file published beside a track that names it (a thumbnails track's sprite sheets), by its
    name relative to the track."""

    filename: str
    type: str
    width: int | None = None
    height: int | None = None
    filesize: int


class FileDescription(BaseModel):
    """What a File object (seed 000) says about a file, stored or shown."""

    object: Literal["file"] = "file"
    id: str = Field(default_factory=lambda: new_id("file"))
    kind: FileKind
    format: str
    type: str = Field(description="MIME type")
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    bitrate: int | None = None
    filesize: int | None = None
    codecs: Codecs = Field(default_factory=Codecs)
    filename: str | None = None
    folder: str | None = None
    ref: str | None = None
    # a track's content as data (a transcript, chapters), also stored as the file itself
    data: Any = None


class MediaFile(FileDescription):
    """A File as stored: where its bytes are; the API shows a fetchable `url` instead."""

    renditions: list[PlaylistRendition] | None = None
    companions: list[CompanionFile] | None = None
    location: StoredObject | None = None


class HttpAnswer(BaseModel):
    """What an http step's receiver answered: its status and the start of its body."""

    status_code: int | None
    excerpt: str = Field(description="The first bytes of the answer's body, as text")
    attempts: int


class Step(BaseModel):
    id: str
    object: Literal["step"] = "step"
    kind: str
    status: StepStatus = StepStatus.waiting
    progress: int | None = None
    error: TaskErrorInfo | None = None
    created_at: int
    started_at: int | None = None
    finished_at: int | None = None
    updated_at: int


class OutputNaming(BaseModel):
    """How the caller asked the output to be named in managed storage (seed 002)."""

    filename: str | None = None
    folder: str | None = None
    ref: str | None = None

    def key(self, project_id: str, file_id: str, default_name: str, extension: str) -> str:
        """files/<project>/[<folder>/]<file id>/<filename>: unique per file, grouped by project."""
        name = self.filename or default_name
        if not name.lower().endswith(f".{extension}"):
            name = f"{name}.{extension}"
        folder = f"{self.folder}/" if self.folder else ""
        return f"{project_id}/{folder}{file_id}/{name}"


class Task(BaseModel):
    id: str
    project_id: str
    object: Literal["task"] = "task"
    kind: str
    input: str
    # the stored file the input was given as (its location is `input`, which callers never see)
    input_file_id: str | None = None
    # the media the task's output joins, and the id its output file was given when the task began
    media_id: str | None = None
    output_file_id: str | None = None
    options: dict[str, Any]
    # what the probe found the input to be
    source: MediaFile | None = None
    output: MediaFile | None = None
    destination: str | None = None
    naming: OutputNaming = Field(default_factory=OutputNaming)
    webhook_url: str | None = None
    # the API version (Accept-Version) the task was created with: its webhooks are rendered in it
    api_version: str = "latest"
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Status = Status.waiting
    progress: int | None = None
    error: TaskErrorInfo | None = None
    steps: dict[StepName, Step]
    # the Step Functions execution that runs the task (its name)
    run_id: str | None = None
    # a workflow's tree of steps (kinds/workflow.py); a child task's parent and the step it runs
    workflow: list[dict[str, Any]] | None = None
    parent_id: str | None = None
    workflow_step: dict[str, Any] | None = None
    # a conditions step's {passed, failed, continue}; a workflow's children by how they ended
    results: dict[str, Any] | None = None
    # an http step's output: the receiver's answer
    answer: HttpAnswer | None = None
    # a workflow's output: each finished child's output, by the step's ref
    outputs_by_ref: dict[str, MediaFile] | None = None
    created_at: int
    started_at: int | None = None
    finished_at: int | None = None
    updated_at: int

    @classmethod
    def create(
        cls,
        *,
        project_id: str,
        kind: str,
        steps: Sequence[StepName],
        input_url: str,
        input_file_id: str | None = None,
        options: dict[str, Any],
        destination: str | None,
        metadata: dict[str, Any],
        naming: OutputNaming | None = None,
        webhook_url: str | None = None,
        api_version: str = "latest",
        media_id: str | None = None,
        output_file_id: str | None = None,
        workflow: list[dict[str, Any]] | None = None,
        parent_id: str | None = None,
        workflow_step: dict[str, Any] | None = None,
    ) -> Task:
        created = now_ms()
        return cls(
            id=new_id("task"),
            project_id=project_id,
            kind=kind,
            input=input_url,
            input_file_id=input_file_id,
            media_id=media_id,
            output_file_id=output_file_id,
            workflow=workflow,
            parent_id=parent_id,
            workflow_step=workflow_step,
            options=options,
            destination=destination,
            naming=naming or OutputNaming(),
            webhook_url=webhook_url,
            api_version=api_version,
            metadata=metadata,
            steps={
                name: Step(
                    id=f"step_{index:03d}",
                    kind=kind if name in (StepName.transcode, StepName.track) else name.value,
                    created_at=created,
                    updated_at=created,
                )
                for index, name in enumerate(steps, start=1)
            },
            run_id=new_id("run"),
            created_at=created,
            updated_at=created,
        )

    def ordered_steps(self) -> list[Step]:
        """The steps in the order they run (their ids are numbered in that order)."""
        return sorted(self.steps.values(), key=lambda step: step.id)

    def running_step(self) -> StepName | None:
        for name, step in self.steps.items():
            if step.status == StepStatus.processing:
                return name
        return None
