"""Creating, reading and presenting tasks for the API."""

from __future__ import annotations

import builtins
import time
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
from mediatasks.domain.playback import PlaybackGrant, playback_url, sign_playback
from mediatasks.domain.requests import TaskRequest, parse_s3_url
from mediatasks.domain.tasks import (
    HTTP,
    TERMINAL_STATUSES,
    WORKFLOW,
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
from mediatasks.kinds.registry import kind_of
from mediatasks.kinds.workflow import WorkflowTaskRequest
from mediatasks.service.file_records import makes_a_file, pending_record
from mediatasks.service.listing import Listing, list_page

logger = Logger(child=True)
OUTPUT_LINK_SECONDS = 3600


@dataclass(frozen=True)
class Maker:
    """The task that made a stored file, and its project: what a playback URL is signed for."""

    project_id: str
    task_id: str


@dataclass(frozen=True)
class FileJoin:
    """For a task that makes a file on request (POST /files): the media its file joins, and the
    file's own metadata."""

    media_id: str | None = None
    original: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkflowStepOf:
    """A task made as a workflow's step: its parent, and the step (with its path) it runs."""

    parent_id: str
    step: dict[str, Any]


@dataclass(frozen=True)
class TaskService:
    settings: Settings
    store: TaskStore
    storage: Storage
    workflow: Workflow
    files: FileStore
    cursor_key: Callable[[], bytes]
    # The API's base URL as the caller reached it: an HLS output is then shown with playback URLs
    # (served by the API, signed); without it (a webhook's body) with presigned links to its
    # playlists, which a player cannot follow to the segments (README, "Known limits").
    playback_base_url: str | None = None
    # the workflow state machine's executions (service/workflows.py runs them)
    workflows: Workflow | None = None

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
            workflows=Workflow(settings.workflow_state_machine_arn)
            if settings.workflow_state_machine_arn
            else None,
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
    ) -> tuple[str, bool, MediaRecord | None]:
        """The media the task's output joins, whether it is that media's original, and the media
        to make with the task when it is new: the media of the stored input, the media named, or a
        new media for a new input (an ingest's output is its original)."""
        if request.media_id is not None:
            return request.media_id, False, None
        if input_file_id is not None:
            record = self.files.record(project_id, input_file_id)
            if record is not None:
                return record.media_id, False, None
        media = MediaRecord(project_id=project_id)
        made_from_input = not isinstance(request, WorkflowTaskRequest)  # a workflow's steps make new files
        return media.id, made_from_input and kind_of(request.kind).output == Output.stored_input, media

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
        step_of: WorkflowStepOf | None = None,
    ) -> Task:
        """Starts a task. Its output file is written at once (waiting), as a file of the input's
        media, the media `joins` names, or a new one; `joins` also carries the file's metadata.
        A workflow's step (`step_of`) is only stored: the workflow's execution starts it."""
        if isinstance(request, WorkflowTaskRequest):
            return self._create_workflow(project_id, request, api_version)
        input_url, input_file_id = self._input_of(project_id, request)
        self._check_sources(project_id, request, input_url)
        # a task that stores nothing (a probe) joins no media
        media_id, original, new_media = None, False, None
        if joins is not None and joins.media_id is not None:
            media_id, original = joins.media_id, joins.original
        elif makes_a_file(request.kind):
            media_id, original, new_media = self._media_for(project_id, request, input_file_id)
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
            parent_id=step_of.parent_id if step_of is not None else None,
            workflow_step=step_of.step if step_of is not None else None,
        )
        # the task, its waiting output file and a new media: one transaction, so a failure between
        # them leaves no half-made task (and one create costs one write and one start)
        together = [self.media.creation(new_media)] if new_media is not None else []
        if task.output_file_id is not None:
            metadata = joins.metadata if joins is not None else {}
            together.append(self.files.creation(pending_record(task, original=original, metadata=metadata)))
        self.store.create(task, together_with=together)
        if step_of is not None:
            return task
        try:
            self.workflow.start(str(task.run_id), task.id, task.kind)
        except Exception:
            # The task is stored: answering an error now would make the caller's retry a second
            # task. It stays `waiting`, and the sweep (service/reconcile.py) starts it or fails it.
            logger.exception(
                "could not start the task's execution; the sweep will", extra={"task_id": task.id}
            )
        return task

    def _create_workflow(self, project_id: str, request: WorkflowTaskRequest, api_version: str) -> Task:
        """A workflow task: the parent of one child task per step, made as each step starts. The
        children's outputs join the input's media (a new one for a new input)."""
        input_url, input_file_id = self._input_of(project_id, request)
        self._check_sources(project_id, request, input_url)
        workflow = [step.model_dump(mode="json", exclude_none=True) for step in request.workflow]
        self._check_http_steps(workflow)
        media_id, _, new_media = self._media_for(project_id, request, input_file_id)
        task = Task.create(
            project_id=project_id,
            kind=request.kind,
            steps=(),
            input_url=input_url,
            input_file_id=input_file_id,
            options={},
            destination=None,
            metadata=request.metadata,
            naming=OutputNaming(ref=request.ref),
            webhook_url=request.webhook_url,
            api_version=api_version,
            media_id=media_id,
            workflow=workflow,
        )
        self.store.create(task, together_with=[self.media.creation(new_media)] if new_media else [])
        try:
            self._workflows().start(str(task.run_id), task.id, task.kind)
        except Exception:
            # as for any task: stored, so answered; the sweep starts it or fails it
            logger.exception(
                "could not start the workflow's execution; the sweep will", extra={"task_id": task.id}
            )
        return task

    def _workflows(self) -> Workflow:
        if self.workflows is None:
            raise RuntimeError("running workflows needs the workflow state machine ARN in the environment")
        return self.workflows

    def _check_http_steps(self, steps: Sequence[dict[str, Any]], path: str = "workflow") -> None:
        """An http step's url must name a public address (loopback only with the local flag;
        names are checked after DNS on every delivery)."""
        for position, step in enumerate(steps):
            where = f"{path}[{position}]"
            if step["kind"] == HTTP and not self._public(step["options"]["url"]):
                message = f"{where}.url must point at a public address"
                raise RequestRejected(ErrorKind.invalid_option, message, f"{where}.url")
            self._check_http_steps(step.get("next", []), f"{where}.next")

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
        if task.kind == WORKFLOW:
            # every running step ends with it, cancelled and stopped here whatever Step Functions
            # does with a stopped execution's nested ones; no new step starts (service/workflows.py).
            # The steps are cancelled before the workflow's execution is stopped: stopping it may
            # abort the nested executions, and a step whose execution ended while its record was
            # still running would be reaped as failed, not cancelled.
            for child in self.store.children(project_id, task.id):
                if child.status in TERMINAL_STATUSES:
                    continue
                try:
                    self.store.cancel(child)
                except TaskNotActive:
                    continue
                self._stop(child)
        self._stop(task)
        return cancelled

    def _stop(self, task: Task) -> None:
        executions = self._workflows() if task.kind == WORKFLOW else self.workflow
        try:
            executions.stop(str(task.run_id or task.id))
        except Exception:
            # The task is already cancelled: every later step write is refused and nothing is
            # published, so an execution that could not be stopped only runs to a refused write.
            logger.exception("could not stop the execution of a cancelled task", extra={"task_id": task.id})

    def present(self, task: Task) -> TaskView:
        """The task as the API shows it: steps in the order they run, files with fetchable urls,
        and no storage location of ours."""
        output = None if task.output is None else self._file_view(task.output, task)
        outputs = [] if output is None else [output]
        by_ref = None
        if task.outputs_by_ref is not None:
            by_ref = {ref: self._file_view(file, task) for ref, file in task.outputs_by_ref.items()}
            outputs = list(by_ref.values())
        return TaskView(
            id=task.id,
            kind=task.kind,
            input=task.input_file_id or task.input,
            options=task.options,
            output=by_ref if by_ref is not None else task.answer if task.answer is not None else output,
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
            outputs=outputs,
            run_id=task.run_id,
            media_id=task.media_id,
            parent_id=task.parent_id,
            workflow=task.workflow,
            results=task.results,
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
        return self.stored_file_view(file, file.location, Maker(task.project_id, task.id))

    def stored_file_view(self, file: MediaFile, location: StoredObject, maker: Maker | None) -> FileView:
        """A stored File object as shown: a fetchable url, and one for each HLS rendition (playback
        URLs when the task that made the stream or track is known and the API's address too)."""
        fields = file.model_dump(exclude=_STORAGE_FIELDS)
        url, renditions = self.link(location), None
        if file.companions is not None:
            # a thumbnails track: served by playback, its sprites named by links a player can follow
            url = self._playlist_link(location, maker)(location.key.rsplit("/", 1)[1])
        if file.renditions is not None:
            master = location.key.rsplit("/", 1)[1]
            playlist_link = self._playlist_link(location, maker)
            url = playlist_link(master)
            renditions = [
                RenditionView(**rendition.model_dump(), url=playlist_link(rendition.playlist))
                for rendition in file.renditions
            ]
        return FileView(
            **fields, url=url, renditions=renditions, files=self._companion_views(location, file.companions)
        )

    def _playlist_link(self, location: StoredObject, maker: Maker | None) -> Callable[[str], str]:
        """How an HLS output's playlists (or a thumbnails track) are linked: by signed playback URLs
        into the API, which serves them rewritten (domain/playback.py), when it can; else by
        presigned links."""
        folder = location.key.rsplit("/", 1)[0]
        if maker is None or self.playback_base_url is None or location.bucket != self.settings.media_bucket:
            return lambda path: self.link(location.model_copy(update={"key": f"{folder}/{path}"}))
        expiry = int(time.time()) + OUTPUT_LINK_SECONDS
        base_url, secret = self.playback_base_url, self.cursor_key()

        def signed(path: str) -> str:
            grant = PlaybackGrant(project=maker.project_id, task_id=maker.task_id, path=path, expiry=expiry)
            return playback_url(base_url, grant, sign_playback(secret, grant))

        return signed

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
