"""The running slots of each project and the tasks waiting for one, in DynamoDB (one table, keyed
by project): an item `running` whose string set holds the ids of the project's running tasks
(taking a slot is one conditional ADD, so two takers can never pass the cap), and one item per
waiting task, sorted by its creation time, with the Step Functions task token that resumes it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from mediatasks.domain.slots import QUEUE_PREFIX, queue_entry
from mediatasks.domain.tasks import now_ms

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RUNNING = "running"


@dataclass(frozen=True)
class Waiter:
    project_id: str
    task_id: str
    entry: str
    token: str
    queued_at: int


class SlotTable:
    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = table or boto3.resource("dynamodb").Table(table_name)

    def take(self, project_id: str, task_id: str, cap: int) -> bool:
        """A slot for the task, if fewer than `cap` are taken (or it holds one already)."""
        try:
            self._table.update_item(
                Key={"project_id": project_id, "entry": RUNNING},
                UpdateExpression="ADD holders :task",
                ConditionExpression="attribute_not_exists(holders) OR size(holders) < :cap "
                "OR contains(holders, :id)",
                ExpressionAttributeValues={":task": {task_id}, ":cap": cap, ":id": task_id},
            )
        except ClientError as error:
            if _refused(error):
                return False
            raise
        return True

    def give_back(self, project_id: str, task_id: str) -> bool:
        """Frees the task's slot; False when it held none."""
        try:
            self._table.update_item(
                Key={"project_id": project_id, "entry": RUNNING},
                UpdateExpression="DELETE holders :task",
                ConditionExpression="contains(holders, :id)",
                ExpressionAttributeValues={":task": {task_id}, ":id": task_id},
            )
        except ClientError as error:
            if _refused(error):
                return False
            raise
        return True

    def holders(self, project_id: str) -> set[str]:
        item = self._table.get_item(
            Key={"project_id": project_id, "entry": RUNNING}, ConsistentRead=True
        ).get("Item")
        return {str(task) for task in (item or {}).get("holders", set())}  # type: ignore[union-attr]

    def enqueue(self, project_id: str, task_id: str, created_at: int, token: str) -> None:
        self._table.put_item(
            Item={
                "project_id": project_id,
                "entry": queue_entry(created_at, task_id),
                "task_id": task_id,
                "token": token,
                "queued_at": now_ms(),
            }
        )

    def oldest(self, project_id: str) -> Waiter | None:
        """The project's waiter created first."""
        items = self._table.query(
            KeyConditionExpression=Key("project_id").eq(project_id) & Key("entry").begins_with(QUEUE_PREFIX),
            ConsistentRead=True,
            Limit=1,
        )["Items"]
        return _waiter(items[0]) if items else None

    def claim(self, project_id: str, entry: str) -> bool:
        """Removes a queue entry; only the one caller that removed it resumes its task."""
        try:
            self._table.delete_item(
                Key={"project_id": project_id, "entry": entry},
                ConditionExpression="attribute_exists(entry)",
            )
        except ClientError as error:
            if _refused(error):
                return False
            raise
        return True

    def everything(self) -> tuple[dict[str, set[str]], list[Waiter]]:
        """Every project's running tasks and every waiter (the sweep's view: a Scan, paged; the
        table holds a few items per project)."""
        running: dict[str, set[str]] = {}
        waiters: list[Waiter] = []
        for item in self._scan():
            if item["entry"] == RUNNING:
                running[str(item["project_id"])] = {str(task) for task in item.get("holders", set())}
            else:
                waiters.append(_waiter(item))
        return running, waiters

    def _scan(self) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "FilterExpression": Attr("entry").eq(RUNNING) | Attr("entry").begins_with(QUEUE_PREFIX),
            "ConsistentRead": True,
        }
        while True:
            response = self._table.scan(**arguments)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _waiter(item: dict[str, Any]) -> Waiter:
    return Waiter(
        project_id=str(item["project_id"]),
        task_id=str(item["task_id"]),
        entry=str(item["entry"]),
        token=str(item["token"]),
        queued_at=int(item["queued_at"]),
    )


def _refused(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
