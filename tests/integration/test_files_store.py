"""Files and media items in DynamoDB against moto, on the table (and indexes) the CDK app defines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mediatasks.adapters.files import FileStore, MediaStore
from mediatasks.constants import FILES_TABLE_ID
from mediatasks.domain.files import FileRecord, FileStatus, MediaRecord
from mediatasks.domain.listing import PageQuery
from mediatasks.domain.tasks import MediaFile, StoredObject
from mediatasks.local.cloud import table_definition

STORED = MediaFile(
    id="file_stored12345",
    kind="video",
    format="mp4",
    type="video/mp4",
    width=320,
    height=240,
    filesize=1000,
    filename="out.mp4",
    location=StoredObject(bucket="media", key="files/prj/file_stored12345/out.mp4"),
)


@pytest.fixture
def stores(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FileStore, MediaStore]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        dynamodb.meta.client.create_table(**table_definition(template, FILES_TABLE_ID, "files"))
        table = dynamodb.Table("files")
        yield FileStore("files", table), MediaStore("files", table)


def pending(file_id: str, created_at: int, **fields: Any) -> FileRecord:
    return FileRecord(
        id=file_id,
        project_id="prj",
        media_id="med_one12345",
        task_id="task_1",
        created_at=created_at,
        **fields,
    )


def test_publishing_keeps_what_was_set_when_the_task_began(stores: tuple[FileStore, MediaStore]) -> None:
    files, _ = stores
    _create(files, pending(STORED.id, 10, metadata={"a": 1}, original=True))
    assert files.get("prj", STORED.id) is None  # not stored yet: no task input
    published = FileRecord(
        id=STORED.id,
        project_id="prj",
        media_id="med_other1234",
        status=FileStatus.ready,
        file=STORED,
        filename="out.mp4",
        created_at=99,
    )
    files.publish(published)
    record = files.record("prj", STORED.id)
    assert record is not None
    assert (record.status, record.file, record.filename) == (FileStatus.ready, STORED, "out.mp4")
    assert (record.media_id, record.metadata, record.original, record.created_at) == (
        "med_one12345",
        {"a": 1},
        True,
        10,
    )
    assert files.get("prj", STORED.id) == STORED
    assert files.record("another", STORED.id) is None
    assert files.at_path("prj", "/out.mp4") == record


def test_an_update_sets_what_it_names_and_clears_its_nulls(stores: tuple[FileStore, MediaStore]) -> None:
    files, _ = stores
    _create(files, pending("file_named123456", 1, filename="a.mp4", ref="raw"))
    assert files.update("another", "file_named123456", {"filename": "b.mp4"}) is None
    changed = files.update("prj", "file_named123456", {"folder": "x", "ref": None})
    assert changed is not None
    assert files.record("prj", "file_named123456") == changed
    assert (changed.folder, changed.filename, changed.ref) == ("x", "a.mp4", None)
    assert files.at_path("prj", "x/a.mp4") == changed
    assert files.at_path("prj", "/a.mp4") is None


def test_pages_are_newest_first_and_a_media_lists_its_files(stores: tuple[FileStore, MediaStore]) -> None:
    files, media = stores
    for number in range(5):
        _create(files, pending(f"file_number{number:05d}", number))
    first = files.page("prj", PageQuery(limit=2))
    assert [record.id for record in first.items] == ["file_number00004", "file_number00003"]
    assert first.more
    after = files.page("prj", PageQuery(limit=2), first.last)
    assert [record.id for record in after.items] == ["file_number00002", "file_number00001"]
    back = files.page("prj", PageQuery(limit=2), after.first, backwards=True)
    assert [record.id for record in back.items] == ["file_number00003", "file_number00004"]
    assert [record.id for record in files.of_media("med_one12345")] == [
        f"file_number{n:05d}" for n in range(5)
    ]
    assert files.page("another", PageQuery()).items == []

    media.create(MediaRecord(id="med_one12345", project_id="prj", title="t"))
    assert files.page("prj", PageQuery(limit=10)).items[-1].id == "file_number00000"  # media are not files
    assert [item.id for item in media.page("prj", PageQuery()).items] == ["med_one12345"]
    assert media.get("another", "med_one12345") is None
    changed = media.update("prj", "med_one12345", {"title": None, "alt": "x"})
    assert changed is not None
    assert media.get("prj", "med_one12345") == changed
    assert (changed.title, changed.alt) == (None, "x")


def test_a_file_stored_before_files_were_resources_is_its_own_media(
    stores: tuple[FileStore, MediaStore],
) -> None:
    files, _ = stores
    files.table.put_item(Item={**STORED.model_dump(mode="json", exclude_none=True), "project_id": "prj"})
    record = files.record("prj", STORED.id)
    assert record is not None
    assert (record.media_id, record.status, record.file) == (STORED.id, FileStatus.ready, STORED)


def _create(files: FileStore, record: FileRecord) -> None:
    """Writes a file record as a task's creation does (service/tasks.py), alone."""
    files.table.meta.client.transact_write_items(TransactItems=[files.creation(record)])  # type: ignore[list-item]
