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
answered as a 500, seen with 20 concurrent creates), and an UpdateItem applies its SET clauses one
by one, so a read beside it saw a task `succeeded` with no output yet. DynamoDB applies each
request atomically; the local stack serves one DynamoDB request at a time (they take microseconds
next to the HTTP round trip).

That copy is also why the local stack slowed and grew with every task: moto deep-copies a whole
table (once per item of the transaction that touches it) to roll a refused transaction back, so each
create copied the tasks table five times (2.2 GB and 24 s per create after 200 creates from 20
clients). The local stack keeps a copy of only the items a transaction touches, and puts those back
when it is refused."""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import moto.dynamodb.models as moto_dynamodb_models
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.backend.execution import Execution

_moto_from_error = StateTaskLambda._from_error
_moto_stop = Execution.stop
_moto_transact_write_items = DynamoDBBackend.transact_write_items
_one_dynamodb_request = threading.Lock()
_SERIALIZED_MARK = "mediatasks_one_at_a_time"


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


def _one_at_a_time(answer: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    @functools.wraps(answer)
    def serialized(self: DynamoHandler) -> Any:
        with _one_dynamodb_request:
            return answer(self)

    # Marked by name: moto's own call_action is already a functools.wraps wrapper (amz_crc32), so
    # `__wrapped__` cannot tell whether this one was applied.
    setattr(serialized, _SERIALIZED_MARK, True)
    return serialized


def serializes_dynamodb_requests() -> bool:
    """Whether the emulator answers one DynamoDB request at a time (apply() has run here)."""
    return bool(getattr(DynamoHandler.call_action, _SERIALIZED_MARK, False))


@contextmanager
def dynamodb_paused() -> Iterator[None]:
    """No DynamoDB request is answered meanwhile: the tables read (or written) in this process
    then are one moment's, as a request sees them."""
    with _one_dynamodb_request:
        yield


class _NoTableCopies:
    """Stands in for the `copy` module in moto's DynamoDB models: a table is not copied there (the
    transaction's items are, in _transact_write_items); anything else is."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _item_key(table: Table, operation: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    attributes = operation["Key"] if "Key" in operation else operation["Item"]
    range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    return DynamoType(attributes[table.hash_key_attr]), range_value


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
    for action in transact_items:
        operation = next(iter(action.values()))
        table = self.tables.get(operation.get("TableName", ""))
        if table is None or not ("Key" in operation or "Item" in operation):
            continue
        hash_value, range_value = _item_key(table, operation)
        before = table.get_item(hash_value, range_value)
        saved.append((table, hash_value, range_value, copy.deepcopy(before)))
    try:
        _moto_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, before in reversed(saved):
            if range_value is None:
                table.items.pop(hash_value, None)
                if before is not None:
                    table.items[hash_value] = before
            else:
                table.items[hash_value].pop(range_value, None)
                if before is not None:
                    table.items[hash_value][range_value] = before
        raise


def apply() -> None:
    StateTaskLambda._from_error = _from_error  # type: ignore[method-assign]
    Execution.stop = _stop  # type: ignore[method-assign]
    if DynamoDBBackend.transact_write_items is not _transact_write_items:
        setattr(moto_dynamodb_models, "copy", _NoTableCopies)  # noqa: B010 - stands in for a module
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    if not serializes_dynamodb_requests():  # once, however many stacks run here
        DynamoHandler.call_action = _one_at_a_time(DynamoHandler.call_action)  # type: ignore[method-assign]
