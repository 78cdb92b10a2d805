"""The per-project running slots against moto's DynamoDB: the cap holds, waiters are admitted
oldest first as slots are freed, and the sweep's repair frees what tasks that ended still hold.
(moto's Step Functions, not executing here, accepts every task token. Concurrent takers are not
tried here: moto's DynamoDB is not thread-safe, and the conditional ADD's atomicity is DynamoDB's.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import default_user_config

from mediatasks.adapters.slots import SlotTable
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.workflow import TaskTokens
from mediatasks.constants import SLOTS_TABLE_ID, TASKS_TABLE_ID
from mediatasks.domain.slots import RunningCaps
from mediatasks.domain.tasks import Status, Task, TaskErrorInfo
from mediatasks.kinds.registry import kind_of
from mediatasks.local.cloud import table_definition
from mediatasks.service.slots import RunningSlots

VIDEO = kind_of("video")
CAPPED = "prj_capped"


@dataclass
class World:
    slots: RunningSlots
    table: SlotTable
    store: TaskStore


@pytest.fixture
def world(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": False})
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        dynamodb.meta.client.create_table(**table_definition(template, TASKS_TABLE_ID, "tasks"))
        dynamodb.meta.client.create_table(**table_definition(template, SLOTS_TABLE_ID, "slots"))
        store = TaskStore("tasks", dynamodb.Table("tasks"))
        table = SlotTable("slots", dynamodb.Table("slots"))
        caps = RunningCaps(default=0, projects={CAPPED: 2})
        yield World(RunningSlots(table, store, TaskTokens(boto3.client("stepfunctions")), caps), table, store)


def task_of(store: TaskStore, project_id: str, created_at: int) -> Task:
    task = Task.create(
        project_id=project_id,
        kind="video",
        steps=VIDEO.steps,
        input_url="https://example.com/a.mp4",
        options={},
        destination=None,
        metadata={},
    ).model_copy(update={"created_at": created_at})
    store.create(task)
    return task


def admitted(world: World, task: Task) -> list[str]:
    return [admission.task_id for admission in world.slots.wait_for_slot(task.id, f"token-{task.id}")]


def test_waiters_beyond_the_cap_are_admitted_oldest_first_as_slots_are_freed(world: World) -> None:
    tasks = [task_of(world.store, CAPPED, 1_000 + index) for index in range(5)]
    # the youngest joins first: it runs at once, a slot being free
    assert admitted(world, tasks[4]) == [tasks[4].id]
    assert admitted(world, tasks[0]) == [tasks[0].id]
    assert [admitted(world, task) for task in tasks[1:4]] == [[], [], []]
    assert world.table.holders(CAPPED) == {tasks[4].id, tasks[0].id}
    assert [a.task_id for a in world.slots.release(tasks[4].id)] == [tasks[1].id]
    assert [a.task_id for a in world.slots.release(tasks[1].id)] == [tasks[2].id]
    assert world.slots.release(tasks[1].id) == []  # a second release of the same task frees nothing
    assert world.table.holders(CAPPED) == {tasks[0].id, tasks[2].id}


def test_an_uncapped_project_never_waits_and_keeps_nothing(world: World) -> None:
    task = task_of(world.store, "prj_free", 1)
    assert admitted(world, task) == []  # resumed at once, without a slot
    assert world.table.everything() == ({}, [])


def test_a_task_that_will_not_run_leaves_the_queue(world: World) -> None:
    running, cancelled, next_one = (task_of(world.store, CAPPED, created) for created in (1, 2, 3))
    other = task_of(world.store, CAPPED, 4)
    for task in (running, other, cancelled, next_one):
        admitted(world, task)
    world.store.cancel(world.store.get(cancelled.id) or cancelled)
    assert world.slots.forget(cancelled) == []  # it held no slot: nobody else gets one
    assert [a.task_id for a in world.slots.release(running.id)] == [next_one.id]
    assert [waiter.task_id for waiter in world.table.everything()[1]] == []


def test_the_sweep_reclaims_slots_and_entries_of_tasks_that_ended_or_are_gone(world: World) -> None:
    ended, waiting = task_of(world.store, CAPPED, 1), task_of(world.store, CAPPED, 2)
    assert world.table.take(CAPPED, ended.id, 2)
    assert world.table.take(CAPPED, "task_gone", 2)
    world.store.fail(ended.id, TaskErrorInfo(kind="internal_error", message="lost"), None)
    assert (world.store.get(ended.id) or ended).status == Status.failed
    world.table.enqueue(CAPPED, "task_gone_waiter", 0, "token-gone")
    assert admitted(world, waiting) == []  # both slots are held
    reclaimed = world.slots.reclaim()
    assert sorted(reclaimed.slots) == sorted([ended.id, "task_gone"])
    assert reclaimed.waiters == ["task_gone_waiter"]
    assert [a.task_id for a in reclaimed.admitted] == [waiting.id]
    assert world.table.holders(CAPPED) == {waiting.id}
    assert json.dumps(world.table.everything()[1]) == "[]"
