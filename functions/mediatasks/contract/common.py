"""What every version's renderer shares: the request being answered, the rendered reply, the error
body, and the readings of a latest task body that several versions need."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer

from mediatasks.constants import FILES_PREFIX


@dataclass(frozen=True)
class Exchange:
    """The request a body answers: some versions echo it (2024-03-21's envelope) or link from it."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    request_id: str = ""


@dataclass(frozen=True)
class Rendered:
    """A body in one version's shape, with the response headers that version adds (paging)."""

    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class ErrorBody(BaseModel):
    """SPEC.md's error shape, the same under every version (the SDK surfaces it as ApiError.body)."""

    kind: str
    message: str
    field: str | None = None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# An ISO 8601 UTC date-time with milliseconds and a `Z`, e.g. 2025-01-01T01:23:45.678Z.
IsoTime = Annotated[datetime, PlainSerializer(_iso, return_type=str)]


def iso_time(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def optional_iso_time(epoch_ms: int | None) -> datetime | None:
    return None if epoch_ms is None else iso_time(epoch_ms)


_STORED_FILE_ID = re.compile(r"^file_[A-Za-z0-9_-]{8,64}$")


def stored_file_id(input_url: str) -> str | None:
    """The id of the stored file a task's input names, or None for any other URL. A task made from
    a `file_id` keeps the file's location, s3://<bucket>/files/<project>/[<folder>/]<file id>/<name>
    (OutputNaming.key), so the id is the folder the file's name sits in."""
    if not input_url.startswith("s3://"):
        return None
    _, _, key = input_url.removeprefix("s3://").partition("/")
    segments = key.split("/")
    if not key.startswith(FILES_PREFIX) or len(segments) < 4:
        return None
    candidate = segments[-2]
    return candidate if _STORED_FILE_ID.match(candidate) else None


def echoed_options(latest: dict[str, Any]) -> dict[str, Any]:
    """The options that are set, and the output naming the caller asked for (the latest body shows
    every option, unset ones as null, and the naming at its top level), as seeds 002 and 004 echo them."""
    naming = {name: latest.get(name) for name in ("filename", "folder", "ref")}
    return {name: value for name, value in (latest["options"] | naming).items() if value is not None}
