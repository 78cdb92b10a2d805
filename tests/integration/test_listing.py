"""Listing against moto on the template's table: order, filters, signed cursors, counted totals,
and the cost of a page (DynamoDB calls and items read per request, for a project of 500 tasks)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import moto.dynamodb.models as moto_dynamodb
import pytest
from moto import mock_aws

from mediatasks.adapters.files import FileStore
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskNotActive, TaskStore
from mediatasks.adapters.workflow import Workflow
from mediatasks.config import Settings
from mediatasks.constants import TASKS_TABLE_ID
from mediatasks.domain.errors import RequestRejected
from mediatasks.domain.listing import MAX_NUMBERED_ITEMS, ListQuery
from mediatasks.domain.tasks import Status, StepName, Task, TaskErrorInfo
from mediatasks.kinds.registry import kind_of
from mediatasks.local.cloud import table_definition
from mediatasks.service.tasks import TaskService

PROJECT = "prj_list"
COUNT = 30
KEY = b"a listing key for the tests"


VIDEO_STEPS = kind_of("video").steps


def listed(service: TaskService, project: str, query: ListQuery) -> dict[str, Any]:
    """A page as the API sends it."""
    return service.list(project, query).model_dump(mode="json")


class Reads:
    """Every DynamoDB call the store makes, with the items it read (what a request costs)."""

    def __init__(self) -> None:
        self.per_call: list[tuple[str, int]] = []

    def __call__(self, parsed: dict[str, Any], event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation == "Query":
            read = parsed.get("ScannedCount", 0)
        elif operation == "BatchGetItem":
            read = sum(len(items) for items in parsed.get("Responses", {}).values())
        else:
            read = 1 if parsed.get("Item") else 0
        self.per_call.append((operation, read))

    def clear(self) -> None:
        self.per_call.clear()

    @property
    def calls(self) -> int:
        return len(self.per_call)

    @property
    def items(self) -> int:
        return sum(read for _, read in self.per_call)

    def of(self, operation: str) -> list[int]:
        return [read for name, read in self.per_call if name == operation]


Fixture = tuple[TaskService, "Reads", list[Task]]


@pytest.fixture
def listing(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Fixture]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        dynamodb.meta.client.create_table(**table_definition(template, TASKS_TABLE_ID, "tasks"))
        table = dynamodb.Table("tasks")
        store = TaskStore("tasks", table)
        created = []
        for index in range(COUNT):
            task = Task.create(
                project_id=PROJECT,
                kind="video",
                steps=VIDEO_STEPS,
                input_url=f"https://example.com/{index}.mp4",
                options={},
                destination=None,
                metadata={"n": index},
            )
            task = task.model_copy(update={"created_at": 1_000_000 + index, "updated_at": 2_000_000 - index})
            store.create(task)
            created.append(task)
        other = Task.create(
            project_id="prj_other",
            kind="video",
            steps=VIDEO_STEPS,
            input_url="https://e.com/x.mp4",
            options={},
            destination=None,
            metadata={},
        )
        store.create(other)
        for task in created[::3]:
            store.fail(task.id, TaskErrorInfo(kind="timeout", message="too slow"), None)
        reads = Reads()
        table.meta.client.meta.events.register("after-call.dynamodb", reads)
        yield service_of(store, dynamodb), reads, created


def service_of(store: TaskStore, dynamodb: Any) -> TaskService:
    settings = Settings(tasks_table="tasks", media_bucket="media")
    files = FileStore("unused", dynamodb.Table("tasks"))
    return TaskService(settings, store, Storage(), Workflow("arn:unused"), files, lambda: KEY)


def walk(service: TaskService, **query: Any) -> list[dict[str, Any]]:
    pages = [listed(service, PROJECT, ListQuery(**query))]
    while pages[-1]["links"]["next"]:
        cursor = parse_qs(urlsplit(pages[-1]["links"]["next"]).query)["cursor"][0]
        pages.append(listed(service, PROJECT, ListQuery(**query, cursor=cursor)))
    return pages


def ids(page: dict[str, Any]) -> list[str]:
    return [task["id"] for task in page["data"]]


def test_newest_first_by_default_and_every_task_once(listing: Fixture) -> None:
    service, _, created = listing
    pages = walk(service, limit=7)
    assert [p["page"] for p in pages] == [1, 2, 3, 4, 5]
    assert {(p["total"], p["pages"], p["limit"]) for p in pages} == {(COUNT, 5, 7)}
    assert [i for p in pages for i in ids(p)] == [t.id for t in reversed(created)]
    assert pages[0]["links"]["prev"] is None
    assert pages[-1]["links"]["next"] is None


def test_a_page_costs_the_same_wherever_it_is(listing: Fixture) -> None:
    service, reads, _ = listing
    reads.clear()
    pages = walk(service, limit=5)
    # each page: limit + 1 index entries, the page's 5 tasks by id, and one counter item
    assert reads.of("Query") == [6] * (len(pages) - 1) + [5]
    assert reads.of("BatchGetItem") == [5] * len(pages)
    assert reads.of("GetItem") == [1] * len(pages)
    assert {page["total"] for page in pages} == {COUNT}


def test_prev_links_walk_back(listing: Fixture) -> None:
    service, _, _ = listing
    pages = walk(service, limit=8)
    cursor = parse_qs(urlsplit(pages[2]["links"]["prev"]).query)["cursor"][0]
    back = listed(service, PROJECT, ListQuery(limit=8, cursor=cursor))
    assert ids(back) == ids(pages[1])
    assert back["page"] == 2


def test_oldest_first_and_by_update(listing: Fixture) -> None:
    service, _, created = listing
    ascending = [i for p in walk(service, limit=10, order="asc") for i in ids(p)]
    assert ascending == [t.id for t in created]
    by_update = [i for p in walk(service, limit=10, sort="updated", order="asc") for i in ids(p)]
    assert set(by_update) == {t.id for t in created}


def test_status_filter(listing: Fixture) -> None:
    service, _, created = listing
    pages = walk(service, limit=4, status=Status.failed)
    failed = [i for p in pages for i in ids(p)]
    assert failed == [t.id for t in reversed(created[::3])]
    assert pages[0]["total"] == len(created[::3])
    assert all(t["status"] == "failed" for p in pages for t in p["data"])
    assert walk(service, kind="audio")[0]["data"] == []


def test_page_numbers_work_without_cursors(listing: Fixture) -> None:
    service, _, created = listing
    third = listed(service, PROJECT, ListQuery(limit=5, page=3))
    assert ids(third) == [t.id for t in reversed(created)][10:15]
    assert listed(service, PROJECT, ListQuery(limit=5, page=99))["data"] == []


def next_cursor(page: dict[str, Any]) -> str:
    return parse_qs(urlsplit(page["links"]["next"]).query)["cursor"][0]


def signed(payload: bytes, key: bytes = KEY) -> str:
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{b64(payload)}.{b64(signature)}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_cursor_is_bound_to_its_project_and_query(listing: Fixture) -> None:
    service, _, _ = listing
    cursor = next_cursor(listed(service, PROJECT, ListQuery(limit=5)))
    payload, _, signature = cursor.partition(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    missing_page = {k: v for k, v in fields.items() if k != "page"}
    for project, query, token in (
        ("prj_other", ListQuery(limit=5), cursor),  # another project's
        (PROJECT, ListQuery(limit=6), cursor),  # another query's
        (PROJECT, ListQuery(limit=5), "not-a-cursor"),  # no signature
        (PROJECT, ListQuery(limit=5), "é.é"),  # not base64 at all
        (PROJECT, ListQuery(limit=5), cursor[:-4]),  # cut short
        (PROJECT, ListQuery(limit=5), payload),  # unsigned, as cursors used to be
        (PROJECT, ListQuery(limit=5), signed(payload.encode(), b"another key")),  # forged
        (PROJECT, ListQuery(limit=5), f"{b64(json.dumps(fields | {'page': 9}).encode())}.{signature}"),
        (PROJECT, ListQuery(limit=5), signed(json.dumps(fields | {"page": "x"}).encode())),  # wrong type
        (PROJECT, ListQuery(limit=5), signed(json.dumps(missing_page).encode())),  # missing field
        (PROJECT, ListQuery(limit=5), signed(b"[1, 2]")),
    ):
        with pytest.raises(RequestRejected) as raised:
            listed(service, project, query.model_copy(update={"cursor": token}))
        assert (raised.value.kind, raised.value.field) == ("invalid_option", "cursor")


def test_numbered_pages_end_where_cursors_take_over(listing: Fixture) -> None:
    service, _, _ = listing
    assert listed(service, PROJECT, ListQuery(limit=100, page=10))["data"] == []
    with pytest.raises(RequestRejected) as raised:
        listed(service, PROJECT, ListQuery(limit=100, page=11))
    assert (raised.value.kind, raised.value.field) == ("invalid_option", "page")
    assert "links.next" in raised.value.message


def test_totals_follow_every_status_move_once(listing: Fixture) -> None:
    service, _, created = listing
    store = service.store
    failed = len(created[::3])
    running = created[1]
    store.start_step(running.id, StepName.probe, Status.validating, 0)
    store.step_progress(running.id, StepName.probe, Status.validating, 50, 2)
    store.cancel(running)
    with pytest.raises(TaskNotActive):  # refused: a finished task moves no count
        store.fail(running.id, TaskErrorInfo(kind="timeout", message="late"), None)
    with pytest.raises(TaskNotActive):
        store.fail(created[0].id, TaskErrorInfo(kind="timeout", message="late"), None)

    def total(**query: Any) -> int:
        return int(listed(service, PROJECT, ListQuery(**query))["total"])

    assert total(status=Status.failed) == failed
    assert total(status=Status.cancelled) == total(kind="video", status=Status.cancelled) == 1
    assert total(status=Status.waiting) == COUNT - failed - 1
    assert total() == total(kind="video") == COUNT
    assert total(kind="audio") == 0


def test_a_move_raced_by_another_is_counted_once(listing: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The task moved on between the store's read and its write: the write is refused, read again,
    and the task is counted in the status it ends in, once."""
    service, _, created = listing
    store = service.store
    task = created[1]
    stale = store._item(task.id)
    store.start_step(task.id, StepName.probe, Status.validating, 0)
    reads = iter([stale])
    fresh = store._item
    monkeypatch.setattr(store, "_item", lambda task_id: next(reads, None) or fresh(task_id))
    store.fail(task.id, TaskErrorInfo(kind="timeout", message="too slow"), None)
    monkeypatch.undo()
    assert next(reads, None) is None  # the stale read was used, and refused
    statuses = {status: listed(service, PROJECT, ListQuery(status=status))["total"] for status in Status}
    assert statuses[Status.validating] == 0
    assert statuses[Status.failed] == len(created[::3]) + 1
    assert sum(statuses.values()) == COUNT


def test_other_projects_tasks_never_appear(listing: Fixture) -> None:
    service, _, _ = listing
    assert listed(service, "prj_nobody", ListQuery())["data"] == []
    assert listed(service, "prj_nobody", ListQuery())["total"] == 0


BIG = 500


@pytest.fixture(scope="module")
def big_project(template: dict[str, Any]) -> Iterator[tuple[TaskService, Reads]]:
    """500 video tasks, 5 of them cancelled."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        dynamodb = boto3.resource("dynamodb")
        dynamodb.meta.client.create_table(**table_definition(template, TASKS_TABLE_ID, "tasks"))
        store = TaskStore("tasks", dynamodb.Table("tasks"))
        with pytest.MonkeyPatch.context() as seeding:
            # moto snapshots the whole table before each transaction to roll a refused one back;
            # no write here is refused, so seeding skips the snapshot (minutes -> seconds)
            seeding.setattr(moto_dynamodb, "copy", SimpleNamespace(deepcopy=_no_table_snapshot))
            for index in range(BIG):
                task = Task.create(
                    project_id=PROJECT,
                    kind="video",
                    steps=VIDEO_STEPS,
                    input_url=f"https://example.com/{index}.mp4",
                    options={},
                    destination=None,
                    metadata={},
                )
                store.create(task.model_copy(update={"created_at": 1_000_000 + index}))
                if index % 100 == 0:
                    store.cancel(task)
        reads = Reads()
        dynamodb.meta.client.meta.events.register("after-call.dynamodb", reads)
        yield service_of(store, dynamodb), reads


def _no_table_snapshot(value: Any, memo: Any = None) -> Any:
    return value if isinstance(value, moto_dynamodb.Table) else copy.deepcopy(value, memo)


def cost(service: TaskService, reads: Reads, query: ListQuery) -> tuple[int, int, dict[str, Any]]:
    reads.clear()
    page = listed(service, PROJECT, query)
    return reads.calls, reads.items, page


@pytest.mark.parametrize(
    ("query", "shown", "total"),
    [
        (ListQuery(limit=1), 1, BIG),
        (ListQuery(limit=1, kind="audio"), 0, 0),
        (ListQuery(limit=1, status=Status.cancelled), 1, 5),
        (ListQuery(limit=12, status=Status.cancelled), 5, 5),
    ],
    ids=["limit=1", "kind=no-match", "status=cancelled", "status=cancelled&limit=12"],
)
def test_a_page_costs_its_limit_not_the_project(
    big_project: tuple[TaskService, Reads], query: ListQuery, shown: int, total: int
) -> None:
    service, reads = big_project
    calls, items, page = cost(service, reads, query)
    assert (len(page["data"]), page["total"]) == (shown, total)
    # one Query (limit + 1 entries), one BatchGetItem (the page), one GetItem (the counter)
    assert calls <= 3
    assert items <= 2 * query.limit + 2


def test_a_deep_page_costs_what_the_first_does(big_project: tuple[TaskService, Reads]) -> None:
    service, reads = big_project
    query = ListQuery(limit=12)
    page = listed(service, PROJECT, query)
    for _ in range(39):
        page = listed(service, PROJECT, query.model_copy(update={"cursor": next_cursor(page)}))
    calls, items, deep = cost(service, reads, query.model_copy(update={"cursor": next_cursor(page)}))
    assert deep["page"] == 41
    assert (calls, items) == (3, 13 + 12 + 1)
    # by number: one Query over the keys before it (bounded by MAX_NUMBERED_ITEMS), then the page
    calls, items, numbered = cost(service, reads, ListQuery(limit=12, page=41))
    assert [task["id"] for task in numbered["data"]] == [task["id"] for task in deep["data"]]
    assert calls == 3
    assert items <= MAX_NUMBERED_ITEMS + 12 + 1
