"""Tasks in DynamoDB. Every status change is a conditional write, so a late or repeated step update
can never move a task backwards or touch a finished one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.conditions import Attr, ConditionBase
from botocore.exceptions import ClientError

from mediatasks.adapters.dynamo import from_dynamo, to_dynamo
from mediatasks.adapters.index import ATTEMPTS, IndexPage, IndexSlice, back_off, items_by_id, read_page
from mediatasks.constants import INDEX_BY_SORT, LISTING_PARTITIONS
from mediatasks.domain.listing import ListQuery, partition_values
from mediatasks.domain.tasks import (
    STATUS_RANK,
    TERMINAL_RANK,
    MediaFile,
    Status,
    Step,
    StepName,
    StepStatus,
    Task,
    TaskErrorInfo,
    can_move,
    now_ms,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

__all__ = ["TaskNotActive", "TaskStore", "from_dynamo", "to_dynamo"]


class TaskNotActive(Exception):
    """The task has reached a terminal status (or moved past this update) and must not change."""


class TaskStore:
    """Tasks by id, and per listing partition (project; project and status; project and kind; all
    three) a counter item `count#<attribute>#<value>` that every create and status move updates in
    the same transaction, so a listing's total is one read."""

    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = table or boto3.resource("dynamodb").Table(table_name)
        # the resource's client: it takes and returns plain Python values, as the table does
        self._client = self._table.meta.client

    def create(self, task: Task, together_with: Sequence[dict[str, Any]] = ()) -> None:
        """Writes a new task and its counters, and `together_with` (other stores' `creation`
        actions: its output file, a new media) in the same transaction: all or nothing."""
        item = to_dynamo(task.model_dump(mode="json", exclude_none=True))
        item["status_rank"] = STATUS_RANK[task.status]
        partitions = partition_values(task.project_id, task.kind, task.status.value, task.parent_id)
        put = {"TableName": self._table.name, "Item": item | partitions}
        put["ConditionExpression"] = "attribute_not_exists(id)"
        self._transact([{"Put": put}, *self._counts(partitions, 1), *together_with])

    def get(self, task_id: str) -> Task | None:
        item = self._item(task_id)
        return None if item is None else _task_of(item)

    def _item(self, task_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"id": task_id}, ConsistentRead=True).get("Item")

    def count(self, project_id: str, query: ListQuery) -> int:
        """How many of the project's tasks the query lists: one counter item."""
        key = {"id": _counter_id(*query.partition(project_id))}
        item = self._table.get_item(Key=key).get("Item") or {}
        return int(from_dynamo(item.get("tasks", 0)))

    def page(
        self,
        project_id: str,
        query: ListQuery,
        after: dict[str, Any] | None = None,
        *,
        offset: int = 0,
        backwards: bool = False,
    ) -> IndexPage[Task]:
        """Up to `query.limit` tasks, `offset` entries past `after` in the listing's order (or
        before it, nearest first, when `backwards`)."""
        attribute, value = query.partition(project_id)
        where = IndexSlice(
            INDEX_BY_SORT[(attribute, query.sort)], attribute, value, (query.order == "asc") != backwards
        )
        shown, more = read_page(self._table, where, query.limit, after, offset)
        tasks = [_task_of(item) for item in items_by_id(self._table, [entry["id"] for entry in shown])]
        return IndexPage(
            items=tasks, first=shown[0] if shown else None, last=shown[-1] if shown else None, more=more
        )

    def _counts(self, partitions: dict[str, str], delta: int) -> list[dict[str, Any]]:
        """Transaction items adding `delta` to the counter of each partition."""
        return [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"id": _counter_id(attribute, value)},
                    "UpdateExpression": "ADD #tasks :delta",
                    "ExpressionAttributeNames": {"#tasks": "tasks"},
                    "ExpressionAttributeValues": {":delta": delta},
                }
            }
            for attribute, value in partitions.items()
        ]

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        """Writes all the actions or none. Raises _Refused when a condition failed; retries when
        another transaction held one of the items (a project's counters are shared by its tasks)."""
        for attempt in range(ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
                return
            except ClientError as error:
                reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
                if "ConditionalCheckFailed" in reasons:
                    raise _Refused from error
                held = "TransactionConflict" in reasons
                contended = held or _error_code(error) == "TransactionConflictException"
                if not contended or attempt == ATTEMPTS - 1:
                    raise
            back_off(attempt)

    def _update(self, task_id: str, status: Status, assignments: dict[str, Any]) -> Task:
        """Sets `status` and the given attribute paths (dotted), if the task may move to `status`.
        A move between statuses also moves the task between its status partitions and counters,
        in one transaction conditioned on the status it moves from, so it is counted once."""
        update = _Update(status, assignments)
        try:  # most updates (progress) keep the status: one conditional write, no counters
            response = self._table.update_item(
                Key={"id": task_id},
                UpdateExpression=update.expression(),
                ConditionExpression="attribute_exists(id) AND #status = :status AND #rank < :terminal",
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values | {":terminal": TERMINAL_RANK},
                ReturnValues="ALL_NEW",
            )
            return _task_of(response["Attributes"])
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise
        # Statuses only move forward, so each refused move below saw a later status: this ends.
        while True:
            item = self._item(task_id)
            if item is None or not can_move(Status(item["status"]), status):
                raise TaskNotActive(task_id)
            try:
                self._move(item, update)
            except _Refused:
                continue
            moved = self.get(task_id)
            if moved is None:  # tasks are never deleted: only a table emptied by hand gets here
                raise TaskNotActive(task_id)
            return moved

    def _move(self, item: dict[str, Any], update: _Update) -> None:
        before = partition_values(item["project_id"], item["kind"], item["status"])
        after = partition_values(item["project_id"], item["kind"], update.status.value)
        moved = {attribute: value for attribute, value in after.items() if before[attribute] != value}
        names = update.names | {f"#{attribute}": attribute for attribute in moved}
        values = update.values | {f":{attribute}": value for attribute, value in moved.items()}
        values[":from"] = item["status"]
        task = {
            "TableName": self._table.name,
            "Key": {"id": item["id"]},
            "UpdateExpression": update.expression(f"#{attribute} = :{attribute}" for attribute in moved),
            "ConditionExpression": "#status = :from",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        left = {attribute: before[attribute] for attribute in moved}
        self._transact([{"Update": task}, *self._counts(left, -1), *self._counts(moved, 1)])

    def start_step(self, task_id: str, step: StepName, status: Status, task_percent: int) -> Task:
        """Marks the step running and returns the task as it now is."""
        now = now_ms()
        running = _step_fields(step, StepStatus.processing, now, started_at=now, progress=0)
        started = {"started_at": _IF_NOT_SET, "progress": task_percent}
        return self._update(task_id, status, started | running)

    def step_progress(
        self, task_id: str, step: StepName, status: Status, percent: int, task_percent: int
    ) -> None:
        fields = _step_fields(step, StepStatus.processing, now_ms(), progress=percent)
        self._update(task_id, status, {"progress": task_percent, **fields})

    def finish_step(self, task_id: str, step: StepName, status: Status, task_percent: int) -> None:
        now = now_ms()
        done = _step_fields(step, StepStatus.succeeded, now, progress=100, finished_at=now)
        self._update(task_id, status, {"progress": task_percent, **done})

    def add_steps(self, task_id: str, status: Status, steps: dict[StepName, Step]) -> None:
        """Adds steps the task's path turned out to take (a long video's split and join)."""
        self._update(
            task_id, status, {f"steps.{name}": step.model_dump(mode="json") for name, step in steps.items()}
        )

    def count_finished_segment(self, task_id: str) -> int:
        """One more of the task's pieces is encoded: how many are now (one atomic ADD), while the
        task has not ended."""
        try:
            response = self._table.update_item(
                Key={"id": task_id},
                UpdateExpression="ADD #done :one",
                ConditionExpression="attribute_exists(id) AND #rank < :terminal",
                ExpressionAttributeNames={"#done": "segments_done", "#rank": "status_rank"},
                ExpressionAttributeValues={":one": 1, ":terminal": TERMINAL_RANK},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise TaskNotActive(task_id) from None
            raise
        return int(str(response["Attributes"]["segments_done"]))

    def record_source(self, task_id: str, status: Status, source: MediaFile) -> None:
        """Keeps what the probe found the input to be, for the task's `inputs`."""
        self._update(task_id, status, {"source": source.model_dump(mode="json", exclude_none=True)})

    def succeed(
        self, task_id: str, last_step: StepName, output: MediaFile, results: dict[str, Any] | None = None
    ) -> None:
        now = now_ms()
        done = _step_fields(last_step, StepStatus.succeeded, now, progress=100, finished_at=now)
        output_fields = {"output": output.model_dump(mode="json", exclude_none=True), "progress": 100}
        if results is not None:  # a conditions step's verdict, written with its end
            output_fields["results"] = results
        self._update(task_id, Status.succeeded, {**output_fields, "finished_at": now, **done})

    def cancel(self, task: Task) -> Task:
        """Ends a task that has not ended; its unfinished steps end with it."""
        now = now_ms()
        assignments: dict[str, Any] = {"finished_at": now}
        for name, step in task.steps.items():
            if step.status in (StepStatus.waiting, StepStatus.processing):
                assignments |= _step_fields(name, StepStatus.cancelled, now, finished_at=now)
        return self._update(task.id, Status.cancelled, assignments)

    def fail(self, task_id: str, error: TaskErrorInfo, failed_step: StepName | None) -> None:
        now = now_ms()
        assignments: dict[str, Any] = {"error": error.model_dump(), "finished_at": now}
        if failed_step is not None:
            assignments |= _step_fields(
                failed_step, StepStatus.failed, now, error=error.model_dump(), finished_at=now
            )
        self._update(task_id, Status.failed, assignments)

    def start_task(self, task_id: str) -> Task:
        """Moves a task that runs no pipeline step (a workflow, an http step) to processing."""
        return self._update(task_id, Status.processing, {"started_at": _IF_NOT_SET})

    def record(self, task_id: str, status: Status, fields: dict[str, Any]) -> Task:
        """Sets a task's status and fields (top-level names, as the Task model has them); a
        terminal status also sets its finish time. Refused (TaskNotActive) once the task ended."""
        assignments = {name: value for name, value in fields.items()}
        if STATUS_RANK[status] == TERMINAL_RANK:
            assignments["finished_at"] = now_ms()
        return self._update(task_id, status, assignments)

    def children(self, project_id: str, parent_id: str) -> list[Task]:
        """A workflow's child tasks, oldest first (a workflow has at most a few dozen)."""
        query = ListQuery(parent_id=parent_id, order="asc", limit=100)
        found: list[Task] = []
        after: dict[str, Any] | None = None
        while True:
            page = self.page(project_id, query, after)
            found.extend(page.items)
            if not page.more or page.last is None:
                return found
            after = page.last

    def waiting_since_before(self, created_before_ms: int) -> list[Task]:
        """Tasks still `waiting` that were created before the given time: a Scan, paged, reading
        only those items (the sweep runs every few minutes; a task leaves `waiting` within a
        second of a healthy start, so the result is small)."""
        return self._scan(Attr("status").eq(Status.waiting.value) & Attr("created_at").lt(created_before_ms))

    def unfinished(self) -> list[Task]:
        """Every task not yet in a terminal status: a Scan of the whole table (for a restart of
        the local stack, once; the listing counters have no rank)."""
        return self._scan(Attr("status_rank").lt(TERMINAL_RANK))

    def _scan(self, condition: ConditionBase) -> list[Task]:
        arguments: dict[str, Any] = {"FilterExpression": condition, "ConsistentRead": True}
        found: list[Task] = []
        while True:
            response = self._table.scan(**arguments)
            found.extend(_task_of(item) for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return found
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def count_start_attempt(self, task_id: str) -> int:
        """One more attempt of the sweep at starting a waiting task; how many there have been."""
        try:
            response = self._table.update_item(
                Key={"id": task_id},
                UpdateExpression="ADD #attempts :one",
                ConditionExpression="#status = :waiting",
                ExpressionAttributeNames={"#attempts": "start_attempts", "#status": "status"},
                ExpressionAttributeValues={":one": 1, ":waiting": Status.waiting.value},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise TaskNotActive(task_id) from None
            raise
        return int(from_dynamo(response["Attributes"]["start_attempts"]))


def _step_fields(step: StepName, status: StepStatus, now: int, **values: Any) -> dict[str, Any]:
    """Attribute paths setting one step's status, update time and the given fields."""
    fields = {"status": status.value, "updated_at": now, **values}
    return {f"steps.{step}.{name}": value for name, value in fields.items()}


def _task_of(item: dict[str, Any]) -> Task:
    fields = from_dynamo(item)
    for internal in ("status_rank", "segments_done", "start_attempts", *LISTING_PARTITIONS[1:]):
        fields.pop(internal, None)
    return Task.model_validate(fields)


class _Update:
    """An update's SET clauses: the status, its rank, the update time and the given paths."""

    def __init__(self, status: Status, assignments: dict[str, Any]) -> None:
        self.status = status
        self.names = {"#status": "status", "#rank": "status_rank", "#updated": "updated_at"}
        self.values: dict[str, Any] = {":status": status.value, ":rank": STATUS_RANK[status]}
        self.values[":now"] = now_ms()
        self._clauses = ["#status = :status", "#rank = :rank", "#updated = :now"]
        for index, (path, value) in enumerate(assignments.items()):
            parts = path.split(".")
            for depth, part in enumerate(parts):
                self.names[f"#p{index}_{depth}"] = part
            target = ".".join(f"#p{index}_{depth}" for depth in range(len(parts)))
            if value is _IF_NOT_SET:
                self._clauses.append(f"{target} = if_not_exists({target}, :now)")
            else:
                self.values[f":v{index}"] = to_dynamo(value)
                self._clauses.append(f"{target} = :v{index}")

    def expression(self, extra: Iterable[str] = ()) -> str:
        return "SET " + ", ".join([*self._clauses, *extra])


class _Refused(Exception):
    """A transaction's condition did not hold."""


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _counter_id(attribute: str, value: str) -> str:
    return f"count#{attribute}#{value}"


class _IfNotSet:
    """Marks an assignment that keeps an existing value (DynamoDB's if_not_exists)."""


_IF_NOT_SET: Any = _IfNotSet()
