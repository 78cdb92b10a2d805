"""The local emulator runs a Map whose items each start a nested execution of another state machine
and wait for it (`states:startExecution.sync:2`), as Step Functions does: the engine a workflow
runs on. moto needs the field mapping local/cloud.py adds (without it boto3 fails on
`StateMachineArn`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from mediatasks.local.cloud import STATE_MACHINE_ROLE, free_port, map_nested_execution_fields
from tests.support.waiting import wait_until

# a child: fails when asked to, else answers with what it was given
CHILD = {
    "StartAt": "ShouldFail",
    "States": {
        "ShouldFail": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.kind", "StringEquals": "broken", "Next": "Failed"}],
            "Default": "Made",
        },
        "Failed": {"Type": "Fail", "Error": "TaskFailed", "Cause": "the step failed"},
        "Made": {"Type": "Pass", "Parameters": {"made.$": "$.kind", "task_id.$": "$.task_id"}, "End": True},
    },
}


def parent(child_arn: str) -> dict[str, Any]:
    run = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {
            "StateMachineArn": child_arn,
            "Name.$": "$.task_id",
            "Input": {"task_id.$": "$.task_id", "kind.$": "$.kind"},
        },
        "ResultSelector": {"output.$": "$.Output"},
        "ResultPath": "$.child",
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.child_error", "Next": "Ended"}],
        "Next": "Ended",
    }
    steps = {
        "Type": "Map",
        "ItemsPath": "$.steps",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Run",
            "States": {"Run": run, "Ended": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    return {"StartAt": "Steps", "States": {"Steps": steps}}


@pytest.fixture
def stepfunctions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    port = free_port()
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": True})
    for name, value in {
        "MOTO_PORT": str(port),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    map_nested_execution_fields()
    try:
        yield boto3.client("stepfunctions")
    finally:
        server.stop()


def test_each_item_runs_as_a_nested_execution_and_a_failed_one_spares_its_siblings(
    stepfunctions: Any,
) -> None:
    child = stepfunctions.create_state_machine(
        name="child", definition=json.dumps(CHILD), roleArn=STATE_MACHINE_ROLE
    )["stateMachineArn"]
    workflow = stepfunctions.create_state_machine(
        name="workflow", definition=json.dumps(parent(child)), roleArn=STATE_MACHINE_ROLE
    )["stateMachineArn"]
    steps = [{"task_id": "task_a", "kind": "image"}, {"task_id": "task_b", "kind": "broken"}]
    execution = stepfunctions.start_execution(stateMachineArn=workflow, input=json.dumps({"steps": steps}))

    def ended() -> dict[str, Any] | None:
        described: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution["executionArn"])
        return described if described["status"] != "RUNNING" else None

    described = wait_until(ended, 30, "the workflow execution to end")
    assert described["status"] == "SUCCEEDED"
    made, broken = json.loads(described["output"])
    assert made["child"] == {"output": {"made": "image", "task_id": "task_a"}}
    assert broken["child_error"]["Error"] == "States.TaskFailed"
    children = stepfunctions.list_executions(stateMachineArn=child)["executions"]
    assert sorted((run["name"], run["status"]) for run in children) == [
        ("task_a", "SUCCEEDED"),
        ("task_b", "FAILED"),
    ]
