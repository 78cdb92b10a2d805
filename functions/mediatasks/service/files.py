"""Files and media as the API's resources: listed, read, renamed and deleted per project, created by
ingest tasks (POST /files) or grouped by hand (POST /media)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mediatasks.adapters.files import FileStore, MediaStore
from mediatasks.adapters.storage import Storage
from mediatasks.contract.latest import (
    Confirmation,
    FileList,
    FileResource,
    MediaList,
    MediaResource,
)
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.files import (
    FILE_STATUS_OF_TASK,
    FileCreate,
    FileRecord,
    FileStatus,
    FileUpdate,
    MediaCreate,
    MediaRecord,
    MediaUpdate,
)
from mediatasks.domain.listing import ListQuery, PageQuery
from mediatasks.domain.tasks import TERMINAL_STATUSES, Status, Task
from mediatasks.kinds.registry import kind_of, rejection_from
from mediatasks.service.listing import Listing, list_page
from mediatasks.service.tasks import FileJoin, Maker, TaskService, list_links

ORIGINAL_REF = "original"
# Tasks that may still read a file: every status before a terminal one.
RUNNING_STATUSES = tuple(status for status in Status if status not in TERMINAL_STATUSES)
RUNNING_PAGE = 100


def _paging(route: str, query: PageQuery, listing: Listing[Any]) -> dict[str, Any]:
    """A page's place in its listing: its number, size and links."""
    return {"page": listing.page, "limit": query.limit, "links": list_links(route, query, listing)}


def _not_found(what: str, identifier: str) -> RequestRejected:
    return RequestRejected(ErrorKind.not_found, f"no {what} with id {identifier!r}")


@dataclass(frozen=True)
class FileService:
    tasks: TaskService

    @property
    def files(self) -> FileStore:
        return self.tasks.files

    @property
    def media(self) -> MediaStore:
        return self.tasks.media

    @property
    def storage(self) -> Storage:
        return self.tasks.storage

    # files

    def create_file(self, project_id: str, request: FileCreate) -> FileResource:
        """Starts an ingest of `url`; the file answers waiting, and is ready once the task is."""
        joins = FileJoin(metadata=request.metadata)
        if request.media_id is not None:
            if self.media.get(project_id, request.media_id) is None:
                raise RequestRejected(
                    ErrorKind.invalid_input, f"no media with id {request.media_id!r}", "media_id"
                )
            has_original = any(record.original for record in self.files.of_media(request.media_id))
            joins = FileJoin(request.media_id, original=not has_original, metadata=request.metadata)
        naming = request.model_dump(include={"folder", "filename", "ref"}, exclude_none=True)
        try:
            ingest = kind_of("ingest").request.model_validate(
                {"kind": "ingest", "url": request.url, **naming}
            )
        except ValidationError as invalid:
            raise rejection_from(list(invalid.errors())) from None
        task = self.tasks.create(project_id, ingest, joins=joins)
        return self.file(project_id, str(task.output_file_id))

    def _record(self, project_id: str, file_id: str) -> FileRecord:
        record = self.files.record(project_id, file_id)
        if record is None:
            raise _not_found("file", file_id)
        return record

    def file(self, project_id: str, file_id: str) -> FileResource:
        return self.present_file(self._record(project_id, file_id))

    def list_files(self, project_id: str, query: PageQuery) -> FileList:
        listing = list_page(self.files, project_id, query, self.tasks.cursor_key)
        data = [self.present_file(record) for record in listing.items]
        return FileList(data=data, **_paging("/files", query, listing))

    def update_file(self, project_id: str, file_id: str, update: FileUpdate) -> FileResource:
        changed = self.files.update(project_id, file_id, update.changes())
        if changed is None:
            raise _not_found("file", file_id)
        return self.present_file(changed)

    def delete_file(self, project_id: str, file_id: str) -> Confirmation:
        record = self._record(project_id, file_id)
        self._remove(project_id, record)
        return Confirmation(message=f"file {file_id} and its stored objects were deleted")

    def _remove(self, project_id: str, record: FileRecord) -> None:
        """Deletes the file's stored objects (an HLS set: its whole folder), then its record; refused
        while a task is making it or reading it."""
        if self._status(record) in (FileStatus.waiting, FileStatus.processing):
            raise RequestRejected(
                ErrorKind.file_in_use,
                f"file {record.id} is still being made; cancel task {record.task_id} first",
            )
        reader = self._running_reader(project_id, record.id)
        if reader is not None:
            raise RequestRejected(ErrorKind.file_in_use, f"task {reader} is reading file {record.id}")
        location = None if record.file is None else record.file.location
        if location is not None and location.bucket == self.tasks.settings.media_bucket:
            folder = location.key.rsplit("/", 1)[0]
            if folder.endswith(f"/{record.id}"):  # files/<project>/[<folder>/]<file id>/: the file's own
                self.storage.delete_prefix(location.bucket, folder + "/")
            else:
                self.storage.delete(location)
        self.files.delete(record.id)

    def _running_reader(self, project_id: str, file_id: str) -> str | None:
        """A task of the project that has not ended and reads the file, if there is one."""
        for status in RUNNING_STATUSES:
            query = ListQuery(status=status, limit=RUNNING_PAGE)
            after: dict[str, Any] | None = None
            while True:
                found = self.tasks.store.page(project_id, query, after)
                for task in found.items:
                    if task.input_file_id == file_id and task.status not in TERMINAL_STATUSES:
                        return task.id
                if not found.more:
                    break
                after = found.last
        return None

    def _task(self, record: FileRecord) -> Task | None:
        return None if record.task_id is None else self.tasks.store.get(record.task_id)

    def _status(self, record: FileRecord) -> FileStatus:
        """A stored file is ready; one its task is making is as far along as the task."""
        if record.status == FileStatus.ready:
            return record.status
        task = self._task(record)
        return FileStatus.failed if task is None else FILE_STATUS_OF_TASK[task.status]

    def present_file(self, record: FileRecord) -> FileResource:
        fields: dict[str, Any] = {}
        if record.file is not None and record.file.location is not None:
            # the task that made a file published it where its output is: its playback URL serves it
            maker = None if record.task_id is None else Maker(record.project_id, record.task_id)
            view = self.tasks.stored_file_view(record.file, record.file.location, maker)
            fields = view.model_dump(exclude={"object", "id", "filename", "folder", "ref"})
        return FileResource(
            id=record.id,
            media_id=record.media_id,
            role=record.object.value,
            status=self._status(record),
            original=record.original,
            task_id=record.task_id,
            filename=record.filename,
            folder=record.folder,
            ref=record.ref,
            label=record.label,
            language=record.language,
            metadata=record.metadata,
            created_at=record.created_at,
            updated_at=record.updated_at,
            **({"url": None} | fields),
        )

    # media

    def create_media(self, project_id: str, request: MediaCreate) -> MediaResource:
        media = MediaRecord(project_id=project_id, **request.model_dump())
        self.media.create(media)
        return self.present_media(media)

    def _media(self, project_id: str, media_id: str) -> MediaRecord:
        media = self.media.get(project_id, media_id)
        if media is None:
            raise _not_found("media", media_id)
        return media

    def media_item(self, project_id: str, media_id: str) -> MediaResource:
        return self.present_media(self._media(project_id, media_id))

    def list_media(self, project_id: str, query: PageQuery) -> MediaList:
        listing = list_page(self.media, project_id, query, self.tasks.cursor_key)
        data = [self.present_media(media) for media in listing.items]
        return MediaList(data=data, **_paging("/media", query, listing))

    def update_media(self, project_id: str, media_id: str, update: MediaUpdate) -> MediaResource:
        changed = self.media.update(project_id, media_id, update.changes())
        if changed is None:
            raise _not_found("media", media_id)
        return self.present_media(changed)

    def delete_media(self, project_id: str, media_id: str) -> Confirmation:
        """Deletes every file of the media (none while a task makes or reads one), then the media."""
        self._media(project_id, media_id)
        records = self.files.of_media(media_id)
        for record in records:
            if self._status(record) in (FileStatus.waiting, FileStatus.processing):
                raise RequestRejected(
                    ErrorKind.file_in_use, f"file {record.id} of the media is still being made"
                )
        for record in records:
            self._remove(project_id, record)
        self.media.delete(media_id)
        return Confirmation(message=f"media {media_id} and its {len(records)} files were deleted")

    def present_media(self, media: MediaRecord) -> MediaResource:
        files = [self.present_file(record) for record in self.files.of_media(media.id)]
        original = next((file for file in files if file.original), None)
        urls = {file.ref: file.url for file in files if file.ref and file.url}
        if original is not None and original.url:
            urls[ORIGINAL_REF] = original.url
        return MediaResource(
            id=media.id,
            kind=None if original is None else original.kind,
            title=media.title,
            alt=media.alt,
            width=None if original is None else original.width,
            height=None if original is None else original.height,
            duration=None if original is None else original.duration,
            metadata=media.metadata,
            files=files,
            urls=urls,
            created_at=media.created_at,
            updated_at=media.updated_at,
        )
