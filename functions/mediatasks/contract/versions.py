"""Which API version a caller asked for, and the latest body rendered in that version's shape.

The version comes from the `Accept-Version` header (seed 002). The vendor's SDK also sends the
version its constructor was given in a header literally named `ACCEPT_VERSION`; API Gateway and the
local API pass header names through as sent, but nginx (by default) and some other proxies drop
names with underscores, so that header is only a fallback. When both are present, `Accept-Version`
wins: the SDK pins it on every call to the version whose shapes its models parse, and a proxy in
between then changes nothing. No header (or an empty one), or `latest`: the latest shapes, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Literal

from mediatasks.contract import v2024_03_21, v2025_08_20
from mediatasks.contract.common import Exchange, Rendered
from mediatasks.domain.errors import ErrorKind, RequestRejected

VERSION_HEADER = "Accept-Version"
SDK_VERSION_HEADER = "ACCEPT_VERSION"


class ApiVersion(StrEnum):
    latest = "latest"
    v2025_08_20 = v2025_08_20.VERSION
    v2024_03_21 = v2024_03_21.VERSION


KNOWN_VERSIONS = tuple(version.value for version in ApiVersion)

# What a rendered body is: one task, a list of them, an error, a file or media item or a list of
# them, or a list of automations (one automation has one shape in every version).
Shape = Literal["task", "list", "error", "file", "file_list", "media", "media_list", "automation_list"]

_2025_08_20_RENDERERS: dict[Shape, Callable[[Any], Rendered]] = {
    "task": v2025_08_20.render_task,
    "list": v2025_08_20.render_list,
    "error": v2025_08_20.render_error,
    "file": v2025_08_20.render_file,
    "file_list": v2025_08_20.render_file_list,
    "media": v2025_08_20.render_media,
    "media_list": v2025_08_20.render_media_list,
    "automation_list": v2025_08_20.render_automation_list,
}
# The resources 2024-03-21 (seed 004) has no shapes for: they are served from 2025-08-20 on.
NEWER_RESOURCES = ("/files", "/media", "/signatures", "/uploads", "/automations")
# 2024-03-21's envelope also echoes the request and the status.
_2024_03_21_RENDERERS: dict[Shape, Callable[[Any, int, Exchange], Rendered]] = {
    "task": v2024_03_21.render_task,
    "list": v2024_03_21.render_list,
    "error": v2024_03_21.render_error,
}


def requested_version(headers: Mapping[str, str] | None) -> ApiVersion:
    """The version the request's headers ask for (names matched in any case)."""
    by_name = {name.lower(): (value or "").strip() for name, value in (headers or {}).items()}
    for header in (VERSION_HEADER, SDK_VERSION_HEADER):
        value = by_name.get(header.lower())
        if value:
            if value not in KNOWN_VERSIONS:
                raise RequestRejected(
                    ErrorKind.invalid_version,
                    f"unknown API version {value!r}; the known versions are {', '.join(KNOWN_VERSIONS)}",
                    header,
                )
            return ApiVersion(value)
    return ApiVersion.latest


def render(version: ApiVersion, shape: Shape, latest: Any, status: int, exchange: Exchange) -> Rendered:
    """A latest body (a task from TaskService.present, the list object, or an error body) as the
    caller's version shows it."""
    if version == ApiVersion.v2025_08_20:
        return _2025_08_20_RENDERERS[shape](latest)
    if version == ApiVersion.v2024_03_21:
        return _2024_03_21_RENDERERS[shape](latest, status, exchange)
    return Rendered(latest)


def latest_query(version: ApiVersion, exchange: Exchange) -> dict[str, str]:
    """The request's query in the latest's terms (only 2024-03-21's list query differs)."""
    if version == ApiVersion.v2024_03_21 and exchange.path.startswith(NEWER_RESOURCES):
        raise RequestRejected(
            ErrorKind.invalid_version,
            f"{exchange.path.split('/')[1]} are served from version {v2025_08_20.VERSION} on; "
            f"ask for it (or latest) in {VERSION_HEADER}",
            VERSION_HEADER,
        )
    if version == ApiVersion.v2024_03_21 and (exchange.method, exchange.path) == ("GET", "/tasks"):
        return v2024_03_21.latest_list_query(exchange.query)
    return exchange.query


def openapi_parameter() -> dict[str, Any]:
    """The Accept-Version header as an OpenAPI parameter object."""
    return {
        "name": VERSION_HEADER,
        "in": "header",
        "required": False,
        "description": (
            "The API version whose shapes the response takes (default: latest). The vendor SDK's "
            f"`{SDK_VERSION_HEADER}` header is read when this one is absent."
        ),
        "schema": {"type": "string", "enum": list(KNOWN_VERSIONS), "default": ApiVersion.latest.value},
    }
