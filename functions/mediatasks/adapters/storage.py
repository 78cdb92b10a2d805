"""Objects in S3: streaming uploads, downloads to local files, server-side copies, presigned links."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, cast

import boto3
from boto3.s3.transfer import TransferConfig

from mediatasks.adapters.streams import ByteStream
from mediatasks.domain.tasks import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

# Multipart parts of 16 MiB, at most 4 in flight: a streamed upload holds ~64 MiB, whatever its size.
STREAMING = TransferConfig(multipart_chunksize=16 * 1024**2, max_concurrency=4)
# Downloads to local disk: one GET up to 64 MiB, parallel 64 MiB ranges beyond (small ranges cost more
# in request overhead than they win in parallelism).
TO_DISK = TransferConfig(
    multipart_threshold=64 * 1024**2, multipart_chunksize=64 * 1024**2, max_concurrency=8
)


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

    def size(self, source: StoredObject) -> int:
        return self._s3.head_object(Bucket=source.bucket, Key=source.key)["ContentLength"]

    def copy(self, source: StoredObject, target: StoredObject) -> None:
        self._s3.copy({"Bucket": source.bucket, "Key": source.key}, target.bucket, target.key)

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
