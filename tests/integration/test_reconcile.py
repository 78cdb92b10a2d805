"""The reconciler and the sweep against moto (tasks table, bucket, a state machine that is never
executed), and which SDK errors count as transient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws
from moto.core.config import default_user_config

from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.transient import is_transient
from mediatasks.adapters.workflow import Workflow
from mediatasks.constants import TASKS_TABLE_ID
from mediatasks.domain.tasks import Status, StepName, StepStatus, Task, now_ms
from mediatasks.kinds.registry import kind_of
from mediatasks.local.cloud import table_definition
from mediatasks.service.reconcile import INTERRUPTED, NOT_STARTED, EndedExecution, Reconciler

BUCKET = "media"
VIDEO = kind_of("video")


@dataclass
class World:
    reconciler: Reconciler
    store: TaskStore
    s3: Any
    sfn: Any
    machine: str


@pytest.fixture
def world(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # executions stay RUNNING until stopped, whatever a local stack run earlier in this process set
    # (it makes moto interpret the definitions, and this machine would then succeed at once)
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": False})
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        dynamodb.meta.client.create_table(**table_definition(template, TASKS_TABLE_ID, "tasks"))
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sfn = boto3.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="tasks",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/machine",
        )["stateMachineArn"]
        store = TaskStore("tasks", dynamodb.Table("tasks"))
        yield World(Reconciler(store, Storage(s3), Workflow(machine, sfn), BUCKET), store, s3, sfn, machine)


def waiting_task(store: TaskStore, **fields: Any) -> Task:
    """A video task just created (`fields` change what Task.create is given)."""
    given: dict[str, Any] = {"kind": "video", "steps": VIDEO.steps}
    task = Task.create(
        project_id="prj_one",
        input_url="https://example.com/a.mp4",
        options={},
        destination=None,
        metadata={},
        **(given | fields),
    )
    store.create(task)
    return task


def test_an_execution_stopped_mid_encode_fails_its_task_and_removes_its_work(world: World) -> None:
    task = waiting_task(world.store)
    world.store.start_step(task.id, StepName.transcode, Status.processing, 50)
    world.s3.put_object(Bucket=BUCKET, Key=f"work/{task.id}/source", Body=b"x")
    assert world.reconciler.execution_ended(task.id, EndedExecution.timed_out)
    failed = world.store.get(task.id)
    assert failed is not None
    assert (failed.status, failed.error and failed.error.kind) == (Status.failed, "timeout")
    assert failed.steps[StepName.transcode].status == StepStatus.failed
    assert "Contents" not in world.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"work/{task.id}/")
    # heard again (EventBridge delivers at least once), or after the definition's own failure path
    assert not world.reconciler.execution_ended(task.id, EndedExecution.failed)
    assert world.store.get(task.id) == failed


def test_the_sweep_starts_a_waiting_task_once_and_fails_it_after_its_attempts(world: World) -> None:
    task = waiting_task(world.store)
    assert world.reconciler.sweep(task.created_at - 1, 2).started == []  # not waiting long enough
    report = world.reconciler.sweep(now_ms() + 1, 2)
    assert report.started == [task.id]
    (execution,) = world.sfn.list_executions(stateMachineArn=world.machine)["executions"]
    assert execution["name"] == task.run_id
    assert world.reconciler.sweep(now_ms() + 1, 2).started == []  # it runs: its first step moves it
    # the execution ended without the task ever moving (and the reconciler missed it): failed
    world.sfn.stop_execution(executionArn=execution["executionArn"])
    report = world.reconciler.sweep(now_ms() + 1, 2)
    assert report.failed == [task.id]
    failed = world.store.get(task.id)
    assert failed is not None
    assert (failed.status, failed.error and failed.error.message) == (Status.failed, NOT_STARTED)


def test_the_sweep_gives_up_after_its_attempts(world: World) -> None:
    task = waiting_task(world.store)
    world.store.count_start_attempt(task.id)
    world.store.count_start_attempt(task.id)  # two starts that were lost
    report = world.reconciler.sweep(now_ms() + 1, 2)
    assert (report.started, report.failed) == ([], [task.id])
    assert world.sfn.list_executions(stateMachineArn=world.machine)["executions"] == []


def test_a_restart_fails_what_was_running_starts_what_waited_and_leaves_what_ended(world: World) -> None:
    """What the local stack does after a restart from its state dir, where no execution survived."""
    waiting = waiting_task(world.store)
    running = waiting_task(world.store)
    world.store.start_step(running.id, StepName.transcode, Status.processing, 50)
    world.s3.put_object(Bucket=BUCKET, Key=f"work/{running.id}/source", Body=b"x")
    cancelled = world.store.cancel(waiting_task(world.store))
    report = world.reconciler.restarted(2)
    assert report.interrupted == [running.id]
    assert report.sweep.started == [waiting.id]
    interrupted = world.store.get(running.id)
    assert interrupted is not None
    assert interrupted.status == Status.failed
    assert interrupted.error is not None
    assert (interrupted.error.kind, interrupted.error.message) == ("internal_error", INTERRUPTED)
    assert interrupted.steps[StepName.transcode].status == StepStatus.failed
    assert "Contents" not in world.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"work/{running.id}/")
    left = world.store.get(cancelled.id)
    assert left is not None
    assert left.status == Status.cancelled


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_client_error("SlowDown", 503), True),
        (_client_error("ProvisionedThroughputExceededException", 400), True),
        (_client_error("ThrottlingException", 400), True),
        (_client_error("InternalError", 500), True),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ConnectionResetError(), True),
        (_client_error("NoSuchKey", 404), False),
        (_client_error("AccessDenied", 403), False),
        (_client_error("ConditionalCheckFailedException", 400), False),
        (ValueError("bad"), False),
    ],
)
def test_transient_errors(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def workflow_with_child(store: TaskStore, *, started: bool) -> tuple[Task, Task]:
    parent = waiting_task(store, kind="workflow", steps=(), workflow=[{"kind": "video", "options": {}}])
    child = waiting_task(store, parent_id=parent.id, workflow_step={"path": "workflow[0]", "kind": "video"})
    if started:
        store.start_task(parent.id)
        store.start_step(child.id, StepName.ingest, Status.validating, 5)
    return parent, child


def test_a_stopped_workflow_fails_with_every_unfinished_child(world: World) -> None:
    parent, child = workflow_with_child(world.store, started=True)
    world.sfn.start_execution(stateMachineArn=world.machine, name=str(child.run_id), input="{}")
    assert world.reconciler.execution_ended(parent.id, EndedExecution.aborted)
    assert world.store.get(parent.id).status == Status.failed  # type: ignore[union-attr]
    ended = world.store.get(child.id)
    assert ended is not None
    assert (ended.status, ended.steps[StepName.ingest].status) == (Status.failed, StepStatus.failed)
    arn = world.machine.replace(":stateMachine:", ":execution:") + f":{child.run_id}"
    assert world.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"


def test_the_sweep_leaves_a_running_workflows_child_and_fails_an_ended_ones(world: World) -> None:
    parent, child = workflow_with_child(world.store, started=False)
    world.store.start_task(parent.id)
    report = world.reconciler.sweep(now_ms() + 1000, 3)
    assert child.id not in report.started + report.failed  # its workflow starts it
    assert world.store.get(child.id).status == Status.waiting  # type: ignore[union-attr]
    world.store.cancel(world.store.get(parent.id))  # type: ignore[arg-type]
    report = world.reconciler.sweep(now_ms() + 1000, 3)
    assert report.failed == [child.id]
    assert world.store.get(child.id).status == Status.failed  # type: ignore[union-attr]
