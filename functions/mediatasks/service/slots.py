"""The per-project cap on running tasks. After its input is validated, a task's execution asks for
a slot and waits, `queued`, on a Step Functions task token until it has one; it gives the slot back
when it ends. Whoever frees a slot, or joins the queue, admits the oldest waiters while slots are
free, so a slot freed between a waiter's joining and its first try is never missed. The reconciler
frees the slot of an execution that ended outside the definition (stopped, timed out) and the sweep
reclaims a slot still held by a task that ended or no longer exists."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from mediatasks.adapters.slots import SlotTable, Waiter
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.workflow import TaskTokens
from mediatasks.domain.slots import RunningCaps, queue_entry
from mediatasks.domain.tasks import TERMINAL_STATUSES, Task, now_ms

logger = Logger(child=True)
# The metrics the slot functions and the sweep publish (Powertools, namespace MediaTasks).
SLOTS_SERVICE = "mediatasks-slots"
QUEUED_MILLISECONDS = "QueuedMilliseconds"
RECLAIMED_SLOTS = "ReclaimedSlots"


@dataclass(frozen=True)
class Admission:
    """A waiting task given a slot, and how long it had waited."""

    task_id: str
    queued_ms: int


@dataclass(frozen=True)
class Reclaimed:
    slots: list[str] = field(default_factory=list)
    waiters: list[str] = field(default_factory=list)
    admitted: list[Admission] = field(default_factory=list)


@dataclass(frozen=True)
class RunningSlots:
    table: SlotTable
    store: TaskStore
    tokens: TaskTokens
    caps: RunningCaps

    def wait_for_slot(self, task_id: str, token: str) -> list[Admission]:
        """The execution of `task_id` waits on `token` until it has a slot (at once when its project
        is not capped, or a slot is free and nobody older waits)."""
        task = self.store.get(task_id)
        cap = None if task is None else self.caps.of(task.project_id)
        if task is None or cap is None or task.status in TERMINAL_STATUSES:
            # nothing to wait for: its next step goes on, or refuses a task that ended
            self.tokens.resume(token)
            return []
        self.table.enqueue(task.project_id, task.id, task.created_at, token)
        return self.admit(task.project_id)

    def admit(self, project_id: str) -> list[Admission]:
        """Resumes the project's oldest waiters while slots are free."""
        cap = self.caps.of(project_id)
        admitted: list[Admission] = []
        while (waiter := self.table.oldest(project_id)) is not None:
            if cap is not None and not self.table.take(project_id, waiter.task_id, cap):
                break
            if not self.table.claim(project_id, waiter.entry):
                continue  # another admitter claimed it (its take was the same slot) and resumes it
            if self.tokens.resume(waiter.token):
                admitted.append(Admission(waiter.task_id, now_ms() - waiter.queued_at))
                logger.info("task admitted", extra={"task_id": waiter.task_id, "project_id": project_id})
            else:  # its execution was stopped or timed out while it waited
                self.table.give_back(project_id, waiter.task_id)
        return admitted

    def release(self, task_id: str) -> list[Admission]:
        """The task ended: its slot (if it held one) goes to the oldest waiter."""
        task = self.store.get(task_id)
        return [] if task is None else self.forget(task)

    def forget(self, task: Task) -> list[Admission]:
        """The task will not run (any more): it leaves the queue, frees its slot, and the next
        waiters are admitted."""
        self.table.claim(task.project_id, queue_entry(task.created_at, task.id))
        self.table.give_back(task.project_id, task.id)
        return self.admit(task.project_id)

    def reclaim(self) -> Reclaimed:
        """The sweep's repair: slots held and queue entries kept by tasks that ended or are gone
        (a release that never ran), then admission wherever a slot is free."""
        running, waiters = self.table.everything()
        reclaimed = Reclaimed()
        for project_id, holders in running.items():
            for task_id in sorted(holders):
                if self._ended(task_id) and self.table.give_back(project_id, task_id):
                    logger.warning("slot reclaimed", extra={"task_id": task_id, "project_id": project_id})
                    reclaimed.slots.append(task_id)
        for waiter in waiters:
            if self._ended(waiter.task_id) and self._drop(waiter):
                reclaimed.waiters.append(waiter.task_id)
        for project_id in sorted({*running, *(waiter.project_id for waiter in waiters)}):
            reclaimed.admitted.extend(self.admit(project_id))
        return reclaimed

    def _ended(self, task_id: str) -> bool:
        task = self.store.get(task_id)
        return task is None or task.status in TERMINAL_STATUSES

    def _drop(self, waiter: Waiter) -> bool:
        return self.table.claim(waiter.project_id, waiter.entry)
