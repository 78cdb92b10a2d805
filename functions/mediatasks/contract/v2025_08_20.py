"""API version 2025-08-20 (seed 002), the shapes the vendor's SDK (ittybit 1.0.0) reads.

- A task's `input` is the source File object, `created`/`updated` are ISO 8601 date-times, `error` is
  the message as a string (its kind in `error_kind`), statuses are seed 002's (STATUS below), the
  output naming (`filename`, `folder`, `ref`) is echoed in `options`, and `output` is a File in the
  SDK's File shape.
- `GET /tasks` answers a bare JSON array; its paging rides in headers: `Link` (RFC 8288, rel next
  and prev, relative to the listing), `X-Total-Count`, `X-Page`, `X-Per-Page`, `X-Total-Pages`.
- Errors keep SPEC.md's `{kind, message, field}`.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, Field, RootModel

from mediatasks.contract.common import (
    ErrorBody,
    IsoTime,
    Rendered,
    echoed_options,
    iso_time,
    optional_iso_time,
)
from mediatasks.contract.latest import AutomationResource, TaskResults
from mediatasks.domain.conditions import Orientation, orientation_of
from mediatasks.domain.tasks import HTTP, WORKFLOW, FileKind, HttpAnswer, Status

VERSION: Final = "2025-08-20"

TaskStatus = Literal["pending", "waiting", "processing", "completed", "failed", "cancelled"]
# Seed 002 has fewer statuses than the pipeline: a task is `pending` until its input is accepted,
# `waiting` while queued for the worker, `processing` until its output is stored.
STATUS: dict[Status, TaskStatus] = {
    Status.waiting: "pending",
    Status.validating: "pending",
    Status.queued: "waiting",
    Status.processing: "processing",
    Status.finishing: "processing",
    Status.succeeded: "completed",
    Status.failed: "failed",
    Status.cancelled: "cancelled",
}

FILE_ID_PREFIX = "file_"
MediaKind = Literal["video", "image", "audio"]
# The vendor's File objects: a media file is a "source", a track kind's file a "track", an analysis's
# result "intelligence".
FILE_OBJECT_BY_KIND: dict[str, Literal["source", "track", "intelligence"]] = {
    "thumbnails": "track",
    "chapters": "track",
    "subtitles": "track",
    "speech": "intelligence",
    "nsfw": "intelligence",
    "outline": "intelligence",
    "description": "intelligence",
    "prompt": "intelligence",
}


class SourceFile(BaseModel):
    """The task's input as a File. Only what the task knows: its url always, the stored file's id
    when the input was a stored file, and the media's description when the task probed it."""

    id: str | None
    object: Literal["source"] = "source"
    kind: MediaKind | None = None
    type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    filesize: int | None = None
    url: str


class OutputFile(BaseModel):
    """The File a task made, in the SDK's File shape: a media file's object is "source", a track's
    "track", a transcript's "intelligence" (with its content in `data`). `media_id` is the media the
    file joined (a task made before media existed: the file's own id)."""

    id: str
    media_id: str
    object: Literal["source", "track", "intelligence"] = "source"
    kind: FileKind
    type: str
    codec: str | None = None
    container: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    filesize: int | None  # known for every file a task stores; a probe of a piped input may lack it
    bitrate: int | None = None
    filename: str | None = None
    folder: str | None = None
    ref: str | None = None
    url: str
    renditions: list[dict[str, Any]] | None = None
    files: list[dict[str, Any]] | None = None
    data: Any = None
    created: IsoTime
    updated: IsoTime
    status: Literal["ready"] = "ready"


class Task(BaseModel):
    id: str
    object: Literal["task"] = "task"
    kind: str
    input: SourceFile
    options: dict[str, Any]
    output: OutputFile | HttpAnswer | dict[str, OutputFile] | None = Field(
        description="What the task made; a workflow's is each finished step's output, by its ref; "
        "an http step's, its receiver's answer"
    )
    status: TaskStatus
    progress: int | None
    error: str | None
    error_kind: str | None
    metadata: dict[str, Any]
    webhook_url: str | None = None
    media_id: str | None = None
    parent_id: str | None = None
    workflow: list[dict[str, Any]] | None = None
    results: TaskResults | None = None
    created: IsoTime
    updated: IsoTime
    started: IsoTime | None
    finished: IsoTime | None


class TaskList(RootModel[list[Task]]):
    """GET /tasks: a bare array, as the SDK reads it."""


Error = ErrorBody


def _source_file(latest: dict[str, Any]) -> SourceFile:
    """The input as the latest body knows it: the stored file's id (or the URL) it was given, and
    once probed, its description and a link to fetch it."""
    described: dict[str, Any] = latest["inputs"][0] if latest["inputs"] else {}
    given = latest["input"]
    return SourceFile(
        id=given if given.startswith(FILE_ID_PREFIX) else described.get("id"),
        url=described.get("url") or given,
        **{name: described.get(name) for name in ("kind", "type", "width", "height", "duration", "filesize")},
    )


def _output(latest: dict[str, Any]) -> OutputFile | HttpAnswer | dict[str, OutputFile] | None:
    """The task's output File; a workflow's, each step's by its ref; an http step's answer."""
    output = latest["output"]
    if output is None:
        return None
    if latest["kind"] == WORKFLOW:
        return {ref: _output_file(latest, file) for ref, file in output.items()}
    if latest["kind"] == HTTP:
        return HttpAnswer.model_validate(output)
    return _output_file(latest, output)


def _output_file(latest: dict[str, Any], file: dict[str, Any]) -> OutputFile:
    made = iso_time(latest["finished_at"] or latest["updated_at"])
    codecs = file.get("codecs") or {}
    return OutputFile.model_validate(
        file
        | {
            "media_id": latest.get("media_id") or file["id"],
            "object": FILE_OBJECT_BY_KIND.get(file["kind"], "source"),
            "codec": codecs.get("video") or codecs.get("audio"),
            "container": file.get("format"),
            "created": made,
            "updated": made,
        }
    )


def task(latest: dict[str, Any]) -> Task:
    """The latest task body (TaskService.present) in this version's shape."""
    error = latest["error"]
    return Task(
        id=latest["id"],
        kind=latest["kind"],
        input=_source_file(latest),
        options=echoed_options(latest),
        output=_output(latest),
        status=STATUS[Status(latest["status"])],
        progress=latest["progress"],
        error=None if error is None else error["message"],
        error_kind=None if error is None else error["kind"],
        metadata=latest["metadata"],
        webhook_url=latest.get("webhook_url"),
        media_id=latest.get("media_id"),
        parent_id=latest.get("parent_id"),
        workflow=latest.get("workflow"),
        results=latest.get("results"),
        created=iso_time(latest["created_at"]),
        updated=iso_time(latest["updated_at"]),
        started=optional_iso_time(latest["started_at"]),
        finished=optional_iso_time(latest["finished_at"]),
    )


def render_task(latest: dict[str, Any]) -> Rendered:
    return Rendered(task(latest).model_dump(mode="json"))


def _link_header(links: dict[str, str | None]) -> str:
    """The latest list's links as one Link header. They are written relative to the listing
    (`tasks?...`, no leading slash) so they resolve under any base path the API is served from."""
    return ", ".join(
        f'<{href.lstrip("/")}>; rel="{rel}"' for rel in ("next", "prev") if (href := links.get(rel))
    )


def render_list(latest: dict[str, Any]) -> Rendered:
    """The latest list object as a bare array of tasks, its paging in headers."""
    body = TaskList([task(item) for item in latest["data"]]).model_dump(mode="json")
    headers = {"X-Total-Count": str(latest["total"]), "X-Total-Pages": str(latest["pages"])}
    return Rendered(body, headers | _paging_headers(latest))


def render_error(latest: dict[str, Any]) -> Rendered:
    return Rendered(Error.model_validate(latest).model_dump(mode="json", exclude_none=True))


class MediaFileItem(BaseModel):
    """A file as a media lists it (the SDK's MediaFilesItem)."""

    id: str
    object: Literal["source", "track", "intelligence"]
    # the SDK types it `Literal["video", "image", "audio"] | Any`: a track or analysis file names
    # its own kind (thumbnails, subtitles, nsfw, ...), which its client reads unchanged
    kind: FileKind | None
    type: str
    codec: str | None = None
    container: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: Orientation | None = None
    duration: float | None = None
    fps: float | None = None
    filesize: int
    bitrate: int | None = None
    ref: str | None = None
    folder: str | None = None
    filename: str | None = None
    url: str = ""
    metadata: dict[str, Any]
    original: bool
    created: IsoTime
    updated: IsoTime
    status: Literal["waiting", "processing", "ready", "failed"]


class File(MediaFileItem):
    """A file resource (the SDK's File). Until it is ready, `type` is application/octet-stream,
    `filesize` 0 and `url` empty."""

    media_id: str
    label: str | None = None
    language: str | None = None


class FileList(RootModel[list[File]]):
    """GET /files: a bare array, its paging in headers."""


class Media(BaseModel):
    id: str
    object: Literal["media"] = "media"
    kind: MediaKind | None
    title: str | None
    alt: str | None
    width: int | None
    height: int | None
    duration: float | None
    files: list[MediaFileItem]
    urls: dict[str, str]
    metadata: dict[str, Any]
    created: IsoTime
    updated: IsoTime


class MediaList(RootModel[list[Media]]):
    """GET /media: a bare array, its paging in headers."""


UNKNOWN_TYPE = "application/octet-stream"


def file(latest: dict[str, Any]) -> File:
    """A latest file resource (FileService.present_file) in this version's shape."""
    codecs = latest.get("codecs") or {}
    return File(
        id=latest["id"],
        media_id=latest["media_id"],
        object=latest["role"],
        kind=latest.get("kind"),
        type=latest.get("type") or UNKNOWN_TYPE,
        codec=codecs.get("video") or codecs.get("audio"),
        container=latest.get("format"),
        width=latest.get("width"),
        height=latest.get("height"),
        orientation=orientation_of(latest.get("width"), latest.get("height")),
        duration=latest.get("duration"),
        fps=latest.get("fps"),
        filesize=latest.get("filesize") or 0,
        bitrate=latest.get("bitrate"),
        ref=latest["ref"],
        folder=latest["folder"],
        filename=latest["filename"],
        url=latest["url"] or "",
        metadata=latest["metadata"],
        original=latest["original"],
        label=latest.get("label"),
        language=latest.get("language"),
        created=iso_time(latest["created_at"]),
        updated=iso_time(latest["updated_at"]),
        status=latest["status"],
    )


def media(latest: dict[str, Any]) -> Media:
    return Media(
        id=latest["id"],
        kind=latest["kind"],
        title=latest["title"],
        alt=latest["alt"],
        width=latest["width"],
        height=latest["height"],
        duration=latest["duration"],
        files=[MediaFileItem.model_validate(file(item).model_dump()) for item in latest["files"]],
        urls=latest["urls"],
        metadata=latest["metadata"],
        created=iso_time(latest["created_at"]),
        updated=iso_time(latest["updated_at"]),
    )


def _paging_headers(latest: dict[str, Any]) -> dict[str, str]:
    headers = {"X-Page": str(latest["page"]), "X-Per-Page": str(latest["limit"])}
    if link := _link_header(latest["links"]):
        headers["Link"] = link
    return headers


def render_file(latest: dict[str, Any]) -> Rendered:
    return Rendered(file(latest).model_dump(mode="json"))


def render_file_list(latest: dict[str, Any]) -> Rendered:
    body = FileList([file(item) for item in latest["data"]]).model_dump(mode="json")
    return Rendered(body, _paging_headers(latest))


def render_media(latest: dict[str, Any]) -> Rendered:
    return Rendered(media(latest).model_dump(mode="json"))


def render_media_list(latest: dict[str, Any]) -> Rendered:
    body = MediaList([media(item) for item in latest["data"]]).model_dump(mode="json")
    return Rendered(body, _paging_headers(latest))


class AutomationList(RootModel[list[AutomationResource]]):
    """GET /automations: a bare array (the SDK's List[AutomationsListResponseItem]), its paging in
    headers; each automation is the one shape every version shares."""


def render_automation_list(latest: dict[str, Any]) -> Rendered:
    body = AutomationList([AutomationResource.model_validate(item) for item in latest["data"]])
    return Rendered(body.model_dump(mode="json"), _paging_headers(latest))
