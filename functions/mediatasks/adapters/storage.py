"""Objects in S3: streaming uploads, downloads to local files, server-side copies, presigned links."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from mediatasks.adapters.streams import ByteStream
from mediatasks.domain.tasks import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

# Multipart parts of 16 MiB, at most 4 in flight: a streamed upload holds ~64 MiB, whatever its size.
STREAMING = TransferConfig(multipart_chunksize=16 * 1024**2, max_concurrency=4)
# Downloads to local disk: one GET up to 64 MiB, parallel 64 MiB ranges beyond (small ranges cost more
# in request overhead than they win in parallelism).
TO_DISK = TransferConfig(
    multipart_threshold=64 * 1024**2, multipart_chunksize=64 * 1024**2, max_concurrency=8
)


# CopyObject copies up to 5 GB in one request; beyond, parts of 512 MiB (at most 10,000 parts).
MAX_SINGLE_COPY_BYTES = 5 * 1024**3
COPY_PART_BYTES = 512 * 1024**2
# What S3 answers a conditional write when an object is there (or another write is under way).
_ALREADY_WRITTEN = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
_NOT_SEEN = ("404", "NoSuchKey", "NotFound", "403", "AccessDenied", "Forbidden")


class ObjectExists(Exception):
    """A write was refused because an object is already at its target."""

    def __init__(self, target: StoredObject) -> None:
        super().__init__(f"s3://{target.bucket}/{target.key} exists")
        self.target = target


class Storage:
    def __init__(self, client: S3Client | None = None) -> None:
        self._s3 = client or boto3.client("s3")

    def upload_stream(self, stream: ByteStream, target: StoredObject) -> None:
        # boto3 only calls read(size) on the stream; its type hints ask for a whole file object
        self._s3.upload_fileobj(cast(IO[Any], stream), target.bucket, target.key, Config=STREAMING)

    def upload_file(self, path: str, target: StoredObject, content_type: str) -> None:
        self._s3.upload_file(path, target.bucket, target.key, ExtraArgs={"ContentType": content_type})

    def download_file(self, source: StoredObject, path: str) -> None:
        self._s3.download_file(source.bucket, source.key, path, Config=TO_DISK)

    def open(self, source: StoredObject) -> ByteStream:
        return self._s3.get_object(Bucket=source.bucket, Key=source.key)["Body"]

    def open_range(self, source: StoredObject, first: int, last: int) -> ByteStream:
        """Bytes first..last (inclusive) of a stored object."""
        answer = self._s3.get_object(Bucket=source.bucket, Key=source.key, Range=f"bytes={first}-{last}")
        return answer["Body"]

    def size(self, source: StoredObject) -> int:
        return self._s3.head_object(Bucket=source.bucket, Key=source.key)["ContentLength"]

    def copy_new(self, source: StoredObject, target: StoredObject) -> None:
        """Copies `source` to `target` only where no object is: never overwrites one (raises
        ObjectExists). S3's conditional write (If-None-Match: *) makes that atomic; the HeadObject
        before it answers the same where a store ignores the condition on copies (moto 5.2.5)."""
        if self._exists(target):
            raise ObjectExists(target)
        copy_source: CopySourceTypeDef = {"Bucket": source.bucket, "Key": source.key}
        size = self.size(source)
        try:
            if size <= MAX_SINGLE_COPY_BYTES:
                self._s3.copy_object(
                    CopySource=copy_source, Bucket=target.bucket, Key=target.key, IfNoneMatch="*"
                )
            else:
                self._copy_in_parts(copy_source, size, target)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ALREADY_WRITTEN:
                raise ObjectExists(target) from None
            raise

    def _copy_in_parts(self, source: CopySourceTypeDef, size: int, target: StoredObject) -> None:
        """A multipart copy (objects over 5 GB), completed only if the target is still absent."""
        upload = self._s3.create_multipart_upload(Bucket=target.bucket, Key=target.key)["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            for number, start in enumerate(range(0, size, COPY_PART_BYTES), start=1):
                end = min(start + COPY_PART_BYTES, size) - 1
                part = self._s3.upload_part_copy(
                    Bucket=target.bucket,
                    Key=target.key,
                    UploadId=upload,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": part["CopyPartResult"]["ETag"]})
            self._s3.complete_multipart_upload(
                Bucket=target.bucket,
                Key=target.key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except Exception:
            self._s3.abort_multipart_upload(Bucket=target.bucket, Key=target.key, UploadId=upload)
            raise

    def _exists(self, target: StoredObject) -> bool:
        """Whether an object is seen at `target`. A role that may only write there (no read, no
        list) is answered 403 either way: then the conditional copy is what decides."""
        try:
            self._s3.head_object(Bucket=target.bucket, Key=target.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NOT_SEEN:
                return False
            raise
        return True

    def keys(self, bucket: str, prefix: str) -> list[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def delete(self, target: StoredObject) -> None:
        self._s3.delete_object(Bucket=target.bucket, Key=target.key)

    def delete_prefix(self, bucket: str, prefix: str) -> None:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self._s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})  # type: ignore[typeddict-item]

    def presigned_url(self, location: StoredObject, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": location.bucket, "Key": location.key}, ExpiresIn=expires_in
        )

    def start_parts(self, target: StoredObject) -> str:
        """Starts a multipart upload to `target`; its upload id."""
        return self._s3.create_multipart_upload(Bucket=target.bucket, Key=target.key)["UploadId"]

    def part_link(self, target: StoredObject, upload_id: str, number: int, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "upload_part",
            Params={"Bucket": target.bucket, "Key": target.key, "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=expires_in,
        )

    def parts(self, target: StoredObject, upload_id: str) -> list[tuple[int, int, str]]:
        """The parts S3 holds of an upload, by number: (number, size, ETag). A part sent twice is
        there once, as last sent."""
        paginator = self._s3.get_paginator("list_parts")
        return [
            (part["PartNumber"], part["Size"], part["ETag"])
            for page in paginator.paginate(Bucket=target.bucket, Key=target.key, UploadId=upload_id)
            for part in page.get("Parts", [])
        ]

    def finish_parts(self, target: StoredObject, upload_id: str, parts: list[tuple[int, int, str]]) -> None:
        completed: list[CompletedPartTypeDef] = [
            {"PartNumber": number, "ETag": etag} for number, _, etag in parts
        ]
        self._s3.complete_multipart_upload(
            Bucket=target.bucket, Key=target.key, UploadId=upload_id, MultipartUpload={"Parts": completed}
        )

    def put_bytes(self, data: bytes, target: StoredObject) -> None:
        self._s3.put_object(Bucket=target.bucket, Key=target.key, Body=data)
