"""Starting the per-task Step Functions execution, stopping it, and resuming one waiting for a slot."""

from __future__ import annotations

import json
import random
import time
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient

# StartExecution is throttled per account and region (a bucket refilled at a few starts a second):
# after the SDK's own attempts, a create tries again this many times, full jitter on a doubling
# delay, within a few seconds of the API's 29; what still fails is left to the sweep. By hand: the
# SDK's retry settings are per client and count every error, while only throttling is waited out.
THROTTLED_START_RETRIES = 4
THROTTLED_START_FIRST_DELAY = 0.25
# What SendTaskSuccess answers for a token whose execution is no longer waiting on it.
_GONE_TOKEN_ERRORS = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")


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
        for retry in range(THROTTLED_START_RETRIES):
            try:
                return self._start(run_id, state)
            except ClientError as error:
                if _code(error) != "ThrottlingException":
                    raise
            time.sleep(random.uniform(0, THROTTLED_START_FIRST_DELAY * 2**retry))  # noqa: S311 - jitter
        return self._start(run_id, state)

    def _start(self, run_id: str, state: str) -> str:
        try:
            response = self._sfn.start_execution(stateMachineArn=self._arn, name=run_id, input=state)
        except self._sfn.exceptions.ExecutionAlreadyExists:
            return self._execution_arn(run_id)  # started before (by the API or the sweep): harmless
        return response["executionArn"]


class TaskTokens:
    """Sending a waiting state its task token (the callback pattern): needs no state machine ARN, so
    the functions the state machine itself invokes can hold it without a cycle in the template."""

    def __init__(self, client: SFNClient | None = None) -> None:
        self._sfn = client or boto3.client("stepfunctions")

    def resume(self, token: str) -> bool:
        """Lets the execution waiting on the token go on; False when it no longer waits (it was
        stopped or timed out)."""
        try:
            self._sfn.send_task_success(taskToken=token, output="{}")
        except ClientError as error:
            if _code(error) in _GONE_TOKEN_ERRORS:
                return False
            raise
        return True


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
