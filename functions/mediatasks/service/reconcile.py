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
from mediatasks.domain.tasks import TERMINAL_STATUSES, TaskErrorInfo

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
class Reconciler:
    store: TaskStore
    storage: Storage
    workflow: Workflow
    media_bucket: str

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
        self.storage.delete_prefix(self.media_bucket, f"{WORK_PREFIX}{task_id}/")
        return moved

    def sweep(self, created_before_ms: int, max_start_attempts: int) -> SweepReport:
        """Starts each task still `waiting` since before the given time that has no execution
        (the API's start was lost); after `max_start_attempts` starts it fails the task instead.
        A waiting task whose execution already ended was missed by the reconciler: failed here."""
        started: list[str] = []
        failed: list[str] = []
        for task in self.store.waiting_since_before(created_before_ms):
            run_id = str(task.run_id or task.id)
            status = self.workflow.status(run_id)
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
                self.workflow.start(run_id, task.id, task.kind)
            except Exception:
                logger.exception("the sweep could not start a task", extra={"task_id": task.id})
                continue
            logger.warning("sweep started a waiting task", extra={"task_id": task.id, "attempt": attempts})
            started.append(task.id)
        return SweepReport(started=started, failed=failed)
