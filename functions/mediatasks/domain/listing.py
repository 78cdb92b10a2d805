"""Listing a project's tasks: the query, and the cursor that lets a client walk any number of pages
at a cost that does not grow with the page number. Pure: no storage here."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.tasks import Status

SORT_ATTRIBUTE = {"created": "created_at", "updated": "updated_at"}


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=100_000)
    limit: int = Field(default=12, ge=1, le=100)
    sort: Literal["created", "updated"] = "created"
    order: Literal["asc", "desc"] = "desc"
    kind: str | None = Field(default=None, max_length=32, pattern=r"^[a-z_]+$")
    status: Status | None = None
    cursor: str | None = Field(default=None, max_length=2048)

    def link_params(self) -> dict[str, str]:
        """The query as link parameters, without the position (page/cursor)."""
        params = {"limit": str(self.limit), "sort": self.sort, "order": self.order}
        if self.kind:
            params["kind"] = self.kind
        if self.status:
            params["status"] = self.status.value
        return params

    def fingerprint(self) -> str:
        return json.dumps(self.link_params(), sort_keys=True)


class Cursor(BaseModel):
    """Where a page starts: after (`next`) or before (`prev`) the item whose index key is `key`."""

    key: dict[str, str | int]
    direction: Literal["next", "prev"]
    page: int = Field(ge=1)
    total: int = Field(ge=0)
    query: str

    def encode(self) -> str:
        return base64.urlsafe_b64encode(self.model_dump_json().encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, query: ListQuery, project_id: str) -> Cursor:
        """The cursor a client sent back; refused unless it was made for this project and query."""
        try:
            padded = token + "=" * (-len(token) % 4)
            cursor = cls.model_validate(json.loads(base64.urlsafe_b64decode(padded)))
        except (binascii.Error, ValueError, ValidationError, UnicodeDecodeError):
            raise RequestRejected(
                ErrorKind.invalid_option, "cursor is not one this API made", "cursor"
            ) from None
        if cursor.query != query.fingerprint() or cursor.key.get("project_id") != project_id:
            raise RequestRejected(ErrorKind.invalid_option, "cursor belongs to a different listing", "cursor")
        return cursor


def page_count(total: int, limit: int) -> int:
    return max(1, math.ceil(total / limit))


def index_key(item: dict[str, Any], sort: str) -> dict[str, str | int]:
    """The attributes that position an item in the listing index (what DynamoDB resumes from)."""
    attribute = SORT_ATTRIBUTE[sort]
    return {"id": item["id"], "project_id": item["project_id"], attribute: int(item[attribute])}
