"""The latest contract's response bodies (SPEC.md, seed 001, with seed 003's additive fields). Routes
declare these, so `/openapi.json` is the real contract; pure models, shared with the client."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from mediatasks.domain.errors import ErrorKind
from mediatasks.domain.tasks import CompanionFile, FileDescription, Status, StepStatus


class ErrorBody(BaseModel):
    """Every refused request's body."""

    kind: ErrorKind
    message: str = Field(description="A sentence for a person; never internals")
    field: str | None = Field(default=None, description="The request field at fault, as a dotted path")


class TaskError(BaseModel):
    """Why a task or a step failed: a stable kind (input_unreachable, processing_failed, ...)."""

    kind: str
    message: str


class RenditionView(BaseModel):
    """One rendition of an HLS stream, with a fetchable link to its media playlist."""

    width: int
    height: int
    bitrate: int
    playlist: str
    url: str


class CompanionView(CompanionFile):
    """A file published beside a track that names it (a thumbnails track's sprite sheets)."""

    url: str


class FileView(FileDescription):
    """A File object (seed 000): what a task made, or what its input is."""

    url: str = Field(description="Where to fetch it: a link valid for an hour, or s3:// in your bucket")
    renditions: list[RenditionView] | None = None
    files: list[CompanionView] | None = Field(
        default=None, description="The files a track names, published beside it (thumbnail sprites)"
    )


class StepView(BaseModel):
    id: str
    object: Literal["step"] = "step"
    kind: str
    status: StepStatus
    progress: int | None = None
    error: TaskError | None = None
    created_at: int
    started_at: int | None = None
    finished_at: int | None = None
    updated_at: int


class TaskView(BaseModel):
    """A task (seed 001). Timestamps are epoch milliseconds."""

    id: str
    object: Literal["task"] = "task"
    kind: str
    input: str = Field(description="The input's URL, or the id of the stored file it came from")
    options: dict[str, Any]
    output: FileView | None = Field(description="What the task made; null until it has succeeded")
    metadata: dict[str, Any]
    status: Status
    progress: int | None = Field(ge=0, le=100)
    error: TaskError | None
    steps: list[StepView] = Field(description="The pipeline's steps, in the order they run")
    webhook_url: str | None = None
    filename: str | None = None
    folder: str | None = None
    ref: str | None = None
    # seed 003's additions
    inputs: list[FileView] = Field(description="The input's File object, once it has been probed")
    outputs: list[FileView] = Field(description="What the task made (output, as a list)")
    parent_id: str | None = Field(default=None, description="The task that started this one")
    run_id: str = Field(description="The execution that runs the task")
    created_at: int
    started_at: int | None
    finished_at: int | None
    updated_at: int


class ListLinks(BaseModel):
    self: str
    next: str | None = Field(description="The next page, by cursor: walking it costs the same at any depth")
    prev: str | None


class TaskList(BaseModel):
    """A page of tasks (seed 004's list object)."""

    object: Literal["list"] = "list"
    data: list[TaskView]
    total: int
    page: int
    pages: int
    limit: int
    links: ListLinks
