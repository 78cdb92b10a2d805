"""Files and media items of each project, in the files table: by id, and through keys-only indexes
per project (newest first), per media, and per path (the file a signature names)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from mediatasks.adapters.dynamo import from_dynamo, to_dynamo
from mediatasks.adapters.index import IndexPage, IndexSlice, items_by_id, read_page
from mediatasks.constants import FILE_INDEXES
from mediatasks.domain.files import FileRecord, FileStatus, MediaRecord
from mediatasks.domain.listing import PageQuery
from mediatasks.domain.tasks import MediaFile, now_ms

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_BY_INDEX_ATTRIBUTE = {attribute: index for index, attribute in FILE_INDEXES.items()}
# Set when a file is first written and kept when its task publishes it.
_FIXED_AT_CREATION = (
    "project_id",
    "project_files",
    "media_id",
    "task_id",
    "object",
    "original",
    "created_at",
    "metadata",
)


def _table(table_name: str, table: Table | None) -> Table:
    return table or boto3.resource("dynamodb").Table(table_name)


def _index_attributes(record: FileRecord) -> dict[str, str]:
    attributes = {"project_files": record.project_id}
    if record.filename:
        attributes["project_path"] = f"{record.project_id}#{record.path()}"
    return attributes


def _file_item(record: FileRecord) -> dict[str, Any]:
    item: dict[str, Any] = to_dynamo(record.model_dump(mode="json", exclude_none=True))
    return item | _index_attributes(record)


def _media_item(media: MediaRecord) -> dict[str, Any]:
    item: dict[str, Any] = to_dynamo(media.model_dump(mode="json", exclude_none=True))
    return item | {"project_media": media.project_id}


def _new_item(table: Table, item: dict[str, Any]) -> dict[str, Any]:
    """A transaction's Put of a new item (refused when the id exists)."""
    return {"Put": {"TableName": table.name, "Item": item, "ConditionExpression": "attribute_not_exists(id)"}}


def _record_of(item: dict[str, Any]) -> FileRecord:
    fields = from_dynamo(item)
    for internal in FILE_INDEXES.values():
        if internal != "media_id":
            fields.pop(internal, None)
    if "media_id" not in fields:  # written before files were resources: a stored file, its own media
        project_id = fields.pop("project_id")
        file = MediaFile.model_validate(fields)
        return FileRecord(
            id=file.id,
            project_id=project_id,
            media_id=file.id,
            status=FileStatus.ready,
            file=file,
            filename=file.filename,
            folder=file.folder,
            ref=file.ref,
        )
    return FileRecord.model_validate(fields)


def _is_refused(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _changes_expression(changes: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """SET for values, REMOVE for the fields a change clears (None)."""
    names = {f"#f{index}": name for index, name in enumerate(changes)}
    values: dict[str, Any] = {}
    sets, removes = [], []
    for index, value in enumerate(changes.values()):
        if value is None:
            removes.append(f"#f{index}")
        else:
            values[f":f{index}"] = to_dynamo(value)
            sets.append(f"#f{index} = :f{index}")
    expression = ("SET " + ", ".join(sets) if sets else "") + (
        " REMOVE " + ", ".join(removes) if removes else ""
    )
    return expression.strip(), names, values


def update_owned(table: Table, item_id: str, project_id: str, changes: dict[str, Any]) -> bool:
    """Applies `changes` to the project's item; False when it is not the project's (or is gone)."""
    expression, names, values = _changes_expression(changes)
    names["#project"] = "project_id"
    values[":project"] = project_id
    try:
        table.update_item(
            Key={"id": item_id},
            UpdateExpression=expression,
            ConditionExpression="#project = :project",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if _is_refused(error):
            return False
        raise
    return True


def project_page(
    table: Table,
    attribute: str,
    project_id: str,
    limit: int,
    after: dict[str, Any] | None,
    offset: int,
    backwards: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, Any] | None, bool]:
    """A page of the project's items through the index on `attribute`, newest first: the items,
    the first and last index entries, and whether more follow."""
    where = IndexSlice(_BY_INDEX_ATTRIBUTE[attribute], attribute, project_id, backwards)
    shown, more = read_page(table, where, limit, after, offset)
    items = items_by_id(table, [entry["id"] for entry in shown])
    return items, shown[0] if shown else None, shown[-1] if shown else None, more


class FileStore:
    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = _table(table_name, table)

    @property
    def table(self) -> Table:
        """The files table (media items live in it too: MediaStore)."""
        return self._table

    def creation(self, record: FileRecord) -> dict[str, Any]:
        """A new file record, as an action of the transaction that writes its task (a task and its
        waiting output file are written together, or neither)."""
        return _new_item(self._table, _file_item(record))

    def record(self, project_id: str, file_id: str) -> FileRecord | None:
        """The project's file; another project's file is not found, exactly like a missing one."""
        if not file_id.startswith("file_"):
            return None
        item = self._table.get_item(Key={"id": file_id}, ConsistentRead=True).get("Item")
        if item is None or item.get("project_id") != project_id:
            return None
        return _record_of(item)

    def get(self, project_id: str, file_id: str) -> MediaFile | None:
        """The project's stored file (a task's input by `file_id`): None until it is stored."""
        record = self.record(project_id, file_id)
        return None if record is None or record.status != FileStatus.ready else record.file

    def publish(self, record: FileRecord) -> None:
        """Stores what a task made: a file written when the task began keeps its media, metadata and
        creation time; a task's file that was never written (its task predates files) is created."""
        fields = _file_item(record)
        fixed = {name: fields.pop(name) for name in _FIXED_AT_CREATION if name in fields}
        fields.pop("id")
        names = {f"#a{index}": name for index, name in enumerate([*fields, *fixed])}
        by_name = {name: alias for alias, name in names.items()}
        values = {f":{by_name[name][1:]}": value for name, value in (fields | fixed).items()}
        clauses = [f"{by_name[name]} = :{by_name[name][1:]}" for name in fields]
        clauses += [
            f"{by_name[name]} = if_not_exists({by_name[name]}, :{by_name[name][1:]})" for name in fixed
        ]
        self._table.update_item(
            Key={"id": record.id},
            UpdateExpression="SET " + ", ".join(clauses),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def update(self, project_id: str, file_id: str, changes: dict[str, Any]) -> FileRecord | None:
        """Applies a PATCH (None clears a field); None when the project has no such file."""
        current = self.record(project_id, file_id)
        if current is None:
            return None
        changed = current.model_copy(update=changes | {"updated_at": now_ms()})
        path = _index_attributes(changed).get("project_path")
        applied = changes | {"updated_at": changed.updated_at, "project_path": path}
        return changed if update_owned(self._table, file_id, project_id, applied) else None

    def delete(self, file_id: str) -> None:
        self._table.delete_item(Key={"id": file_id})

    def page(
        self,
        project_id: str,
        query: PageQuery,
        after: dict[str, Any] | None = None,
        *,
        offset: int = 0,
        backwards: bool = False,
    ) -> IndexPage[FileRecord]:
        """The project's files, newest first."""
        items, first, last, more = project_page(
            self._table, "project_files", project_id, query.limit, after, offset, backwards
        )
        return IndexPage([_record_of(item) for item in items], first, last, more)

    def of_media(self, media_id: str) -> list[FileRecord]:
        """Every file of a media, oldest first (a media holds a handful: its original and renditions)."""
        arguments: dict[str, Any] = {
            "IndexName": _BY_INDEX_ATTRIBUTE["media_id"],
            "KeyConditionExpression": Key("media_id").eq(media_id),
        }
        ids: list[str] = []
        while True:
            response = self._table.query(**arguments)
            ids += [str(entry["id"]) for entry in response["Items"]]
            if "LastEvaluatedKey" not in response:
                break
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [
            _record_of(item) for item in items_by_id(self._table, ids) if str(item["id"]).startswith("file_")
        ]

    def at_path(self, project_id: str, path: str) -> FileRecord | None:
        """The newest of the project's files named `<folder>/<filename>`."""
        response = self._table.query(
            IndexName=_BY_INDEX_ATTRIBUTE["project_path"],
            KeyConditionExpression=Key("project_path").eq(f"{project_id}#{path}"),
            ScanIndexForward=False,
            Limit=1,
        )
        entries = response["Items"]
        return self.record(project_id, str(entries[0]["id"])) if entries else None


class MediaStore:
    """Media items, beside the files in the same table (ids `med_…`)."""

    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = _table(table_name, table)

    def create(self, media: MediaRecord) -> None:
        self._table.put_item(Item=_media_item(media), ConditionExpression="attribute_not_exists(id)")

    def creation(self, media: MediaRecord) -> dict[str, Any]:
        """What `create` writes, as an action of another store's transaction (see FileStore)."""
        return _new_item(self._table, _media_item(media))

    def get(self, project_id: str, media_id: str) -> MediaRecord | None:
        if not media_id.startswith("med_"):
            return None
        item = self._table.get_item(Key={"id": media_id}, ConsistentRead=True).get("Item")
        if item is None or item.get("project_id") != project_id:
            return None
        return _media_of(item)

    def update(self, project_id: str, media_id: str, changes: dict[str, Any]) -> MediaRecord | None:
        current = self.get(project_id, media_id)
        if current is None:
            return None
        changed = current.model_copy(update=changes | {"updated_at": now_ms()})
        applied = changes | {"updated_at": changed.updated_at}
        return changed if update_owned(self._table, media_id, project_id, applied) else None

    def delete(self, media_id: str) -> None:
        self._table.delete_item(Key={"id": media_id})

    def page(
        self,
        project_id: str,
        query: PageQuery,
        after: dict[str, Any] | None = None,
        *,
        offset: int = 0,
        backwards: bool = False,
    ) -> IndexPage[MediaRecord]:
        """The project's media, newest first."""
        items, first, last, more = project_page(
            self._table, "project_media", project_id, query.limit, after, offset, backwards
        )
        return IndexPage([_media_of(item) for item in items], first, last, more)


def _media_of(item: dict[str, Any]) -> MediaRecord:
    fields = from_dynamo(item)
    fields.pop("project_media", None)
    return MediaRecord.model_validate(fields)
