"""Listing against moto on the template's table: order, filters, cursors, and the cost of a page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from mediatasks.adapters.files import FileStore
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.workflow import Workflow
from mediatasks.config import Settings
from mediatasks.constants import TASKS_TABLE_ID
from mediatasks.domain.errors import RequestRejected
from mediatasks.domain.listing import ListQuery
from mediatasks.domain.tasks import Status, Task, TaskErrorInfo
from mediatasks.kinds.registry import kind_of
from mediatasks.local.cloud import table_definition
from mediatasks.service.tasks import TaskService

# thirty tasks written to the emulated table for each test: about 5 s, and the CDK synth it reads
pytestmark = pytest.mark.slow

PROJECT = "prj_list"
COUNT = 30


class Reads:
    """Items DynamoDB evaluated for each Query call (what a page costs)."""

    def __init__(self) -> None:
        self.per_call: list[int] = []

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        self.per_call.append(parsed.get("ScannedCount", 0))


Fixture = tuple[TaskService, "Reads", list[Task]]


def listed(service: TaskService, project: str, query: ListQuery) -> dict[str, Any]:
    """A page as the API sends it."""
    return service.list(project, query).model_dump(mode="json")


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
                steps=kind_of("video").steps,
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
            steps=kind_of("video").steps,
            input_url="https://e.com/x.mp4",
            options={},
            destination=None,
            metadata={},
        )
        store.create(other)
        for task in created[::3]:
            store.fail(task.id, TaskErrorInfo(kind="timeout", message="too slow"), None)
        reads = Reads()
        table.meta.client.meta.events.register("after-call.dynamodb.Query", reads)
        settings = Settings(tasks_table="tasks", media_bucket="media")
        files = FileStore("unused", dynamodb.Table("tasks"))
        yield TaskService(settings, store, Storage(), Workflow("arn:unused"), files), reads, created


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
    first = listed(service, PROJECT, ListQuery(limit=5))
    reads.per_call.clear()
    pages = walk(service, limit=5)
    # the count on the first page reads the project once; every later page reads limit + 1 items
    later = reads.per_call[len(reads.per_call) - (len(pages) - 1) :]
    assert all(scanned <= 6 for scanned in later)
    assert first["total"] == COUNT


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


def test_a_cursor_is_bound_to_its_project_and_query(listing: Fixture) -> None:
    service, _, _ = listing
    cursor = parse_qs(urlsplit(listed(service, PROJECT, ListQuery(limit=5))["links"]["next"]).query)[
        "cursor"
    ][0]
    for project, query, token in (
        ("prj_other", ListQuery(limit=5), cursor),
        (PROJECT, ListQuery(limit=6), cursor),
        (PROJECT, ListQuery(limit=5), "not-a-cursor"),
        (PROJECT, ListQuery(limit=5), cursor[:-4]),
    ):
        with pytest.raises(RequestRejected) as raised:
            listed(service, project, query.model_copy(update={"cursor": token}))
        assert (raised.value.kind, raised.value.field) == ("invalid_option", "cursor")


def test_other_projects_tasks_never_appear(listing: Fixture) -> None:
    service, _, _ = listing
    assert listed(service, "prj_nobody", ListQuery())["data"] == []
    assert listed(service, "prj_nobody", ListQuery())["total"] == 0
