"""Multipart uploads: how a file is cut into parts, and the signed ticket that names an upload (its
project, file and S3 upload id), so the API keeps no state of its own about uploads under way.
Pure: no storage here."""

from __future__ import annotations

import hashlib
import hmac
import math

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.files import path_of
from mediatasks.domain.listing import urlsafe_decode, urlsafe_encode
from mediatasks.domain.requests import Filename, Folder

# S3's bounds: every part but the last at least 5 MiB, at most 10,000 parts.
MIN_PART_BYTES = 8 * 1024**2
MAX_PARTS = 10_000
MAX_LINKS_PER_REQUEST = 100
# Part links are presigned with the API's own credentials: asked for as the upload goes, each
# lives a quarter of an hour, well within those credentials' life.
PART_LINK_SECONDS = 15 * 60
_PURPOSE = b"mediatasks uploads v1"


class UploadCreate(BaseModel):
    """POST /uploads."""

    model_config = ConfigDict(extra="forbid")

    filename: Filename
    folder: Folder | None = None
    size: int = Field(gt=0, description="The file's size in bytes")


class PartRequest(BaseModel):
    """POST /uploads/{id}/parts: links for these parts."""

    model_config = ConfigDict(extra="forbid")

    part_numbers: list[int] = Field(min_length=1, max_length=MAX_LINKS_PER_REQUEST)


def part_size_for(size: int) -> int:
    """Parts of at least MIN_PART_BYTES, few enough for S3 (whole MiBs)."""
    needed = math.ceil(size / MAX_PARTS)
    return max(MIN_PART_BYTES, math.ceil(needed / 1024**2) * 1024**2)


class UploadTicket(BaseModel):
    """An upload, as its id carries it (signed: a client cannot name another project's upload)."""

    project: str
    folder: str | None
    filename: str
    size: int
    part_size: int
    upload_id: str

    @property
    def path(self) -> str:
        return path_of(self.folder, self.filename)

    @property
    def parts(self) -> int:
        return math.ceil(self.size / self.part_size)

    def expected_size(self, number: int) -> int:
        """How many bytes part `number` has."""
        return self.part_size if number < self.parts else self.size - self.part_size * (self.parts - 1)

    def check_part_numbers(self, numbers: list[int]) -> None:
        outside = [number for number in numbers if not 1 <= number <= self.parts]
        if outside:
            raise RequestRejected(
                ErrorKind.invalid_option,
                f"parts are numbered 1 to {self.parts}; not {outside[0]}",
                "part_numbers",
            )

    def encode(self, secret: bytes) -> str:
        payload = self.model_dump_json().encode()
        return f"{urlsafe_encode(payload)}.{urlsafe_encode(_mac(secret, payload))}"

    @classmethod
    def decode(cls, token: str, project_id: str, secret: bytes) -> UploadTicket:
        """The upload a client names; any id this API did not sign for this project is not found."""
        unknown = RequestRejected(ErrorKind.not_found, "no such upload")
        encoded, _, mac = token.partition(".")
        try:
            payload, signature = urlsafe_decode(encoded), urlsafe_decode(mac)
        except ValueError:
            raise unknown from None
        if not hmac.compare_digest(signature, _mac(secret, payload)):
            raise unknown
        try:
            ticket = cls.model_validate_json(payload)
        except ValidationError:
            raise unknown from None
        if ticket.project != project_id:
            raise unknown
        return ticket


def _mac(secret: bytes, payload: bytes) -> bytes:
    key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()
