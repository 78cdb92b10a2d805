"""Running a workflow task: the Lambda side of the workflow state machine
(infra/mediatasks_infra/workflows.py), which does the running itself -- a Map over the steps, each
step's child task a nested execution of the task state machine, `next` on its output.

Each step's child task is made when the step starts, on the input it then has (the workflow's
input, or the output of the step before it): a child exists only once it can run, so a branch cut
short (a failed step, a conditions step that did not pass) leaves no task waiting forever and
nothing for the sweep to start."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger

from mediatasks.adapters.fetch import BlockedAddress, FetchPolicy, post_reading
from mediatasks.adapters.store import TaskNotActive, TaskStore
from mediatasks.adapters.webhooks import SecretStore
from mediatasks.contract.webhooks import SIGNATURE_HEADER, signature_header
from mediatasks.domain.conditions import CONDITIONS
from mediatasks.domain.errors import InputUnreachable, ReceiverRefused
from mediatasks.domain.tasks import (
    HTTP,
    TERMINAL_STATUSES,
    HttpAnswer,
    MediaFile,
    Status,
    Task,
    TaskErrorInfo,
    now_ms,
)
from mediatasks.kinds.registry import kind_of, parse_request
from mediatasks.service.pipeline import failure_from_catch
from mediatasks.service.tasks import FileJoin, Maker, TaskService, WorkflowStepOf

logger = Logger(child=True)
# A conditions step reads its input's File object: its child runs the probe kind's steps.
CONDITIONS_EXECUTION_KIND = "probe"
# An http step's receiver: 5 s to accept the connection, 10 to answer; the start of its answer is kept.
HTTP_STEP_POLICY = FetchPolicy(connect_timeout=5.0, read_timeout=10.0, max_redirects=0)
MAX_EXCERPT_BYTES = 2048
WORKFLOW_EVENT = "workflow.step"
NOT_RUN = "the step's execution did not run to its end"


def execution_kind(task: Task) -> str:
    """The kind the task state machine runs a task as (its choices branch on it)."""
    return CONDITIONS_EXECUTION_KIND if task.kind == CONDITIONS else task.kind


@dataclass(frozen=True)
class WorkflowRunner:
    tasks: TaskService
    secrets: SecretStore | None = None

    @property
    def store(self) -> TaskStore:
        return self.tasks.store

    # -- the states of the workflow machine

    def plan(self, parent_id: str) -> dict[str, Any]:
        """The workflow starts: its top-level steps, as the Map's items (none once it has ended)."""
        try:
            parent = self.store.start_task(parent_id)
        except TaskNotActive:
            return {"items": []}  # cancelled before its execution began
        start = {"file_id": parent.input_file_id} if parent.input_file_id else {"url": parent.input}
        return {"items": _items(parent.id, parent.workflow or [], "workflow", start)}

    def start_step(self, item: dict[str, Any]) -> dict[str, Any]:
        """Makes the step's child task; what the machine runs it with."""
        parent = self._parent(item["parent_id"])
        if parent.status in TERMINAL_STATUSES:
            return {"runs": "nothing"}  # cancelled: no new child
        step = item["step"]
        of = WorkflowStepOf(parent.id, {"path": item["path"], "kind": step["kind"], "ref": step.get("ref")})
        given = item["input"]
        if step["kind"] in (CONDITIONS, HTTP):
            child = self._utility_child(parent, step, given, of)
        else:
            request = parse_request(
                {"kind": step["kind"], **given, "options": step.get("options", {}), "ref": step.get("ref")}
            )
            joins = FileJoin(media_id=parent.media_id) if "url" in given else None
            child = self.tasks.create(parent.project_id, request, parent.api_version, joins=joins, step_of=of)
        if self._parent(parent.id).status in TERMINAL_STATUSES:  # cancelled while the child was made
            with suppress(TaskNotActive):
                self.store.cancel(child)
            return {"runs": "nothing"}
        runs = "http" if step["kind"] == HTTP else "task"
        return {"runs": runs, "task_id": child.id, "run_id": child.run_id, "kind": execution_kind(child)}

    def _utility_child(
        self, parent: Task, step: dict[str, Any], given: dict[str, str], of: WorkflowStepOf
    ) -> Task:
        """A conditions step (the probe's steps, then its verdict) or an http step (one POST), on
        the step's input."""
        input_url, input_file_id = given.get("url", ""), given.get("file_id")
        if input_file_id is not None:
            stored = self.tasks.files.get(parent.project_id, input_file_id)
            if stored is None or stored.location is None:
                raise ValueError(f"the workflow's file {input_file_id} is gone")
            input_url = f"s3://{stored.location.bucket}/{stored.location.key}"
        options = {"conditions": step["conditions"]} if step["kind"] == CONDITIONS else step["options"]
        child = Task.create(
            project_id=parent.project_id,
            kind=step["kind"],
            steps=kind_of(CONDITIONS_EXECUTION_KIND).steps if step["kind"] == CONDITIONS else (),
            input_url=input_url,
            input_file_id=input_file_id,
            options=options,
            destination=None,
            metadata={},
            api_version=parent.api_version,
            parent_id=parent.id,
            workflow_step=of.step,
        )
        self.store.create(child)
        return child

    def step_ended(
        self, item: dict[str, Any], child_id: str | None, failure: dict[str, Any] | None
    ) -> dict[str, Any]:
        """After a step's child ran (or its run failed): the child is ended if its run could not
        end it, the parent's progress moves, and its `next` steps are the next Map's items when
        it succeeded (a conditions step: when every condition passed)."""
        if child_id is None:
            return {"items": []}
        child = self.store.get(child_id)
        if child is None:
            return {"items": []}
        if child.status not in TERMINAL_STATUSES:
            error = (
                failure_from_catch(failure)
                if failure
                else TaskErrorInfo(kind="internal_error", message=NOT_RUN)
            )
            with suppress(TaskNotActive):  # it ended meanwhile
                self.store.fail(child.id, error, child.running_step())
            child = self.store.get(child_id) or child
        self._progress(child.parent_id or item["parent_id"])
        step = item["step"]
        carries_on = child.status == Status.succeeded and (
            step["kind"] != CONDITIONS or bool((child.results or {}).get("continue"))
        )
        if not carries_on or not step.get("next"):
            return {"items": []}
        # a conditions or http step passes its own input on; any other step, the file it made
        made = step["kind"] not in (CONDITIONS, HTTP) and child.output_file_id is not None
        following = {"file_id": child.output_file_id} if made else item["input"]
        return {"items": _items(item["parent_id"], step["next"], f"{item['path']}.next", following)}

    def _progress(self, parent_id: str) -> None:
        parent = self._parent(parent_id)
        children = self.store.children(parent.project_id, parent.id)
        with suppress(TaskNotActive):  # cancelled meanwhile
            self.store.record(parent.id, Status.processing, {"progress": _mean_progress(children)})

    def finish(self, parent_id: str) -> dict[str, Any]:
        """Every branch ended: the parent succeeds, with each child's output by ref and the children
        by how they ended (a failed one is also named in its error)."""
        parent = self._parent(parent_id)
        children = self.store.children(parent.project_id, parent.id)
        outputs = {
            str(child.naming.ref): _without_data(child.output)
            for child in children
            if child.status == Status.succeeded and child.naming.ref and child.output is not None
        }
        failed = [child for child in children if child.status != Status.succeeded]
        results = {
            "passed": [_summary(child) for child in children if child.status == Status.succeeded],
            "failed": [_summary(child) for child in failed],
            "continue": not failed,
        }
        fields: dict[str, Any] = {
            "results": results,
            "outputs_by_ref": {
                ref: file.model_dump(mode="json", exclude_none=True) for ref, file in outputs.items()
            },
            "progress": 100,
        }
        if failed:
            named = "; ".join(
                f"{_where(child)}: {child.error.message if child.error else child.status}" for child in failed
            )
            fields["error"] = {
                "kind": "step_failed",
                "message": f"{len(failed)} of {len(children)} steps did not succeed ({named})"[:1000],
            }
        try:
            self.store.record(parent.id, Status.succeeded, fields)
        except TaskNotActive:
            logger.info("workflow already ended; its results are not recorded", extra={"task_id": parent_id})
        return {"children": len(children), "failed": len(failed)}

    # -- an http step

    def send_http(self, child_id: str) -> dict[str, Any]:
        """POSTs the workflow so far (its input, each finished step's output by ref) to the step's
        url, signed like a webhook. Raises ReceiverRefused on any answer but 2xx (the state machine
        retries it with backoff, then the step fails)."""
        child = self.store.get(child_id)
        if child is None or child.status in TERMINAL_STATUSES or child.parent_id is None:
            return {"sent": False}
        parent = self._parent(child.parent_id)
        child = self.store.start_task(child.id)
        attempts = (child.answer.attempts if child.answer else 0) + 1
        body = json.dumps(self._payload(parent, child)).encode()
        answer = HttpAnswer(status_code=None, excerpt="", attempts=attempts)
        problem: str | None = None
        try:
            now = now_ms()
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: self._signature(parent, body, now),
            }
            settings = self.tasks.settings
            policy = replace(
                HTTP_STEP_POLICY,
                allow_loopback=settings.allow_loopback_inputs,
                refused_loopback_ports=settings.local_service_ports,
            )
            status, excerpt = post_reading(child.options["url"], body, headers, policy, MAX_EXCERPT_BYTES)
            answer = answer.model_copy(
                update={"status_code": status, "excerpt": excerpt.decode("utf-8", "replace")}
            )
            if not 200 <= status < 300:
                problem = f"the receiver answered HTTP {status}"
        except BlockedAddress:
            problem = "the step's url points at an address that is not public"
        except InputUnreachable:
            problem = "the step's url could not be reached (no DNS answer, no connection or no reply in time)"
        done = Status.succeeded if problem is None else Status.processing
        fields: dict[str, Any] = {"answer": answer.model_dump(mode="json")}
        if problem is None:
            fields["progress"] = 100
        try:
            self.store.record(child.id, done, fields)
        except TaskNotActive:
            return {"sent": True}  # cancelled while it was sent
        if problem is not None:
            raise ReceiverRefused(f"{problem} (attempt {attempts})")
        return {"sent": True, "status_code": answer.status_code}

    def _payload(self, parent: Task, child: Task) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for sibling in self.store.children(parent.project_id, parent.id):
            ref = sibling.naming.ref
            if sibling.status == Status.succeeded and ref and sibling.output is not None:
                output = _without_data(sibling.output)
                view = (
                    self.tasks.stored_file_view(
                        output, output.location, Maker(sibling.project_id, sibling.id)
                    )
                    if output.location is not None
                    else output
                )
                outputs[ref] = {
                    "task_id": sibling.id,
                    "kind": sibling.kind,
                    "file": view.model_dump(mode="json"),
                }
        return {
            "object": "workflow",
            "event": WORKFLOW_EVENT,
            "workflow_id": parent.id,
            "step_id": child.id,
            "input": parent.input_file_id or parent.input,
            "metadata": parent.metadata,
            "outputs": outputs,
        }

    def _signature(self, parent: Task, body: bytes, now: int) -> str:
        secrets = self.secrets.signing_secrets(parent.project_id, now) if self.secrets else []
        if not secrets:
            raise ReceiverRefused("the project has no signing secret: POST /webhooks/secret makes one")
        return signature_header(body, secrets, now // 1000)

    def _parent(self, parent_id: str) -> Task:
        parent = self.store.get(parent_id)
        if parent is None:
            raise ValueError(f"no workflow task {parent_id}")
        return parent


def _items(
    parent_id: str, steps: Sequence[dict[str, Any]], path: str, given: dict[str, Any]
) -> list[dict[str, Any]]:
    return [
        {"parent_id": parent_id, "path": f"{path}[{position}]", "step": step, "input": given}
        for position, step in enumerate(steps)
    ]


def _mean_progress(children: Sequence[Task]) -> int:
    ended = [100 if child.status in TERMINAL_STATUSES else child.progress or 0 for child in children]
    return int(sum(ended) / len(ended)) if ended else 0


def _without_data(file: MediaFile) -> MediaFile:
    """A child's output as the workflow keeps it: without its data (a transcript could be
    megabytes; the child has it)."""
    return file.model_copy(update={"data": None})


def _where(child: Task) -> str:
    return str((child.workflow_step or {}).get("path") or child.id)


def _summary(child: Task) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "task_id": child.id,
        "kind": child.kind,
        "path": _where(child),
        "status": child.status.value,
    }
    if child.naming.ref:
        summary["ref"] = child.naming.ref
    if child.error is not None:
        summary["error"] = child.error.model_dump()
    return summary
