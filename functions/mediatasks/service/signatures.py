"""Signed URLs (POST /signatures) and their use (GET|PUT /signed): a get reads one of the project's
files, a put uploads one file into the project's upload area, where it becomes a media."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from pydantic import ValidationError

from mediatasks.constants import SIGNED_ROUTE, UPLOADS_PREFIX
from mediatasks.contract.latest import FileResource, Signature
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.files import FileCreate, FileStatus
from mediatasks.domain.signatures import (
    MAX_SIGNED_PUT_BYTES,
    REDIRECT_SECONDS,
    SignatureRequest,
    Signed,
    checked_expiry,
    sign,
    verify,
)
from mediatasks.domain.tasks import StoredObject
from mediatasks.service.files import FileService


def upload_target(bucket: str, project_id: str, path: str) -> StoredObject:
    """uploads/<project>/[<folder>/]<filename>: a `path` is `<folder>/<filename>` or `/<filename>`."""
    return StoredObject(bucket=bucket, key=f"{UPLOADS_PREFIX}{project_id}/{path.lstrip('/')}")


@dataclass(frozen=True)
class Endpoint:
    """Where the API is served, as the caller reached it: its host, and the URL its routes are under."""

    domain: str
    base_url: str


@dataclass(frozen=True)
class SignatureService:
    files: FileService

    def _secret(self) -> bytes:
        return self.files.tasks.cursor_key()

    def create(self, project_id: str, request: SignatureRequest, endpoint: Endpoint) -> Signature:
        expiry = checked_expiry(request.expiry, int(time.time()))
        signed = Signed(
            project=project_id,
            folder=request.folder,
            filename=request.filename,
            method=request.method,
            expiry=expiry,
        )
        signature = sign(self._secret(), signed)
        query = signed.model_dump(exclude_none=True) | {"signature": signature}
        return Signature(
            domain=endpoint.domain,
            filename=request.filename,
            folder=request.folder,
            expiry=expiry,
            method=request.method,
            signature=signature,
            url=f"{endpoint.base_url}{SIGNED_ROUTE}?{urlencode(query)}",
        )

    def _verified(self, method: str, query: dict[str, str]) -> Signed:
        given = dict(query)
        signature = given.pop("signature", "")
        try:
            signed = Signed.model_validate(given)
        except ValidationError:
            raise RequestRejected(
                ErrorKind.signature_invalid, "the URL is not a signed URL this API made"
            ) from None
        verify(self._secret(), signed, signature, method, int(time.time()))
        return signed

    def read(self, query: dict[str, str]) -> str:
        """A get signature's file: a presigned link to it, valid for REDIRECT_SECONDS."""
        signed = self._verified("get", query)
        record = self.files.files.at_path(signed.project, signed.path)
        location = None if record is None or record.file is None else record.file.location
        if record is None or record.status != FileStatus.ready or location is None:
            raise RequestRejected(ErrorKind.not_found, f"no file at {signed.path}")
        return self.files.storage.presigned_url(location, REDIRECT_SECONDS)

    def upload(self, query: dict[str, str], body: bytes) -> FileResource:
        """A put signature's upload: stored at the key the signature names (and nowhere else), then
        ingested as the original of a new media."""
        signed = self._verified("put", query)
        settings = self.files.tasks.settings
        limit = min(settings.max_input_bytes, MAX_SIGNED_PUT_BYTES)
        if len(body) > limit:
            raise RequestRejected(
                ErrorKind.payload_too_large,
                f"a signed PUT carries at most {limit} bytes; send bigger files with POST /uploads",
            )
        if not body:
            raise RequestRejected(ErrorKind.invalid_input, "the upload is empty")
        target = upload_target(settings.media_bucket, signed.project, signed.path)
        self.files.storage.put_bytes(body, target)
        request = FileCreate(
            url=f"s3://{target.bucket}/{target.key}", folder=signed.folder, filename=signed.filename
        )
        return self.files.create_file(signed.project, request)
