"""Creating, reading and presenting tasks for the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from aws_lambda_powertools import Logger

from mediatasks.adapters.files import FileStore
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskNotActive, TaskStore
from mediatasks.adapters.workflow import Workflow
from mediatasks.config import Settings
from mediatasks.domain.addresses import is_allowed_address, literal_address
from mediatasks.domain.errors import ApiError
from mediatasks.domain.listing import Cursor, ListQuery, index_key, page_count
from mediatasks.domain.requests import CreateTaskRequest, ExportTaskRequest, parse_s3_url
from mediatasks.domain.tasks import (
    MediaFile,
    OutputNaming,
    Status,
    StoredObject,
    Task,
    TaskErrorInfo,
    can_move,
)

logger = Logger(child=True)
OUTPUT_LINK_SECONDS = 3600


@dataclass(frozen=True)
class TaskService:
    settings: Settings
    store: TaskStore
    storage: Storage
    workflow: Workflow
    files: FileStore

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
        )

    def _input_of(self, project_id: str, request: CreateTaskRequest) -> str:
        """The input's URL: as given, or where the project's file `file_id` is stored."""
        if request.file_id is None:
            return str(request.input)
        file = self.files.get(project_id, request.file_id)
        if file is None or file.location is None:
            raise ApiError(400, "invalid_input", f"no file with id {request.file_id!r}", "file_id")
        return f"s3://{file.location.bucket}/{file.location.key}"

    def _check_sources(self, project_id: str, request: CreateTaskRequest, input_url: str) -> None:
        if urlsplit(input_url).scheme == "s3":
            if not self.settings.input_buckets().allows(input_url, project_id):
                raise ApiError(400, "invalid_input", "that s3 bucket is not an allowed input bucket", "input")
        elif not self._public(input_url):
            raise ApiError(400, "invalid_input", "input must point at a public address", "input")
        if request.webhook_url is not None and not self._public(request.webhook_url):
            raise ApiError(400, "invalid_option", "webhook_url must point at a public address", "webhook_url")
        destination, field = _destination(request)
        if destination is not None:
            bucket, key = parse_s3_url(destination)
            areas = self.settings.allowed_output_buckets
            if not areas.allows(bucket, key, project_id):
                where = areas.where(project_id)
                message = f"s3://{bucket}/{key} is outside the places this project may write ({where})"
                raise ApiError(400, "invalid_option", message, field)

    def _public(self, url: str) -> bool:
        """False when the URL names a non-public address literally (names are checked when fetched)."""
        address = literal_address(urlsplit(url).hostname or "")
        return address is None or is_allowed_address(
            address, allow_loopback=self.settings.allow_loopback_inputs
        )

    def create(self, project_id: str, request: CreateTaskRequest) -> Task:
        input_url = self._input_of(project_id, request)
        self._check_sources(project_id, request, input_url)
        task = Task.create(
            project_id=project_id,
            kind=request.kind,
            input_url=input_url,
            options=request.options.model_dump(mode="json"),
            destination=_destination(request)[0],
            metadata=request.metadata,
            naming=OutputNaming(filename=request.filename, folder=request.folder, ref=request.ref),
            webhook_url=request.webhook_url,
        )
        self.store.create(task)
        try:
            self.workflow.start(task.id, task.kind)
        except Exception:
            logger.exception("could not start the task's execution", extra={"task_id": task.id})
            self.store.fail(
                task.id, TaskErrorInfo(kind="internal_error", message="the task could not be started"), None
            )
            raise
        return task

    def get(self, project_id: str, task_id: str) -> Task:
        """The project's task; another project's task is not found, exactly like a missing one."""
        task = self.store.get(task_id) if task_id.startswith("task_") else None
        if task is None or task.project_id != project_id:
            raise ApiError(404, "task_not_found", f"no task with id {task_id!r}")
        return task

    def list(self, project_id: str, query: ListQuery) -> dict[str, Any]:
        """GET /tasks (seed 004's list object), with cursor links."""
        listing = list_tasks(self.store, project_id, query)
        params = query.link_params()

        def href(position: dict[str, str]) -> str:
            return "/tasks?" + urlencode(params | position)

        here = {"cursor": query.cursor} if query.cursor else {"page": str(listing.page)}
        return {
            "object": "list",
            "data": [self.present(task) for task in listing.tasks],
            "total": listing.total,
            "page": listing.page,
            "pages": page_count(listing.total, query.limit),
            "limit": query.limit,
            "links": {
                "self": href(here),
                "next": href({"cursor": listing.next_cursor}) if listing.next_cursor else None,
                "prev": href({"cursor": listing.prev_cursor}) if listing.prev_cursor else None,
            },
        }

    def cancel(self, project_id: str, task_id: str) -> Task:
        task = self.get(project_id, task_id)
        if not can_move(task.status, Status.cancelled):
            raise ApiError(409, "task_not_cancellable", f"the task has already {task.status.value}")
        try:
            cancelled = self.store.cancel(task)
        except TaskNotActive:  # it ended between the read and the write
            ended = (self.store.get(task_id) or task).status.value
            raise ApiError(409, "task_not_cancellable", f"the task has already {ended}") from None
        try:
            self.workflow.stop(task_id)
        except Exception:
            # The task is already cancelled: every later step write is refused and nothing is
            # published, so an execution that could not be stopped only runs to a refused write.
            logger.exception("could not stop the execution of a cancelled task", extra={"task_id": task_id})
        return cancelled

    def present(self, task: Task) -> dict[str, Any]:
        """The task as the API shows it: steps in pipeline order, output with a fetchable url."""
        body = task.model_dump(
            mode="json", exclude={"project_id", "destination", "naming", "steps", "output"}
        )
        body |= task.naming.model_dump(exclude_none=True)
        body["steps"] = [step.model_dump(mode="json") for step in task.ordered_steps()]
        body["output"] = None if task.output is None else self._file_view(task.output, task.input)
        return body

    def _file_view(self, file: MediaFile, task_input: str) -> dict[str, Any]:
        """A File object as shown: fetchable urls instead of storage locations."""
        view = file.model_dump(mode="json", exclude={"location", "renditions"})
        if file.location is None:  # a probe wrote nothing: its File describes the input, where it is
            return view | {"url": task_input}
        view["url"] = self._link(file.location)
        if file.renditions is not None:
            folder = file.location.key.rsplit("/", 1)[0]
            view["renditions"] = [
                rendition.model_dump()
                | {
                    "url": self._link(
                        file.location.model_copy(update={"key": f"{folder}/{rendition.playlist}"})
                    )
                }
                for rendition in file.renditions
            ]
        return view

    def _link(self, location: StoredObject) -> str:
        """A presigned https link into managed storage; an s3:// URL into the caller's own bucket."""
        if location.bucket == self.settings.media_bucket:
            return self.storage.presigned_url(location, OUTPUT_LINK_SECONDS)
        return f"s3://{location.bucket}/{location.key}"


def _destination(request: CreateTaskRequest) -> tuple[str | None, str]:
    """Where the result goes instead of managed storage, and the request field that said so."""
    if isinstance(request, ExportTaskRequest):
        return request.destination, "options.url"
    return request.output, "output"


@dataclass(frozen=True)
class Listing:
    """One page of a project's tasks, with links to the pages beside it."""

    tasks: list[Task]
    query: ListQuery
    page: int
    total: int
    next_cursor: str | None
    prev_cursor: str | None


def list_tasks(store: TaskStore, project_id: str, query: ListQuery) -> Listing:
    if query.cursor:
        cursor = Cursor.decode(query.cursor, query, project_id)
        page, total = cursor.page, cursor.total
        tasks, more = store.page(project_id, query, cursor.key, backwards=cursor.direction == "prev")
        if cursor.direction == "prev":
            tasks.reverse()
            has_next, has_prev = True, more
        else:
            has_next, has_prev = more, page > 1
    else:
        # Asking for page k by number walks the k - 1 pages before it; the links never do.
        page, total, after = query.page, store.count(project_id, query), None
        for _ in range(page - 1):
            skipped, more = store.page(project_id, query, after)
            if not more:
                return Listing([], query, page, total, None, None)
            after = index_key(skipped[-1].model_dump(), query.sort)
        tasks, has_next = store.page(project_id, query, after)
        has_prev = page > 1

    def link(direction: Literal["next", "prev"], anchor: Task, to_page: int) -> str:
        key = index_key(anchor.model_dump(), query.sort)
        return Cursor(
            key=key, direction=direction, page=to_page, total=total, query=query.fingerprint()
        ).encode()

    return Listing(
        tasks=tasks,
        query=query,
        page=page,
        total=total,
        next_cursor=link("next", tasks[-1], page + 1) if tasks and has_next else None,
        prev_cursor=link("prev", tasks[0], page - 1) if tasks and has_prev else None,
    )
