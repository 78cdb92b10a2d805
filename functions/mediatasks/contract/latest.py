"""The latest contract's response bodies (SPEC.md, seed 001, with seed 003's additive fields). Routes
declare these, so `/openapi.json` is the real contract; pure models, shared with the client."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from mediatasks.contract.common import IsoTime
from mediatasks.domain.errors import ErrorKind
from mediatasks.domain.tasks import CompanionFile, FileDescription, FileKind, HttpAnswer, Status, StepStatus


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


class TaskResults(BaseModel):
    """A conditions step's verdict on its input (and a workflow's children by how they ended):
    what passed, what failed, and whether the steps after it run."""

    # `continue` is a Python keyword: the field is named continue_ and read and written as `continue`
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    passed: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    continue_: bool = Field(alias="continue")


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
    output: FileView | HttpAnswer | dict[str, FileView] | None = Field(
        description="What the task made; null until it has succeeded. A workflow's is each finished "
        "step's output, by the step's ref; an http step's, its receiver's answer"
    )
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
    workflow: list[dict[str, Any]] | None = Field(default=None, description="A workflow's steps")
    results: TaskResults | None = Field(
        default=None, description="A conditions step's verdict; a workflow's steps by how they ended"
    )
    media_id: str | None = Field(default=None, description="The media the task's output joins")
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


class FileResource(BaseModel):
    """A file of the project (GET /files/{id}): what it is to its media, how far along it is, and
    once it is ready, the File object's description of it."""

    id: str
    object: Literal["file"] = "file"
    media_id: str = Field(description="The media the file belongs to")
    role: Literal["source", "track", "intelligence"] = Field(
        description="The media itself (source), a track made from it, or an analysis of it"
    )
    status: Literal["waiting", "processing", "ready", "failed"]
    original: bool = Field(description="Whether the file is its media's original")
    task_id: str | None = Field(description="The task that made (or is making) it")
    # what a task made: media, or a track or analysis file (a thumbnails track lists /files too)
    kind: FileKind | None = None
    format: str | None = None
    type: str | None = Field(default=None, description="MIME type")
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    bitrate: int | None = None
    filesize: int | None = None
    codecs: dict[str, str | None] | None = None
    filename: str | None
    folder: str | None
    ref: str | None
    label: str | None = None
    language: str | None = None
    metadata: dict[str, Any]
    url: str | None = Field(description="A link valid for an hour (s3:// in your bucket); null until ready")
    renditions: list[RenditionView] | None = None
    created_at: int
    updated_at: int


class FileList(BaseModel):
    """A page of the project's files, newest first."""

    object: Literal["list"] = "list"
    data: list[FileResource]
    page: int
    limit: int
    links: ListLinks


class MediaResource(BaseModel):
    """A media item: an original and what was made from it."""

    id: str
    object: Literal["media"] = "media"
    kind: Literal["video", "audio", "image"] | None = Field(description="The original's kind, once stored")
    title: str | None
    alt: str | None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    metadata: dict[str, Any]
    files: list[FileResource] = Field(description="The original and every file made from it, oldest first")
    urls: dict[str, str] = Field(description="Links by ref (`original` for the original)")
    created_at: int
    updated_at: int


class MediaList(BaseModel):
    """A page of the project's media, newest first."""

    object: Literal["list"] = "list"
    data: list[MediaResource]
    page: int
    limit: int
    links: ListLinks


class Confirmation(BaseModel):
    """What a delete answers (a body, as the vendor SDK needs on every 2xx)."""

    message: str


class Signature(BaseModel):
    """A signed URL (POST /signatures), the same in every version: the vendor SDK's Signature."""

    domain: str = Field(description="The host that serves the URL")
    filename: str
    folder: str | None
    expiry: int = Field(description="Unix seconds after which the URL is refused")
    method: Literal["get", "put"]
    signature: str
    url: str = Field(
        description="The complete signed URL: GET it to read the file, or PUT the file's bytes to it"
    )


class Upload(BaseModel):
    """A multipart upload under way (POST /uploads): send each part to a link from
    POST /uploads/{id}/parts, in any order and as often as needed, then complete it."""

    id: str = Field(description="The upload's id (it names the upload and the project it is for)")
    object: Literal["upload"] = "upload"
    filename: str
    folder: str | None
    size: int = Field(description="The file's size in bytes")
    part_size: int = Field(description="Every part but the last has exactly this many bytes")
    parts: int = Field(description="How many parts the file is sent in, numbered from 1")


class PartLink(BaseModel):
    part_number: int
    url: str = Field(description="PUT the part's bytes here")


class PartLinks(BaseModel):
    object: Literal["list"] = "list"
    data: list[PartLink]
    expires_in: int = Field(description="Seconds the links stay valid; ask again for fresh ones")


class ReceivedPart(BaseModel):
    part_number: int
    size: int


class UploadProgress(BaseModel):
    """What storage holds of an upload: the parts a resumed upload need not send again."""

    id: str
    object: Literal["upload"] = "upload"
    parts: list[ReceivedPart]
    received: int = Field(description="Bytes received, in parts of the right size")
    missing: list[int] = Field(description="The part numbers still to send")


class AutomationTrigger(BaseModel):
    kind: Literal["event"] = "event"
    event: Literal["media.created"] = "media.created"
    prefix: str | None = Field(
        default=None, description="ops' automations only: the watched bucket's prefix it covers"
    )

    @model_serializer(mode="wrap")
    def _without_unset_prefix(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # the API's automations show the trigger exactly as the SDK sent it
        shown: dict[str, Any] = handler(self)
        return {name: value for name, value in shown.items() if value is not None}


class AutomationResource(BaseModel):
    """An automation, the same in every version: the vendor SDK's Automation (its create call sends
    no Accept-Version, so the latest shape is the SDK's), with ISO 8601 `created`/`updated`."""

    id: str
    object: Literal["automation"] = "automation"
    name: str | None
    description: str | None
    trigger: AutomationTrigger
    workflow: list[dict[str, Any]] = Field(description="The workflow's steps, as a workflow task takes them")
    status: Literal["active", "paused"]
    created_by: str | None = Field(description="`ops` for an automation the deployment's configuration made")
    created: IsoTime
    updated: IsoTime


class AutomationList(BaseModel):
    """A page of the project's automations, newest first."""

    object: Literal["list"] = "list"
    data: list[AutomationResource]
    page: int
    limit: int
    links: ListLinks
