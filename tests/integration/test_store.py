"""The DynamoDB task store against moto, on the table the CDK app defines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mediatasks.adapters.store import TaskNotActive, TaskStore
from mediatasks.constants import TASKS_TABLE_ID
from mediatasks.domain.tasks import MediaFile, Status, StepName, StepStatus, StoredObject, Task, TaskErrorInfo
from mediatasks.kinds.registry import kind_of
from mediatasks.local.cloud import table_definition


@pytest.fixture
def store(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[TaskStore]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        dynamodb.meta.client.create_table(**table_definition(template, TASKS_TABLE_ID, "tasks"))
        yield TaskStore("tasks", dynamodb.Table("tasks"))


VIDEO = kind_of("video")


def new_task(store: TaskStore) -> Task:
    task = Task.create(
        project_id="prj_one",
        kind="video",
        steps=VIDEO.steps,
        input_url="https://example.com/a.mp4",
        options={"width": 640, "fps": 29.97},
        destination=None,
        metadata={"customer": "acme", "ratio": 1.5},
    )
    store.create(task)
    return task


def test_round_trip_keeps_every_field(store: TaskStore) -> None:
    task = new_task(store)
    assert store.get(task.id) == task
    assert store.get("task_missing") is None


def test_steps_move_the_task_forward(store: TaskStore) -> None:
    task = new_task(store)
    store.start_step(task.id, StepName.ingest, Status.validating, VIDEO.progress(StepName.ingest, 0))
    running = store.get(task.id)
    assert running is not None
    assert running.status == Status.validating
    assert running.steps[StepName.ingest].status == StepStatus.processing
    assert running.started_at is not None
    store.finish_step(task.id, StepName.ingest, Status.validating, VIDEO.progress(StepName.ingest, 100))
    store.start_step(task.id, StepName.probe, Status.validating, VIDEO.progress(StepName.probe, 0))
    store.finish_step(task.id, StepName.probe, Status.queued, VIDEO.progress(StepName.probe, 100))
    store.start_step(task.id, StepName.transcode, Status.processing, VIDEO.progress(StepName.transcode, 0))
    after = store.get(task.id)
    assert after is not None
    assert after.status == Status.processing
    assert after.started_at == running.started_at
    assert after.steps[StepName.ingest].status == StepStatus.succeeded


def test_a_late_update_cannot_move_a_task_backwards(store: TaskStore) -> None:
    task = new_task(store)
    store.start_step(task.id, StepName.transcode, Status.processing, VIDEO.progress(StepName.transcode, 0))
    with pytest.raises(TaskNotActive):
        store.start_step(task.id, StepName.probe, Status.validating, VIDEO.progress(StepName.probe, 0))
    current = store.get(task.id)
    assert current is not None
    assert current.status == Status.processing


def test_a_finished_task_never_changes(store: TaskStore) -> None:
    task = new_task(store)
    store.start_step(task.id, StepName.probe, Status.validating, VIDEO.progress(StepName.probe, 0))
    store.fail(task.id, TaskErrorInfo(kind="input_unsupported", message="not media"), StepName.probe)
    output = MediaFile(
        kind="video", format="mp4", type="video/mp4", location=StoredObject(bucket="b", key="k")
    )
    with pytest.raises(TaskNotActive):
        store.succeed(task.id, StepName.upload, output)
    with pytest.raises(TaskNotActive):
        store.start_step(task.id, StepName.ingest, Status.processing, VIDEO.progress(StepName.ingest, 0))
    with pytest.raises(TaskNotActive):
        store.fail(task.id, TaskErrorInfo(kind="timeout", message="late"), None)
    final = store.get(task.id)
    assert final is not None
    assert final.status == Status.failed
    assert final.error == TaskErrorInfo(kind="input_unsupported", message="not media")
    assert final.steps[StepName.probe].status == StepStatus.failed
    assert final.output is None


def test_success_records_the_output(store: TaskStore) -> None:
    task = new_task(store)
    store.start_step(task.id, StepName.upload, Status.finishing, VIDEO.progress(StepName.upload, 0))
    output = MediaFile(
        kind="video", format="mp4", type="video/mp4", duration=2.5, location=StoredObject(bucket="b", key="k")
    )
    store.succeed(task.id, StepName.upload, output)
    done = store.get(task.id)
    assert done is not None
    assert (done.status, done.progress, done.output) == (Status.succeeded, 100, output)
    assert done.finished_at is not None


def test_updates_to_a_missing_task_are_refused(store: TaskStore) -> None:
    with pytest.raises(TaskNotActive):
        store.start_step("task_nope", StepName.probe, Status.validating, VIDEO.progress(StepName.probe, 0))


def test_cancel_ends_unfinished_steps_and_blocks_later_writes(store: TaskStore) -> None:
    task = new_task(store)
    store.start_step(task.id, StepName.ingest, Status.validating, VIDEO.progress(StepName.ingest, 0))
    store.finish_step(task.id, StepName.ingest, Status.validating, VIDEO.progress(StepName.ingest, 100))
    running = store.start_step(task.id, StepName.probe, Status.validating, VIDEO.progress(StepName.probe, 0))
    cancelled = store.cancel(running)
    assert cancelled.status == Status.cancelled
    assert [s.status for s in cancelled.steps.values()] == [
        StepStatus.succeeded,
        StepStatus.cancelled,
        StepStatus.cancelled,
        StepStatus.cancelled,
    ]
    with pytest.raises(TaskNotActive):
        store.finish_step(task.id, StepName.probe, Status.queued, VIDEO.progress(StepName.probe, 100))
    with pytest.raises(TaskNotActive):
        store.cancel(cancelled)
