"""Files and media as resources of a project: what is stored about each, how a file's status follows
the task that makes it, and the updates PATCH may make. Pure: no storage here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mediatasks.domain.requests import Filename, Folder, MetadataKey, MetadataValue, Ref
from mediatasks.domain.tasks import MediaFile, Status, new_id, now_ms

MEDIA_ID_PREFIX = "med"


class FileStatus(StrEnum):
    waiting = "waiting"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class FileObject(StrEnum):
    """What a file is to its media: the media itself, a track made from it, or an analysis of it."""

    source = "source"
    track = "track"
    intelligence = "intelligence"


# A file not yet stored is as far along as the task making it.
FILE_STATUS_OF_TASK: dict[Status, FileStatus] = {
    Status.waiting: FileStatus.waiting,
    Status.validating: FileStatus.waiting,
    Status.queued: FileStatus.waiting,
    Status.processing: FileStatus.processing,
    Status.finishing: FileStatus.processing,
    Status.succeeded: FileStatus.ready,
    Status.failed: FileStatus.failed,
    Status.cancelled: FileStatus.failed,
}


class FileRecord(BaseModel):
    """A file of a project: made (or being made) by task `task_id`, part of media `media_id`.
    `file` is its description once stored (None while its task runs)."""

    id: str
    project_id: str
    media_id: str
    task_id: str | None = None
    object: FileObject = FileObject.source
    status: FileStatus = FileStatus.waiting
    original: bool = False
    file: MediaFile | None = None
    filename: str | None = None
    folder: str | None = None
    ref: str | None = None
    label: str | None = None
    language: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)

    def path(self) -> str:
        """Where a signature names the file: `<folder>/<filename>` (no folder: `/<filename>`)."""
        return path_of(self.folder, self.filename or "")


def path_of(folder: str | None, filename: str) -> str:
    return f"{folder or ''}/{filename}"


class MediaRecord(BaseModel):
    """A media item: an original and everything made from it."""

    id: str = Field(default_factory=lambda: new_id(MEDIA_ID_PREFIX))
    project_id: str
    title: str | None = None
    alt: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)


Metadata = dict[MetadataKey, MetadataValue]


class _Update(BaseModel):
    """A PATCH body: keys left out are unchanged, an explicit null clears."""

    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, with their new values (None: clear)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class FileUpdate(_Update):
    """PATCH /files/{id}: renames or relabels the file; its stored bytes do not move."""

    folder: Folder | None = None
    filename: Filename | None = None
    ref: Ref | None = None
    metadata: Metadata | None = Field(default=None, max_length=50)


class MediaUpdate(_Update):
    """PATCH /media/{id}."""

    title: str | None = Field(default=None, max_length=512)
    alt: str | None = Field(default=None, max_length=2048)
    metadata: Metadata | None = Field(default=None, max_length=50)


class MediaCreate(BaseModel):
    """POST /media: an empty media item, for files to join (tasks with its `media_id`)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=512)
    alt: str | None = Field(default=None, max_length=2048)
    metadata: Metadata = Field(default_factory=dict, max_length=50)


class FileCreate(BaseModel):
    """POST /files: ingest the file at `url` into managed storage."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=4096, description="http://, https:// or s3:// URL of the file")
    media_id: str | None = Field(
        default=None, max_length=64, description="The media it joins (default: a new one)"
    )
    folder: Folder | None = None
    filename: Filename | None = None
    ref: Ref | None = None
    metadata: Metadata = Field(default_factory=dict, max_length=50)
