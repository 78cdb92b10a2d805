"""Creating, reading and presenting tasks for the API."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aws_lambda_powertools import Logger

from mediatasks.adapters.files import FileStore, MediaStore
from mediatasks.adapters.secrets import CursorKey
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskNotActive, TaskStore
from mediatasks.adapters.workflow import Workflow
from mediatasks.config import Settings
from mediatasks.contract.latest import (
    CompanionView,
    FileView,
    ListLinks,
    RenditionView,
    StepView,
    TaskError,
    TaskList,
    TaskView,
)
from mediatasks.domain.addresses import is_allowed_address, literal_address
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.files import MediaRecord
from mediatasks.domain.listing import ListQuery, PageQuery, page_count
from mediatasks.domain.requests import TaskRequest, parse_s3_url
from mediatasks.domain.tasks import (
    CompanionFile,
    MediaFile,
    OutputNaming,
    Status,
    StoredObject,
    Task,
    TaskErrorInfo,
    can_move,
    new_id,
)
from mediatasks.kinds.base import Output
from mediatasks.kinds.registry import COMPOSITE_KINDS, kind_of
from mediatasks.service.file_records import makes_a_file, pending_record
from mediatasks.service.listing import Listing, list_page

logger = Logger(child=True)
OUTPUT_LINK_SECONDS = 3600


@dataclass(frozen=True)
class FileJoin:
    """For a task that makes a file on request (POST /files): the media its file joins, and the
    file's own metadata."""

    media_id: str | None = None
    original: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskService:
    settings: Settings
    store: TaskStore
    storage: Storage
    workflow: Workflow
    files: FileStore
    cursor_key: Callable[[], bytes]

    @classmethod
    def from_settings(cls, settings: Settings) -> TaskService:
        if not settings.state_machine_arn:
            raise RuntimeError("making tasks needs the state machine ARN in the environment")
        return cls(
            settings,
            TaskStore(settings.tasks_table),
            Storage(),
            Workflow(settings.state_machine_arn),
            FileStore(settings.files_table),
            CursorKey(settings.cursor_secret_arn),
        )

    def _input_of(self, project_id: str, request: TaskRequest) -> tuple[str, str | None]:
        """The input's URL and the id of the stored file it is, if it is one: `file_id`, a media's
        original, or an earlier task's File object naming a file the project stored; else the URL."""
        if request.media_id is not None:
            return self._original_of(project_id, request.media_id)
        if request.file_id is None and request.input_file_ref is not None:
            stored = self.files.get(project_id, request.input_file_ref)
            if stored is not None and stored.location is not None:
                return _s3_url(stored.location), stored.id
        if request.file_id is None:
            return str(request.input), None
        file = self.files.get(project_id, request.file_id)
        if file is None or file.location is None:
            raise RequestRejected(ErrorKind.invalid_input, f"no file with id {request.file_id!r}", "file_id")
        return _s3_url(file.location), file.id

    def _original_of(self, project_id: str, media_id: str) -> tuple[str, str]:
        if self.media.get(project_id, media_id) is None:
            raise RequestRejected(ErrorKind.invalid_input, f"no media with id {media_id!r}", "media_id")
        for record in self.files.of_media(media_id):
            if record.original and record.file is not None and record.file.location is not None:
                return _s3_url(record.file.location), record.id
        raise RequestRejected(
            ErrorKind.invalid_input, "the media has no stored original file yet", "media_id"
        )

    @property
    def media(self) -> MediaStore:
        return MediaStore("", self.files.table)

    def _media_for(
        self, project_id: str, request: TaskRequest, input_file_id: str | None
    ) -> tuple[str, bool]:
        """The media the task's output joins and whether it is that media's original: the media of
        the stored input, the media named, or a new media for a new input (an ingest's output is
        its original)."""
        if request.media_id is not None:
            return request.media_id, False
        if input_file_id is not None:
            record = self.files.record(project_id, input_file_id)
            if record is not None:
                return record.media_id, False
        media = MediaRecord(project_id=project_id)
        self.media.create(media)
        return media.id, kind_of(request.kind).output == Output.stored_input

    def _check_sources(self, project_id: str, request: TaskRequest, input_url: str) -> None:
        if urlsplit(input_url).scheme == "s3":
            if not self.settings.input_buckets().allows(input_url, project_id):
                raise RequestRejected(
                    ErrorKind.invalid_input, "that s3 bucket is not an allowed input bucket", "input"
                )
        elif not self._public(input_url):
            raise RequestRejected(ErrorKind.invalid_input, "input must point at a public address", "input")
        if request.webhook_url is not None:
            self._check_webhook(request.webhook_url)
        if request.destination is not None:
            bucket, key = parse_s3_url(request.destination)
            areas = self.settings.allowed_output_buckets
            if not areas.allows(bucket, key, project_id):
                where = areas.where(project_id)
                message = f"s3://{bucket}/{key} is outside the places this project may write ({where})"
                raise RequestRejected(ErrorKind.invalid_option, message, request.destination_field)

    def _check_webhook(self, url: str) -> None:
        """https to a public address; plain http only to loopback, and only with the local flag
        (names are checked after DNS resolution on every delivery)."""
        if not self._public(url):
            raise RequestRejected(
                ErrorKind.invalid_option, "webhook_url must point at a public address", "webhook_url"
            )
        host = urlsplit(url).hostname or ""
        address = literal_address(host)
        loopback = host == "localhost" or (address is not None and address.is_loopback)
        if urlsplit(url).scheme != "https" and not (self.settings.allow_loopback_inputs and loopback):
            raise RequestRejected(
                ErrorKind.invalid_option, "webhook_url must be an https:// URL with a host", "webhook_url"
            )

    def _public(self, url: str) -> bool:
        """False when the URL names a non-public address literally (names are checked when fetched)."""
        address = literal_address(urlsplit(url).hostname or "")
        return address is None or is_allowed_address(
            address, allow_loopback=self.settings.allow_loopback_inputs
        )

    def create(
        self,
        project_id: str,
        request: TaskRequest,
        api_version: str = "latest",
        *,
        joins: FileJoin | None = None,
    ) -> Task:
        """Starts a task. Its output file is written at once (waiting), as a file of the input's
        media, the media `joins` names, or a new one; `joins` also carries the file's metadata."""
        if request.kind in COMPOSITE_KINDS:
            raise RequestRejected(
                ErrorKind.kind_unsupported,
                "this deployment validates workflows but cannot run them yet: create each step as a task",
                "kind",
            )
        input_url, input_file_id = self._input_of(project_id, request)
        self._check_sources(project_id, request, input_url)
        media_id, original = None, False  # a task that stores nothing (a probe) joins no media
        if joins is not None and joins.media_id is not None:
            media_id, original = joins.media_id, joins.original
        elif makes_a_file(request.kind):
            media_id, original = self._media_for(project_id, request, input_file_id)
        task = Task.create(
            project_id=project_id,
            kind=request.kind,
            steps=kind_of(request.kind).steps,
            input_url=input_url,
            input_file_id=input_file_id,
            options=request.options.model_dump(mode="json"),
            destination=request.destination,
            metadata=request.metadata,
            naming=OutputNaming(filename=request.filename, folder=request.folder, ref=request.ref),
            webhook_url=request.webhook_url,
            api_version=api_version,
            media_id=media_id,
            output_file_id=new_id("file") if media_id is not None else None,
        )
        self.store.create(task)
        if task.output_file_id is not None:
            metadata = joins.metadata if joins is not None else {}
            self.files.create(pending_record(task, original=original, metadata=metadata))
        try:
            self.workflow.start(str(task.run_id), task.id, task.kind)
        except Exception:
            # The task is stored: answering an error now would make the caller's retry a second
            # task. It stays `waiting`, and the sweep (service/reconcile.py) starts it or fails it.
            logger.exception(
                "could not start the task's execution; the sweep will", extra={"task_id": task.id}
            )
        return task

    def get(self, project_id: str, task_id: str) -> Task:
        """The project's task; another project's task is not found, exactly like a missing one."""
        task = self.store.get(task_id) if task_id.startswith("task_") else None
        if task is None or task.project_id != project_id:
            raise RequestRejected(ErrorKind.task_not_found, f"no task with id {task_id!r}")
        return task

    def list(self, project_id: str, query: ListQuery) -> TaskList:
        """GET /tasks (seed 004's list object), with cursor links."""
        listing = list_page(self.store, project_id, query, self.cursor_key)
        total = self.store.count(project_id, query)
        return TaskList(
            data=[self.present(_listed(task)) for task in listing.items],
            total=total,
            page=listing.page,
            pages=page_count(total, query.limit),
            limit=query.limit,
            links=list_links("/tasks", query, listing),
        )

    def cancel(self, project_id: str, task_id: str) -> Task:
        task = self.get(project_id, task_id)
        if not can_move(task.status, Status.cancelled):
            raise RequestRejected(ErrorKind.task_not_cancellable, f"the task has already {task.status.value}")
        try:
            cancelled = self.store.cancel(task)
        except TaskNotActive:  # it ended between the read and the write
            ended = (self.store.get(task_id) or task).status.value
            raise RequestRejected(ErrorKind.task_not_cancellable, f"the task has already {ended}") from None
        try:
            self.workflow.stop(str(task.run_id or task.id))
        except Exception:
            # The task is already cancelled: every later step write is refused and nothing is
            # published, so an execution that could not be stopped only runs to a refused write.
            logger.exception("could not stop the execution of a cancelled task", extra={"task_id": task_id})
        return cancelled

    def present(self, task: Task) -> TaskView:
        """The task as the API shows it: steps in the order they run, files with fetchable urls,
        and no storage location of ours."""
        output = None if task.output is None else self._file_view(task.output, task)
        return TaskView(
            id=task.id,
            kind=task.kind,
            input=task.input_file_id or task.input,
            options=task.options,
            output=output,
            metadata=task.metadata,
            status=task.status,
            progress=task.progress,
            error=_error_view(task.error),
            steps=[
                StepView.model_validate(step.model_dump() | {"error": _error_view(step.error)})
                for step in task.ordered_steps()
            ],
            webhook_url=task.webhook_url,
            **task.naming.model_dump(),
            inputs=[] if task.source is None else [self._file_view(task.source, task)],
            outputs=[] if output is None else [output],
            run_id=task.run_id,
            media_id=task.media_id,
            created_at=task.created_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
            updated_at=task.updated_at,
        )

    def _file_view(self, file: MediaFile, task: Task) -> FileView:
        """A File object as shown: fetchable urls instead of storage locations. A file we hold no
        copy of (a probe's description of the input) is where the caller said it is."""
        if file.location is None:
            return FileView(**file.model_dump(exclude=_STORAGE_FIELDS), url=self._input_link(task))
        return self.stored_file_view(file, file.location)

    def stored_file_view(self, file: MediaFile, location: StoredObject) -> FileView:
        """A stored File object as shown: a fetchable url, and one for each HLS rendition."""
        fields = file.model_dump(exclude=_STORAGE_FIELDS)
        renditions = None
        if file.renditions is not None:
            folder = location.key.rsplit("/", 1)[0]
            renditions = [
                RenditionView(
                    **rendition.model_dump(),
                    url=self.link(location.model_copy(update={"key": f"{folder}/{rendition.playlist}"})),
                )
                for rendition in file.renditions
            ]
        return FileView(
            **fields,
            url=self.link(location),
            renditions=renditions,
            files=self._companion_views(location, file.companions),
        )

    def _companion_views(
        self, location: StoredObject, companions: Sequence[CompanionFile] | None
    ) -> builtins.list[CompanionView] | None:  # `list` here is the method below
        """A track's companion files, each with its own link (they are stored beside it)."""
        if companions is None:
            return None
        folder = location.key.rsplit("/", 1)[0]
        return [
            CompanionView(
                **companion.model_dump(),
                url=self.link(location.model_copy(update={"key": f"{folder}/{companion.filename}"})),
            )
            for companion in companions
        ]

    def _input_link(self, task: Task) -> str:
        """Where the caller can fetch the task's input: the URL it gave, or a link to the stored file."""
        if not task.input.startswith("s3://"):
            return task.input
        bucket, key = parse_s3_url(task.input)
        return self.link(StoredObject(bucket=bucket, key=key))

    def link(self, location: StoredObject) -> str:
        """A presigned https link into managed storage; an s3:// URL into the caller's own bucket."""
        if location.bucket == self.settings.media_bucket:
            return self.storage.presigned_url(location, OUTPUT_LINK_SECONDS)
        return f"s3://{location.bucket}/{location.key}"


# A MediaFile's fields that say where its objects are stored: a FileView shows links instead.
_STORAGE_FIELDS = {"location", "renditions", "companions"}


def _listed(task: Task) -> Task:
    """A task as a listing shows it: its output without its data (a page of transcripts would be
    megabytes, over Lambda's response limit); GET /tasks/{id} and the output file have it."""
    if task.output is None or task.output.data is None:
        return task
    return task.model_copy(update={"output": task.output.model_copy(update={"data": None})})


def list_links(route: str, query: PageQuery, listing: Listing[Any]) -> ListLinks:
    """A listing's links: this page (by number, or the cursor it was asked by), and the pages
    beside it by cursor."""
    params = query.link_params()

    def href(position: dict[str, str]) -> str:
        return f"{route}?" + urlencode(params | position)

    here = {"cursor": query.cursor} if query.cursor else {"page": str(listing.page)}
    return ListLinks(
        self=href(here),
        next=href({"cursor": listing.next_cursor}) if listing.next_cursor else None,
        prev=href({"cursor": listing.prev_cursor}) if listing.prev_cursor else None,
    )


def _s3_url(location: StoredObject) -> str:
    return f"s3://{location.bucket}/{location.key}"


def _error_view(error: TaskErrorInfo | None) -> TaskError | None:
    return None if error is None else TaskError(kind=error.kind, message=error.message)
