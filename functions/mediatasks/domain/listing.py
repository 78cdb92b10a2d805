"""Listing a project's tasks: the query, where its tasks are indexed, and the signed cursor that
lets a client walk any number of pages at a cost that does not grow with the page number.
Pure: no storage here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.tasks import Status

# Pages asked for by number are served by reading the index up to them (keys only, one request),
# so they end here: page * limit may not pass this. Cursors (links.next) go as deep as a listing goes.
MAX_NUMBERED_ITEMS = 1000


def listing_partition(project_id: str, kind: str | None, status: str | None) -> tuple[str, str]:
    """The index partition (attribute, value) holding the project's tasks of that kind and status
    (either may be None: any)."""
    filters = [(name, value) for name, value in (("kind", kind), ("status", status)) if value]
    if not filters:
        return "project_id", project_id
    attribute = "_".join(["project", *(name for name, _ in filters)])
    return attribute, "#".join([project_id, *(value for _, value in filters)])


def parent_partition(project_id: str, parent_id: str) -> tuple[str, str]:
    """The index partition of a workflow's children (GET /tasks?parent_id=)."""
    return "project_parent", f"{project_id}#{parent_id}"


def partition_values(project_id: str, kind: str, status: str, parent_id: str | None = None) -> dict[str, str]:
    """Every listing partition a task of this project, kind and status (and parent) belongs to, by
    attribute. The parent's partition holds the task whatever its status: it never moves."""
    partitions = dict(
        listing_partition(project_id, by_kind, by_status)
        for by_kind in (None, kind)
        for by_status in (None, status)
    )
    if parent_id is not None:
        attribute, value = parent_partition(project_id, parent_id)
        partitions[attribute] = value
    return partitions


class PageQuery(BaseModel):
    """Where a listing's page is: by number (up to MAX_NUMBERED_ITEMS deep) or by cursor."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=100_000)
    limit: int = Field(default=12, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)

    def link_params(self) -> dict[str, str]:
        """The query as link parameters, without the position (page/cursor)."""
        return {"limit": str(self.limit)}

    def fingerprint(self) -> str:
        return "&".join(f"{name}={value}" for name, value in sorted(self.link_params().items()))

    def offset(self) -> int:
        """How many entries precede the numbered page; refused past MAX_NUMBERED_ITEMS."""
        if self.page * self.limit > MAX_NUMBERED_ITEMS:
            raise RequestRejected(
                ErrorKind.invalid_option,
                f"page * limit may be at most {MAX_NUMBERED_ITEMS}; to go deeper, follow the "
                "cursors in links.next",
                "page",
            )
        return (self.page - 1) * self.limit


class ListQuery(PageQuery):
    """GET /tasks: a page of the project's tasks, filtered and sorted."""

    sort: Literal["created", "updated"] = "created"
    order: Literal["asc", "desc"] = "desc"
    kind: str | None = Field(default=None, max_length=32, pattern=r"^[a-z_]+$")
    status: Status | None = None
    parent_id: str | None = Field(default=None, max_length=64, pattern=r"^task_[A-Za-z0-9_-]+$")

    def link_params(self) -> dict[str, str]:
        params = {"limit": str(self.limit), "sort": self.sort, "order": self.order}
        if self.kind:
            params["kind"] = self.kind
        if self.status:
            params["status"] = self.status.value
        if self.parent_id:
            params["parent_id"] = self.parent_id
        return params

    def partition(self, project_id: str) -> tuple[str, str]:
        if self.parent_id is not None:
            if self.kind or self.status:
                raise RequestRejected(
                    ErrorKind.invalid_option,
                    "parent_id lists a workflow's steps: not with kind or status",
                    "parent_id",
                )
            return parent_partition(project_id, self.parent_id)
        return listing_partition(project_id, self.kind, self.status.value if self.status else None)


class Cursor(BaseModel):
    """Where a page starts: after (`next`) or before (`prev`) the index entry `key`. Signed with
    the API's key, so a client can only hand back a cursor this API gave it."""

    model_config = ConfigDict(extra="forbid")

    key: dict[str, str | int]
    direction: Literal["next", "prev"]
    page: int = Field(ge=1)
    project: str
    query: str

    def encode(self, secret: bytes) -> str:
        payload = self.model_dump_json().encode()
        return f"{urlsafe_encode(payload)}.{urlsafe_encode(_signature(secret, payload))}"

    @classmethod
    def decode(cls, token: str, query: PageQuery, project_id: str, secret: Callable[[], bytes]) -> Cursor:
        """The cursor a client sent back; refused unless this API signed it for this project and
        query. The key is only fetched for a token of the right shape."""
        foreign = RequestRejected(ErrorKind.invalid_option, "cursor is not one this API made", "cursor")
        encoded_payload, _, encoded_signature = token.partition(".")
        try:
            payload, signature = urlsafe_decode(encoded_payload), urlsafe_decode(encoded_signature)
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise foreign from None
        if len(signature) != hashlib.sha256().digest_size:
            raise foreign
        if not hmac.compare_digest(signature, _signature(secret(), payload)):
            raise foreign
        try:
            cursor = cls.model_validate_json(payload)
        except ValidationError:  # signed by a version of this API that wrote other fields
            raise foreign from None
        if cursor.project != project_id or cursor.query != query.fingerprint():
            raise RequestRejected(ErrorKind.invalid_option, "cursor belongs to a different listing", "cursor")
        return cursor


def _signature(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()


def urlsafe_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def urlsafe_decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def page_count(total: int, limit: int) -> int:
    return max(1, math.ceil(total / limit))
