"""API version 2024-03-21 (seed 004): every body wrapped in an envelope that echoes the request.

`{"id": "req_…", "method", "url", "version", "status", "type": "object"|"list", "data", "links"}`,
lists adding `total`, `limit`, `page` and `pages`, errors adding `error` (SPEC.md's
`{kind, message, field}`) with `data: null`. A task's statuses are the four in STATUS, its `input` is
the stored file's id (or the input's URL), and its `output` carries the kind and the options, and the
made File (object "source", status "ready") once the task has succeeded.
"""

from __future__ import annotations

from typing import Any, Final, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict

from mediatasks.contract.common import (
    ErrorBody,
    Exchange,
    IsoTime,
    Rendered,
    echoed_options,
    iso_time,
)
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.tasks import Status

VERSION: Final = "2024-03-21"

TaskStatus = Literal["waiting", "processing", "ready", "error"]
# A cancelled task shows as `error` (this version has no cancelled status), with the kind `cancelled`.
STATUS: dict[Status, TaskStatus] = {
    Status.waiting: "waiting",
    Status.validating: "waiting",
    Status.queued: "waiting",
    Status.processing: "processing",
    Status.finishing: "processing",
    Status.succeeded: "ready",
    Status.failed: "error",
    Status.cancelled: "error",
}
CANCELLED = ErrorBody(kind="cancelled", message="the task was cancelled")
# The list's sort keys this version documents that the listing cannot order by yet.
UNSORTABLE = ("filesize",)


class TaskError(BaseModel):
    kind: str
    message: str


class Output(BaseModel):
    """What the task makes: its kind and options (extra keys), then the File's fields once made."""

    model_config = ConfigDict(extra="allow")

    kind: str
    status: TaskStatus
    created: IsoTime
    updated: IsoTime


class Task(BaseModel):
    id: str
    object: Literal["task"] = "task"
    kind: str
    input: str
    output: Output
    status: TaskStatus
    progress: int | None
    error: TaskError | None
    metadata: dict[str, Any]
    created: IsoTime
    updated: IsoTime


class Envelope(BaseModel):
    id: str
    method: str
    url: str
    version: Literal["2024-03-21"] = VERSION
    status: int
    links: dict[str, str | None]


class TaskEnvelope(Envelope):
    type: Literal["object"] = "object"
    data: Task


class ListEnvelope(Envelope):
    type: Literal["list"] = "list"
    total: int
    limit: int
    page: int
    pages: int
    data: list[Task]


class ErrorEnvelope(Envelope):
    type: Literal["object"] = "object"
    data: None = None
    error: ErrorBody


def _output(latest: dict[str, Any], status: TaskStatus) -> Output:
    file = latest["output"]
    made = {} if file is None else file | {"object": "source", "status": "ready"}
    return Output.model_validate(
        {"kind": latest["kind"], "status": status}
        | echoed_options(latest)
        | made
        | {"created": iso_time(latest["created_at"]), "updated": iso_time(latest["updated_at"])}
    )


def task(latest: dict[str, Any]) -> Task:
    """The latest task body (TaskService.present) in this version's shape."""
    status = STATUS[Status(latest["status"])]
    error = CANCELLED.model_dump() if latest["status"] == Status.cancelled else latest["error"]
    return Task(
        id=latest["id"],
        kind=latest["kind"],
        input=latest["input"],  # the stored file's id, or the URL, as the task was given it
        output=_output(latest, status),
        status=status,
        progress=latest["progress"],
        error=None if error is None else TaskError.model_validate(error),
        metadata=latest["metadata"],
        created=iso_time(latest["created_at"]),
        updated=iso_time(latest["updated_at"]),
    )


def _echo(exchange: Exchange, status: int) -> dict[str, Any]:
    url = exchange.path + (f"?{urlencode(exchange.query)}" if exchange.query else "")
    request_id = "req_" + exchange.request_id.replace("-", "")
    return {"id": request_id, "method": exchange.method, "url": url, "status": status}


def render_task(latest: dict[str, Any], status: int, exchange: Exchange) -> Rendered:
    data = task(latest)
    links = {"self": f"/tasks/{data.id}", "parent": "/tasks"}
    envelope = TaskEnvelope(data=data, links=links, **_echo(exchange, status))
    return Rendered(envelope.model_dump(mode="json"))


def render_list(latest: dict[str, Any], status: int, exchange: Exchange) -> Rendered:
    envelope = ListEnvelope(
        data=[task(item) for item in latest["data"]],
        links=latest["links"],
        total=latest["total"],
        limit=latest["limit"],
        page=latest["page"],
        pages=latest["pages"],
        **_echo(exchange, status),
    )
    return Rendered(envelope.model_dump(mode="json"))


def render_error(latest: dict[str, Any], status: int, exchange: Exchange) -> Rendered:
    envelope = ErrorEnvelope(
        error=ErrorBody.model_validate(latest), links={"self": exchange.path}, **_echo(exchange, status)
    )
    return Rendered(envelope.model_dump(mode="json"))


def latest_list_query(query: dict[str, str]) -> dict[str, str]:
    """This version's GET /tasks query in the latest's terms. Its statuses name groups of the
    latest's: one that names a single status is translated; a group needs the listing to filter by
    several statuses, which it cannot yet, so it is refused rather than filtered by half."""
    if query.get("sort") in UNSORTABLE:
        raise RequestRejected(
            ErrorKind.invalid_option,
            f"sort={query['sort']} is not available yet; sort by created or updated",
            "sort",
        )
    wanted = query.get("status")
    if wanted not in STATUS.values():
        return query  # absent, or one of the latest's statuses: the listing checks it
    statuses = [latest.value for latest, shown in STATUS.items() if shown == wanted]
    if len(statuses) > 1:
        raise RequestRejected(
            ErrorKind.invalid_option,
            f"under {VERSION}, status={wanted} means any of {', '.join(statuses)}, and the listing "
            f"filters by one status for now; filter by one of them with Accept-Version: latest",
            "status",
        )
    return query | {"status": statuses[0]}
