"""What every version's renderer shares: the request being answered, the rendered reply, the error
body, and the readings of a latest task body that several versions need."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer


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


def echoed_options(latest: dict[str, Any]) -> dict[str, Any]:
    """The options that are set, and the output naming the caller asked for (the latest body shows
    every option, unset ones as null, and the naming at its top level), as seeds 002 and 004 echo them."""
    naming = {name: latest.get(name) for name in ("filename", "folder", "ref")}
    return {name: value for name, value in (latest["options"] | naming).items() if value is not None}
