"""Files published by tasks, by id, so a later task can take one as its input (`file_id`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from mediatasks.adapters.store import from_dynamo, to_dynamo
from mediatasks.domain.tasks import MediaFile

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class FileStore:
    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = table or boto3.resource("dynamodb").Table(table_name)

    def put(self, project_id: str, file: MediaFile) -> None:
        item = to_dynamo(file.model_dump(mode="json", exclude_none=True))
        self._table.put_item(Item={**item, "project_id": project_id})

    def get(self, project_id: str, file_id: str) -> MediaFile | None:
        """The project's file; another project's file is not found, exactly like a missing one."""
        item = self._table.get_item(Key={"id": file_id}).get("Item")
        if item is None or item.get("project_id") != project_id:
            return None
        fields = from_dynamo(item)
        fields.pop("project_id")
        return MediaFile.model_validate(fields)

    def delete(self, file_id: str) -> None:
        self._table.delete_item(Key={"id": file_id})
