"""Copies that never overwrite, against moto's S3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mediatasks.adapters import storage as storage_module
from mediatasks.adapters.storage import ObjectExists, Storage
from mediatasks.domain.tasks import StoredObject

MADE = StoredObject(bucket="media", key="work/task_1/out/output.mp4")
TARGET = StoredObject(bucket="customer", key="dev/renders/output.mp4")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3")
        for bucket in (MADE.bucket, TARGET.bucket):
            client.create_bucket(Bucket=bucket)
        yield client


def _body(s3: Any, where: StoredObject) -> bytes:
    body: bytes = s3.get_object(Bucket=where.bucket, Key=where.key)["Body"].read()
    return body


@pytest.mark.parametrize("in_parts", [False, True])
def test_a_copy_lands_where_nothing_is_and_never_over_something(
    s3: Any, monkeypatch: pytest.MonkeyPatch, in_parts: bool
) -> None:
    made = b"\x01" * (6 * 1024**2 + 7)
    s3.put_object(Bucket=MADE.bucket, Key=MADE.key, Body=made)
    if in_parts:  # the path of objects over 5 GB, on 6 MiB: parts of 5 MiB
        monkeypatch.setattr(storage_module, "MAX_SINGLE_COPY_BYTES", 0)
        monkeypatch.setattr(storage_module, "COPY_PART_BYTES", 5 * 1024**2)
    storage = Storage(s3)
    storage.copy_new(MADE, TARGET)
    assert _body(s3, TARGET) == made
    s3.put_object(Bucket=TARGET.bucket, Key=TARGET.key, Body=b"theirs")
    with pytest.raises(ObjectExists):
        storage.copy_new(MADE, TARGET)
    assert _body(s3, TARGET) == b"theirs"
    assert s3.list_multipart_uploads(Bucket=TARGET.bucket).get("Uploads", []) == []


def test_a_multipart_copy_completes_only_if_the_target_is_still_absent(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An object written between the check and the completion: If-None-Match refuses it."""
    s3.put_object(Bucket=MADE.bucket, Key=MADE.key, Body=b"\x02" * 1024)
    monkeypatch.setattr(storage_module, "MAX_SINGLE_COPY_BYTES", 0)
    storage = Storage(s3)
    monkeypatch.setattr(storage, "_exists", lambda target: False)  # the other writer came after the check
    s3.put_object(Bucket=TARGET.bucket, Key=TARGET.key, Body=b"theirs")
    with pytest.raises(ObjectExists):
        storage.copy_new(MADE, TARGET)
    assert _body(s3, TARGET) == b"theirs"
    assert s3.list_multipart_uploads(Bucket=TARGET.bucket).get("Uploads", []) == []
