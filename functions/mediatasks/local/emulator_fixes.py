"""Where moto's Step Functions interpreter (5.2.5) differs from AWS in a way the product relies on,
and the corrections the local stack applies.

A Task whose Resource is a Lambda function's ARN (what CDK's LambdaInvoke with
payload_response_only synthesizes) fails, when the Lambda service itself refuses the invocation, with
the error `Lambda.<code>` in AWS (e.g. `Lambda.TooManyRequestsException`), which is what the
definition's Retry matches. moto's StateTaskLambda names every such error `Exception` (its
`lambda:invoke` service integration names them as AWS does), so no Retry for the Lambda service's
errors would ever match locally. Retry itself, with BackoffRate, MaxDelaySeconds and JitterStrategy
FULL, moto runs as AWS documents it.

StopExecution ends an execution at once in AWS (ABORTED; a Lambda invocation under way runs on by
itself). moto marks it ABORTED only once the state running then has ended, so an execution stopped
in the middle of a 10-minute encode would look RUNNING for those 10 minutes.

moto's DynamoDB is not thread-safe: a TransactWriteItems deep-copies the tables to roll back a
refused transaction while other requests write them ("dictionary changed size during iteration",
answered as a 500, seen with 20 concurrent creates). The local stack serves one DynamoDB write at a
time (reads go on beside them: they change nothing a copy iterates)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, cast

from botocore.exceptions import ClientError
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.backend.execution import Execution

_moto_from_error = StateTaskLambda._from_error
_moto_stop = Execution.stop
_one_dynamodb_write = threading.Lock()
_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")


def _from_error(self: StateTaskLambda, env: Any, ex: Exception) -> FailureEvent:
    if not isinstance(ex, ClientError):
        return _moto_from_error(self, env, ex)
    error = f"Lambda.{ex.response['Error']['Code']}"
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.LambdaFunctionFailed,
        # one kind of details, as moto's own failure events carry (the TypedDict lists every kind)
        event_details=cast(
            EventDetails,
            {
                "lambdaFunctionFailedEventDetails": LambdaFunctionFailedEventDetails(
                    error=error, cause=str(ex.response["Error"].get("Message", ""))
                )
            },
        ),
    )


def _stop(self: Execution, stop_date: Any, error: str | None, cause: str | None) -> None:
    _moto_stop(self, stop_date, error, cause)
    if self.exec_status == ExecutionStatus.RUNNING:
        self.exec_status = ExecutionStatus.ABORTED
        self.stop_date = stop_date


def _one_at_a_time(write: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    @functools.wraps(write)
    def serialized(self: DynamoHandler) -> Any:
        with _one_dynamodb_write:
            return write(self)

    return serialized


def apply() -> None:
    StateTaskLambda._from_error = _from_error  # type: ignore[method-assign]
    Execution.stop = _stop  # type: ignore[method-assign]
    for name in _DYNAMODB_WRITES:
        write = getattr(DynamoHandler, name)
        if not hasattr(write, "__wrapped__"):  # once, however many stacks this process starts
            setattr(DynamoHandler, name, _one_at_a_time(write))
