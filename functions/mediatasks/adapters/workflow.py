"""Starting the per-task Step Functions execution."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient


class Workflow:
    def __init__(self, state_machine_arn: str, client: SFNClient | None = None) -> None:
        self._arn = state_machine_arn
        self._sfn = client or boto3.client("stepfunctions")

    def _execution_arn(self, run_id: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:", 1) + f":{run_id}"

    def stop(self, run_id: str) -> None:
        self._sfn.stop_execution(executionArn=self._execution_arn(run_id), cause="cancelled by the caller")

    def status(self, run_id: str) -> str | None:
        """The execution's status (RUNNING, SUCCEEDED, FAILED…), or None when it was never started."""
        try:
            return self._sfn.describe_execution(executionArn=self._execution_arn(run_id))["status"]
        except self._sfn.exceptions.ExecutionDoesNotExist:
            return None

    def start(self, run_id: str, task_id: str, kind: str) -> str:
        """The task's execution, named by its run id, so a repeated start cannot run it twice.
        The state machine branches on the kind (a probe stops after probing, an ingest skips the
        transcode)."""
        state = json.dumps({"task_id": task_id, "kind": kind})
        try:
            response = self._sfn.start_execution(stateMachineArn=self._arn, name=run_id, input=state)
        except self._sfn.exceptions.ExecutionAlreadyExists:
            return self._execution_arn(run_id)  # started before (by the API or the sweep): harmless
        return response["executionArn"]
