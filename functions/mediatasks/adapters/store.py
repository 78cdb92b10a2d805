"""Tasks in DynamoDB. Every status change is a conditional write, so a late or repeated step update
can never move a task backwards or touch a finished one."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from mediatasks.constants import INDEX_BY_SORT
from mediatasks.domain.listing import ListQuery
from mediatasks.domain.tasks import (
    STATUS_RANK,
    TERMINAL_RANK,
    MediaFile,
    Status,
    StepName,
    StepStatus,
    Task,
    TaskErrorInfo,
    now_ms,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class TaskNotActive(Exception):
    """The task has reached a terminal status (or moved past this update) and must not change."""


def to_dynamo(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


class TaskStore:
    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = table or boto3.resource("dynamodb").Table(table_name)

    def create(self, task: Task) -> None:
        item = to_dynamo(task.model_dump(mode="json", exclude_none=True))
        item["status_rank"] = STATUS_RANK[task.status]
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")

    def get(self, task_id: str) -> Task | None:
        item = self._table.get_item(Key={"id": task_id}, ConsistentRead=True).get("Item")
        return None if item is None else _task_of(item)

    def _listing(self, project_id: str, query: ListQuery, *, count: bool = False) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "IndexName": INDEX_BY_SORT[query.sort],
            "KeyConditionExpression": Key("project_id").eq(project_id),
        }
        conditions: list[ConditionBase] = []
        if query.kind:
            conditions.append(Attr("kind").eq(query.kind))
        if query.status:
            conditions.append(Attr("status").eq(query.status.value))
        if conditions:
            combined = conditions[0]
            for condition in conditions[1:]:
                combined = combined & condition
            arguments["FilterExpression"] = combined
        if count:
            arguments["Select"] = "COUNT"
        return arguments

    def count(self, project_id: str, query: ListQuery) -> int:
        arguments, total = self._listing(project_id, query, count=True), 0
        while True:
            response = self._table.query(**arguments)
            total += response["Count"]
            if "LastEvaluatedKey" not in response:
                return total
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def page(
        self, project_id: str, query: ListQuery, after: dict[str, Any] | None, *, backwards: bool = False
    ) -> tuple[list[Task], bool]:
        """Up to `query.limit` tasks following `after` in the listing's order (or preceding it,
        nearest first, when `backwards`), and whether more follow. Reads limit + 1 items when
        unfiltered, wherever in the listing the page is."""
        arguments = self._listing(project_id, query)
        arguments["ScanIndexForward"] = (query.order == "asc") != backwards
        items: list[dict[str, Any]] = []
        if after is not None:
            arguments["ExclusiveStartKey"] = after
        while len(items) <= query.limit:
            arguments["Limit"] = query.limit + 1 - len(items)
            response = self._table.query(**arguments)
            items.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [_task_of(item) for item in items[: query.limit]], len(items) > query.limit

    def _update(self, task_id: str, status: Status, assignments: dict[str, Any]) -> Task:
        """Sets `status` and the given attribute paths (dotted), if the task may move to `status`."""
        names: dict[str, str] = {"#status": "status", "#rank": "status_rank", "#updated": "updated_at"}
        values: dict[str, Any] = {
            ":status": status.value,
            ":rank": STATUS_RANK[status],
            ":terminal": TERMINAL_RANK,
            ":now": now_ms(),
        }
        clauses = ["#status = :status", "#rank = :rank", "#updated = :now"]
        for index, (path, value) in enumerate(assignments.items()):
            parts = path.split(".")
            for depth, part in enumerate(parts):
                names[f"#p{index}_{depth}"] = part
            target = ".".join(f"#p{index}_{depth}" for depth in range(len(parts)))
            if value is _IF_NOT_SET:
                clauses.append(f"{target} = if_not_exists({target}, :now)")
            else:
                values[f":v{index}"] = to_dynamo(value)
                clauses.append(f"{target} = :v{index}")
        try:
            response = self._table.update_item(
                Key={"id": task_id},
                UpdateExpression="SET " + ", ".join(clauses),
                ConditionExpression="attribute_exists(id) AND #rank <= :rank AND #rank < :terminal",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
            return _task_of(response["Attributes"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise TaskNotActive(task_id) from error
            raise

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

    def record_source(self, task_id: str, status: Status, source: MediaFile) -> None:
        """Keeps what the probe found the input to be, for the task's `inputs`."""
        self._update(task_id, status, {"source": source.model_dump(mode="json", exclude_none=True)})

    def succeed(self, task_id: str, last_step: StepName, output: MediaFile) -> None:
        now = now_ms()
        done = _step_fields(last_step, StepStatus.succeeded, now, progress=100, finished_at=now)
        output_fields = {"output": output.model_dump(mode="json", exclude_none=True), "progress": 100}
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


def _step_fields(step: StepName, status: StepStatus, now: int, **values: Any) -> dict[str, Any]:
    """Attribute paths setting one step's status, update time and the given fields."""
    fields = {"status": status.value, "updated_at": now, **values}
    return {f"steps.{step}.{name}": value for name, value in fields.items()}


def _task_of(item: dict[str, Any]) -> Task:
    fields = from_dynamo(item)
    fields.pop("status_rank", None)
    return Task.model_validate(fields)


class _IfNotSet:
    """Marks an assignment that keeps an existing value (DynamoDB's if_not_exists)."""


_IF_NOT_SET: Any = _IfNotSet()
