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

from pydantic import BaseModel, RootModel

from mediatasks.contract.common import (
    ErrorBody,
    IsoTime,
    Rendered,
    echoed_options,
    iso_time,
    optional_iso_time,
)
from mediatasks.domain.tasks import FileKind, Status

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
    "track", a transcript's "intelligence" (with its content in `data`). mediatasks has no Media
    objects grouping files: a file is its own media (`media_id` is its id)."""

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
    output: OutputFile | None
    status: TaskStatus
    progress: int | None
    error: str | None
    error_kind: str | None
    metadata: dict[str, Any]
    webhook_url: str | None = None
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


def _output_file(latest: dict[str, Any]) -> OutputFile | None:
    file: dict[str, Any] | None = latest["output"]
    if file is None:
        return None
    made = iso_time(latest["finished_at"] or latest["updated_at"])
    codecs = file.get("codecs") or {}
    return OutputFile.model_validate(
        file
        | {
            "media_id": file["id"],
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
        output=_output_file(latest),
        status=STATUS[Status(latest["status"])],
        progress=latest["progress"],
        error=None if error is None else error["message"],
        error_kind=None if error is None else error["kind"],
        metadata=latest["metadata"],
        webhook_url=latest.get("webhook_url"),
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
    headers = {
        "X-Total-Count": str(latest["total"]),
        "X-Page": str(latest["page"]),
        "X-Per-Page": str(latest["limit"]),
        "X-Total-Pages": str(latest["pages"]),
    }
    if link := _link_header(latest["links"]):
        headers["Link"] = link
    return Rendered(body, headers)


def render_error(latest: dict[str, Any]) -> Rendered:
    return Rendered(Error.model_validate(latest).model_dump(mode="json", exclude_none=True))
