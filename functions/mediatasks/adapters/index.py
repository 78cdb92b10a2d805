"""Reading a page of a table through one of its keys-only listing indexes: the index entries of the
page (plus one, to know whether more follow), then the page's items by key in one batch. The cost is
the page's, whatever its depth, once a cursor names where it starts."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from boto3.dynamodb.conditions import Key

from mediatasks.adapters.dynamo import from_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = TypeVar("Item")
ATTEMPTS = 6


@dataclass(frozen=True)
class IndexPage(Generic[Item]):
    """Items in listing order, the index entries of the first and last (where the pages beside
    it start), and whether more follow."""

    items: list[Item]
    first: dict[str, Any] | None
    last: dict[str, Any] | None
    more: bool


@dataclass(frozen=True)
class IndexSlice:
    """Where a page is read: a partition of an index, in one direction."""

    index_name: str
    attribute: str
    value: str
    ascending: bool


def read_page(
    table: Table, where: IndexSlice, limit: int, after: dict[str, Any] | None, offset: int
) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` index entries, `offset` entries past `after`, and whether more follow. Reads
    offset + limit + 1 entries, all of them in the partition."""
    arguments: dict[str, Any] = {
        "IndexName": where.index_name,
        "KeyConditionExpression": Key(where.attribute).eq(where.value),
        "ScanIndexForward": where.ascending,
    }
    if after is not None:
        arguments["ExclusiveStartKey"] = after
    wanted = offset + limit + 1
    entries: list[dict[str, Any]] = []
    while len(entries) < wanted:
        arguments["Limit"] = wanted - len(entries)
        response = table.query(**arguments)
        entries.extend(from_dynamo(response["Items"]))
        if "LastEvaluatedKey" not in response:
            break
        arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return entries[offset : offset + limit], len(entries) > offset + limit


def items_by_id(table: Table, ids: list[str]) -> list[dict[str, Any]]:
    """The items with these ids, in this order (missing ones left out): one BatchGetItem (again,
    after a pause, for any keys DynamoDB left unprocessed under load)."""
    client = table.meta.client
    found: dict[str, dict[str, Any]] = {}
    pending: list[dict[str, Any]] = [{"id": item_id} for item_id in ids]
    for attempt in range(ATTEMPTS):
        if not pending:
            return [found[item_id] for item_id in ids if item_id in found]
        if attempt:
            back_off(attempt - 1)
        response = client.batch_get_item(RequestItems={table.name: {"Keys": pending}})
        found |= {str(item["id"]): item for item in response["Responses"].get(table.name, [])}
        unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
        pending = list(unprocessed.get(table.name, {}).get("Keys", []))
    raise RuntimeError("DynamoDB left part of a page unread; the listing can be retried")


def back_off(attempt: int) -> None:
    """Waits before another try at a contended or unfinished request: 25 ms doubling, with jitter."""
    time.sleep(random.uniform(0, 0.025 * 2**attempt))  # noqa: S311 - jitter, not a secret
