"""Signed URLs the API checks itself: a browser holding one may read one file (get) or upload one
file (put) of a project until its expiry, without the project's API key. Pure: no storage here.

Why not S3 presigned URLs: one made with a Lambda role's temporary credentials stops working when
those credentials expire (hours at most), whatever expiry it was given. This signature is an HMAC
the API verifies on every use. A valid get is answered with a redirect to a presigned link that only
has to live for REDIRECT_SECONDS, well within the credentials' life; a valid put's body is stored by
the API itself, so it is bounded by what API Gateway hands a Lambda function (MAX_SIGNED_PUT_BYTES):
bigger files go up in parts (POST /uploads), each straight to S3."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.files import path_of
from mediatasks.domain.listing import urlsafe_encode
from mediatasks.domain.requests import Filename, Folder

# How far ahead an expiry may be: the signing key is the API's (rotating it ends every signature),
# and a link to a project's files should not outlive a week.
MAX_SIGNATURE_SECONDS = 7 * 24 * 3600
DEFAULT_SIGNATURE_SECONDS = 3600
# How long the presigned link a valid signature redirects to lives: one request's worth.
REDIRECT_SECONDS = 300
# A Lambda function's request payload is at most 6 MB, and API Gateway base64-encodes a binary body
# (4 bytes for every 3): what is left for the file, with room for the request's headers.
MAX_SIGNED_PUT_BYTES = 4 * 1024**2
# Signatures use their own key, derived from the API's secret (listing cursors use it directly).
_PURPOSE = b"mediatasks signed URLs v1"

Method = Literal["get", "put"]


class SignatureRequest(BaseModel):
    """POST /signatures."""

    model_config = ConfigDict(extra="forbid")

    filename: Filename
    folder: Folder | None = None
    expiry: int | None = Field(default=None, description="Unix seconds; default: an hour from now")
    method: Method = "get"


class Signed(BaseModel):
    """What a signed URL carries, and what its signature covers: every field."""

    project: str
    folder: str | None = None
    filename: str
    method: Method
    expiry: int

    @property
    def path(self) -> str:
        return path_of(self.folder, self.filename)

    def message(self) -> bytes:
        return "\n".join([self.method, self.project, self.path, str(self.expiry)]).encode()


def keyed_signature(secret: bytes, purpose: bytes, message: bytes) -> str:
    """An HMAC-SHA256 of `message` under a key derived from the API's secret for one `purpose`:
    a signature made for one kind of URL is never valid for another."""
    key = hmac.new(secret, purpose, hashlib.sha256).digest()
    return urlsafe_encode(hmac.new(key, message, hashlib.sha256).digest())


def sign(secret: bytes, signed: Signed) -> str:
    return keyed_signature(secret, _PURPOSE, signed.message())


def checked_expiry(expiry: int | None, now: int) -> int:
    """The expiry a new signature gets; refused in the past or beyond MAX_SIGNATURE_SECONDS."""
    if expiry is None:
        return now + DEFAULT_SIGNATURE_SECONDS
    if expiry <= now:
        raise RequestRejected(
            ErrorKind.invalid_option, "expiry must be in the future (unix seconds)", "expiry"
        )
    if expiry > now + MAX_SIGNATURE_SECONDS:
        raise RequestRejected(
            ErrorKind.invalid_option,
            f"expiry may be at most {MAX_SIGNATURE_SECONDS // 86400} days ahead "
            f"(at most {now + MAX_SIGNATURE_SECONDS})",
            "expiry",
        )
    return expiry


def verify(secret: bytes, signed: Signed, signature: str, method: str, now: int) -> None:
    """Refuses a signature this API did not make for exactly these fields, used with another HTTP
    method than it was made for, or past its expiry."""
    check_signature(sign(secret, signed), signature)
    if method.lower() != signed.method:
        raise RequestRejected(
            ErrorKind.signature_invalid, f"this URL is signed for {signed.method.upper()} requests only"
        )
    check_expiry(signed.expiry, now)


def check_signature(expected: str, given: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise RequestRejected(ErrorKind.signature_invalid, "the URL's signature is not valid")


def check_expiry(expiry: int, now: int) -> None:
    if now > expiry:
        raise RequestRejected(ErrorKind.signature_expired, "the URL's signature has expired")
