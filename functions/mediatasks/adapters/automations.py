"""Automations of each project, in the files table beside its files and media (ids `auto_…`), listed
per project (newest first) through a keys-only index, as media are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mediatasks.adapters.dynamo import from_dynamo, to_dynamo
from mediatasks.adapters.files import project_page, update_owned
from mediatasks.adapters.index import IndexPage
from mediatasks.domain.automations import AUTOMATION_ID_PREFIX, AutomationRecord
from mediatasks.domain.listing import PageQuery
from mediatasks.domain.tasks import now_ms

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_INDEX_ATTRIBUTE = "project_automations"
# how many automations one read of a project's index returns when all of them are wanted
_ALL_PAGE = 100


def _item(record: AutomationRecord) -> dict[str, Any]:
    item: dict[str, Any] = to_dynamo(record.model_dump(mode="json", exclude_none=True))
    return item | {_INDEX_ATTRIBUTE: record.project_id}


def _record_of(item: dict[str, Any]) -> AutomationRecord:
    fields = from_dynamo(item)
    fields.pop(_INDEX_ATTRIBUTE, None)
    return AutomationRecord.model_validate(fields)


class AutomationStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, record: AutomationRecord) -> None:
        self._table.put_item(Item=_item(record), ConditionExpression="attribute_not_exists(id)")

    def ensure(self, record: AutomationRecord) -> bool:
        """Writes the automation unless one with its id exists (ops' seeded automations keep what
        a PATCH changed, a pause say); True when it was written now."""
        try:
            self.create(record)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, project_id: str, automation_id: str) -> AutomationRecord | None:
        """The project's automation; another project's is not found, exactly like a missing one."""
        if not automation_id.startswith(f"{AUTOMATION_ID_PREFIX}_"):
            return None
        item = self._table.get_item(Key={"id": automation_id}, ConsistentRead=True).get("Item")
        if item is None or item.get("project_id") != project_id:
            return None
        return _record_of(item)

    def update(self, project_id: str, automation_id: str, changes: dict[str, Any]) -> AutomationRecord | None:
        """Applies a PATCH (None clears a field); None when the project has no such automation."""
        current = self.get(project_id, automation_id)
        if current is None:
            return None
        applied = changes | {"updated_at": now_ms()}
        changed = AutomationRecord.model_validate(current.model_dump() | applied)
        return changed if update_owned(self._table, automation_id, project_id, applied) else None

    def delete(self, automation_id: str) -> None:
        self._table.delete_item(Key={"id": automation_id})

    def page(
        self,
        project_id: str,
        query: PageQuery,
        after: dict[str, Any] | None = None,
        *,
        offset: int = 0,
        backwards: bool = False,
    ) -> IndexPage[AutomationRecord]:
        """The project's automations, newest first."""
        items, first, last, more = project_page(
            self._table, _INDEX_ATTRIBUTE, project_id, query.limit, after, offset, backwards
        )
        return IndexPage([_record_of(item) for item in items], first, last, more)

    def of_project(self, project_id: str) -> Iterator[AutomationRecord]:
        """Every automation of the project, page by page."""
        query = PageQuery(limit=_ALL_PAGE)
        after: dict[str, Any] | None = None
        while True:
            found = self.page(project_id, query, after)
            yield from found.items
            if not found.more:
                return
            after = found.last
