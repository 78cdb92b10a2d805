"""Creating, reading and presenting tasks for the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.workflow import Workflow
from mediatasks.config import Settings
from mediatasks.domain.addresses import is_allowed_address, literal_address
from mediatasks.domain.errors import ApiError
from mediatasks.domain.requests import CreateTaskRequest, parse_s3_url
from mediatasks.domain.tasks import PIPELINE_STEPS, Task, TaskErrorInfo

logger = Logger(child=True)
OUTPUT_LINK_SECONDS = 3600


@dataclass(frozen=True)
class TaskService:
    settings: Settings
    store: TaskStore
    storage: Storage
    workflow: Workflow

    def _check_sources(self, request: CreateTaskRequest) -> None:
        parts = urlsplit(request.input)
        if parts.scheme == "s3":
            bucket, _ = parse_s3_url(request.input)
            if bucket not in self.settings.allowed_input_buckets:
                raise ApiError(
                    400, "invalid_input", f"bucket {bucket!r} is not an allowed input bucket", "input"
                )
        else:
            address = literal_address(parts.hostname or "")
            if address is not None and not is_allowed_address(
                address, allow_loopback=self.settings.allow_loopback_inputs
            ):
                raise ApiError(400, "invalid_input", "input must point at a public address", "input")
        if request.output is not None:
            bucket, _ = parse_s3_url(request.output)
            if bucket not in self.settings.allowed_output_buckets:
                raise ApiError(
                    400, "invalid_option", f"bucket {bucket!r} is not an allowed output bucket", "output"
                )

    def create(self, project_id: str, request: CreateTaskRequest) -> Task:
        self._check_sources(request)
        task = Task.create(
            project_id=project_id,
            kind=request.kind,
            input_url=request.input,
            options=request.options.model_dump(mode="json"),
            destination=request.output,
            metadata=request.metadata,
        )
        self.store.create(task)
        try:
            self.workflow.start(task.id)
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

    def present(self, task: Task) -> dict[str, Any]:
        """The task as the API shows it: steps in pipeline order, output with a fetchable url."""
        body = task.model_dump(mode="json", exclude={"project_id", "destination", "steps", "output"})
        body["steps"] = [task.steps[name].model_dump(mode="json") for name in PIPELINE_STEPS]
        body["output"] = None
        if task.output is not None and task.output.location is not None:
            location = task.output.location
            output = task.output.model_dump(mode="json", exclude={"location"})
            if location.bucket == self.settings.media_bucket:
                output["url"] = self.storage.presigned_url(location, OUTPUT_LINK_SECONDS)
            else:
                output["url"] = f"s3://{location.bucket}/{location.key}"
            body["output"] = output
        return body
