"""What slips through the state machine's own Catch: an execution that timed out, was stopped from
outside, or failed outside any step (the reconciler), and a task whose execution never started
(the sweep). Both end with no task left non-terminal and no work files left behind."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aws_lambda_powertools import Logger

from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskNotActive, TaskStore
from mediatasks.adapters.workflow import Workflow
from mediatasks.constants import WORK_PREFIX
from mediatasks.domain.tasks import TERMINAL_STATUSES, WORKFLOW, Status, Task, TaskErrorInfo, now_ms

logger = Logger(child=True)
# The metrics the reconciler and the sweep publish (Powertools, as service RECONCILER_SERVICE), each
# alarmed on by the stack.
METRICS_NAMESPACE = "MediaTasks"
RECONCILER_SERVICE = "mediatasks-reconciler"
RECONCILED_TASKS = "ReconciledTasks"
SWEEP_STARTS = "SweepStarts"
SWEEP_FAILURES = "SweepFailures"
# What a task that never started is told after the sweep gave up on it.
NOT_STARTED = "the task could not be started"
# What a task that was running when the local stack stopped is told after its restart.
INTERRUPTED = "the task was interrupted: the local stack stopped while it ran"
# What a workflow's unfinished steps are told when the workflow's execution ended without them.
WORKFLOW_STOPPED = "the step's workflow stopped before the step ended"


class EndedExecution(StrEnum):
    """The execution statuses the reconciler hears about (its EventBridge rule's pattern)."""

    failed = "FAILED"
    timed_out = "TIMED_OUT"
    aborted = "ABORTED"


_ERROR_OF = {
    EndedExecution.timed_out: TaskErrorInfo(
        kind="timeout", message="the task took longer than it is allowed to run"
    ),
    EndedExecution.aborted: TaskErrorInfo(kind="internal_error", message="the task's processing was stopped"),
    EndedExecution.failed: TaskErrorInfo(kind="internal_error", message="the task's processing failed"),
}


@dataclass(frozen=True)
class SweepReport:
    started: list[str]
    failed: list[str]


@dataclass(frozen=True)
class RestartReport:
    interrupted: list[str]
    sweep: SweepReport


@dataclass(frozen=True)
class Reconciler:
    store: TaskStore
    storage: Storage
    workflow: Workflow
    media_bucket: str
    # the workflow state machine's executions: a workflow task's own (None: not deployed)
    workflows: Workflow | None = None

    def _executions_of(self, task: Task) -> Workflow | None:
        return self.workflows if task.kind == WORKFLOW else self.workflow

    def execution_ended(self, task_id: str, status: EndedExecution) -> bool:
        """Fails the task unless it already ended (the definition's own failure path, a cancel),
        and removes its work files either way. True when the task was moved here."""
        moved = self._fail(task_id, _ERROR_OF[status])
        if moved:
            logger.warning("task reconciled", extra={"task_id": task_id, "execution_status": status.value})
        return moved

    def _fail(self, task_id: str, error: TaskErrorInfo) -> bool:
        task = self.store.get(task_id)
        moved = False
        if task is not None and task.status not in TERMINAL_STATUSES:
            try:
                self.store.fail(task_id, error, task.running_step())
                moved = True
            except TaskNotActive:  # it ended between the read and the write
                pass
        if task is not None and task.kind == WORKFLOW:
            self._end_children(task)
        self.storage.delete_prefix(self.media_bucket, f"{WORK_PREFIX}{task_id}/")
        return moved

    def _end_children(self, parent: Task) -> None:
        """A workflow that ended outside its Finish state (stopped, timed out) leaves no child
        running: each unfinished one fails and its execution is stopped."""
        error = TaskErrorInfo(kind="internal_error", message=WORKFLOW_STOPPED)
        for child in self.store.children(parent.project_id, parent.id):
            if child.status in TERMINAL_STATUSES:
                continue
            try:
                self.store.fail(child.id, error, child.running_step())
            except TaskNotActive:
                continue
            try:
                self.workflow.stop(str(child.run_id or child.id))
            except Exception:  # never started (an http step), or already ended: its record is final
                logger.info("no execution to stop for a workflow's step", extra={"task_id": child.id})

    def sweep(self, created_before_ms: int, max_start_attempts: int) -> SweepReport:
        """Starts each task still `waiting` since before the given time that has no execution
        (the API's start was lost); after `max_start_attempts` starts it fails the task instead.
        A waiting task whose execution already ended was missed by the reconciler: failed here."""
        started: list[str] = []
        failed: list[str] = []
        for task in self.store.waiting_since_before(created_before_ms):
            run_id = str(task.run_id or task.id)
            if task.parent_id is not None:
                # a workflow's step is started by its workflow's execution, never by the sweep
                self._end_orphan(task, failed)
                continue
            executions = self._executions_of(task)
            if executions is None:
                continue
            status = executions.status(run_id)
            if status == "RUNNING":
                continue  # its first step is about to move it
            if status is not None:
                if self._fail(task.id, TaskErrorInfo(kind="internal_error", message=NOT_STARTED)):
                    failed.append(task.id)
                continue
            try:
                attempts = self.store.count_start_attempt(task.id)
            except TaskNotActive:
                continue  # it moved on meanwhile
            if attempts > max_start_attempts:
                if self._fail(task.id, TaskErrorInfo(kind="internal_error", message=NOT_STARTED)):
                    failed.append(task.id)
                continue
            try:
                executions.start(run_id, task.id, task.kind)
            except Exception:
                logger.exception("the sweep could not start a task", extra={"task_id": task.id})
                continue
            logger.warning("sweep started a waiting task", extra={"task_id": task.id, "attempt": attempts})
            started.append(task.id)
        return SweepReport(started=started, failed=failed)

    def restarted(self, max_start_attempts: int) -> RestartReport:
        """After the local stack came back from its state dir, where no execution survived the
        restart: a task that had started ends failed (interrupted) and loses its work files; one
        still waiting for its execution is started by the sweep, as a lost start would be."""
        interrupted: list[str] = []
        for task in self.store.unfinished():
            if task.status != Status.waiting and self._fail(
                task.id, TaskErrorInfo(kind="internal_error", message=INTERRUPTED)
            ):
                interrupted.append(task.id)
        if interrupted:
            logger.warning("interrupted tasks failed after a restart", extra={"task_ids": interrupted})
        return RestartReport(interrupted=interrupted, sweep=self.sweep(now_ms() + 1, max_start_attempts))

    def _end_orphan(self, child: Task, failed: list[str]) -> None:
        """A step's child still waiting after its workflow ended will never run: it fails."""
        parent = self.store.get(str(child.parent_id))
        if parent is not None and parent.status not in TERMINAL_STATUSES:
            return  # its workflow is running: it starts it, or ends it when it cannot
        if self._fail(child.id, TaskErrorInfo(kind="internal_error", message=NOT_STARTED)):
            failed.append(child.id)
