"""Lambda's event source mappings, on one machine.

SQS: polls the emulator's queue, hands each batch to the mapped function in-process and deletes what
it did not report as failed, as Lambda does with ReportBatchItemFailures. Failed messages come back
after the queue's visibility timeout and, after the redrive policy's receive count, land in the
dead-letter queue (moto applies that policy).

DynamoDB streams: reads the table's stream from the latest record on, hands each batch of records
to the mapped function and hands the records it reported as failed to it again, up to the mapping's
retry attempts (the mapping's filter is the cloud's saving; the function checks every record).

EventBridge rules: a rule on Step Functions execution status changes gets the event for each
execution of its state machine seen ending in one of its statuses (the emulator sends none itself);
a schedule rule's target is invoked on a timer (its rate, or a shorter one for the local stack), and
retried as the rule's retry policy says."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from mediatasks.local.cloud import LocalCloud, LocalFunction, invoke_in_process
from mediatasks.local.template import ACCOUNT_ID, REGION, resources_of_type

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.literals import ExecutionStatusType

logger = logging.getLogger("mediatasks.local")
# The longest one receive call waits for a message; it bounds how long stopping takes.
POLL_SECONDS = 1
# How long a stream poller rests after reading nothing (streams have no long polling).
IDLE_SECONDS = 0.2


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda gives a function for a batch of received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


class Poller(ABC):
    """Calls `poll_once` on a background thread until stopped."""

    idle_seconds = IDLE_SECONDS

    def __init__(self, name: str) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poll-{name}", daemon=True)
        self._name = name

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=POLL_SECONDS + 5)

    @abstractmethod
    def poll_once(self) -> int:
        """Hands one batch to the function; returns how many items it held (0: nothing new)."""

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                if not self.poll_once():
                    self._stopped.wait(self.idle_seconds)
            except Exception:  # the emulator stopping under us, or a malformed reply: poll again
                if not self._stopped.is_set():
                    logger.exception("polling %s failed", self._name)
                    self._stopped.wait(POLL_SECONDS)


class QueuePoller(Poller):
    def __init__(self, function: LocalFunction, queue_arn: str, batch_size: int) -> None:
        super().__init__(function.logical_id)
        self._function = function
        self._queue_arn = queue_arn
        self._batch_size = min(batch_size, 10)  # one ReceiveMessage returns at most 10
        self._sqs = boto3.client("sqs")
        self._queue_url = self._sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]

    def poll_once(self) -> int:
        """Delivers one batch; returns how many messages it held."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=POLL_SECONDS,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        response_headers: dict[str, str] = {}
        payload = json.dumps(sqs_event(messages, self._queue_arn)).encode()
        reply = json.loads(invoke_in_process(self._function, payload, response_headers))
        if "x-amz-function-error" in response_headers:
            return len(messages)  # the whole batch failed: every message comes back later
        failed = {failure["itemIdentifier"] for failure in (reply or {}).get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done)
                ],
            )
        return len(messages)


def _json_value(value: Any) -> Any:
    """The JSON Lambda gives a function for what boto3 decoded (timestamps, binary values)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot encode {type(value).__name__}")


class StreamPoller(Poller):
    def __init__(self, function: LocalFunction, table_name: str, batch_size: int, retries: int) -> None:
        super().__init__(function.logical_id)
        self._function = function
        self._batch_size = batch_size
        self._retries = retries
        self._streams = boto3.client("dynamodbstreams")
        stream_arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        (shard,) = self._streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        self._stream_arn = stream_arn
        self._shard_id = shard["ShardId"]
        # the last record handed on: a lost iterator is taken up again right after it
        self._last_sequence: str | None = None
        self._iterator: str | None = self._streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=self._shard_id, ShardIteratorType="LATEST"
        )["ShardIterator"]

    def _resumed_iterator(self) -> str:
        where: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_sequence}
            if self._last_sequence is not None
            else {"ShardIteratorType": "LATEST"}
        )
        iterator: str = self._streams.get_shard_iterator(
            StreamArn=self._stream_arn, ShardId=self._shard_id, **where
        )["ShardIterator"]
        return iterator

    def poll_once(self) -> int:
        # a stream that answered without a next iterator, or refused the one it gave, must not stop
        # the events for good (media.created was seen to stop in a long-lived stack)
        iterator = self._iterator or self._resumed_iterator()
        self._iterator = None
        response = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size)
        self._iterator = response.get("NextShardIterator")
        if response["Records"]:
            self._last_sequence = response["Records"][-1]["dynamodb"]["SequenceNumber"]
        records = [{**record, "eventSourceARN": self._stream_arn} for record in response["Records"]]
        for _ in range(self._retries + 1):
            if not records:
                break
            records = self._failed(records)
        if records:
            logger.error("%s gave up on %d stream records", self._function.logical_id, len(records))
        return len(response["Records"])

    def _failed(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Hands the records to the function; returns those it did not process."""
        response_headers: dict[str, str] = {}
        payload = json.dumps({"Records": records}, default=_json_value).encode()
        reply = json.loads(invoke_in_process(self._function, payload, response_headers))
        if "x-amz-function-error" in response_headers:
            return records
        failed = {failure["itemIdentifier"] for failure in (reply or {}).get("batchItemFailures", [])}
        return [record for record in records if record["dynamodb"]["SequenceNumber"] in failed]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def eventbridge_event(
    detail_type: str, source: str, resources: list[str], detail: dict[str, Any]
) -> dict[str, Any]:
    """An event as EventBridge hands it to a rule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": _iso(datetime.now(UTC)),
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


def _invoke_retried(function: LocalFunction, event: dict[str, Any], retries: int) -> None:
    """Invokes a rule's target as EventBridge does: asynchronously, again while it fails."""
    for _ in range(retries + 1):
        response_headers: dict[str, str] = {}
        invoke_in_process(function, json.dumps(event).encode(), response_headers)
        if "x-amz-function-error" not in response_headers:
            return
    logger.error("%s failed on an event %d times", function.logical_id, retries + 1)


class ExecutionStatusPoller(Poller):
    """The "Step Functions Execution Status Change" events a rule matches, for a state machine."""

    idle_seconds = 0.5  # three listings a poll: half a second keeps the emulator's load small

    def __init__(
        self, function: LocalFunction, machine_arn: str, statuses: list[ExecutionStatusType], retries: int
    ) -> None:
        super().__init__(function.logical_id)
        self._function = function
        self._machine_arn = machine_arn
        self._statuses = statuses
        self._retries = retries
        self._sfn = boto3.client("stepfunctions")
        self._delivered: set[str] = set()

    def poll_once(self) -> int:
        delivered = 0
        for status in self._statuses:
            paginator = self._sfn.get_paginator("list_executions")
            for page in paginator.paginate(stateMachineArn=self._machine_arn, statusFilter=status):
                for listed in page["executions"]:
                    if listed["executionArn"] in self._delivered:
                        continue
                    self._delivered.add(listed["executionArn"])
                    execution = self._sfn.describe_execution(executionArn=listed["executionArn"])
                    _invoke_retried(self._function, self._event(dict(execution)), self._retries)
                    delivered += 1
        return delivered

    def _event(self, execution: dict[str, Any]) -> dict[str, Any]:
        return eventbridge_event(
            "Step Functions Execution Status Change",
            "aws.states",
            [execution["executionArn"]],
            {
                "executionArn": execution["executionArn"],
                "stateMachineArn": self._machine_arn,
                "name": execution["name"],
                "status": execution["status"],
                "startDate": int(execution["startDate"].timestamp() * 1000),
                "stopDate": int(execution["stopDate"].timestamp() * 1000)
                if "stopDate" in execution
                else None,
                "input": execution.get("input"),
                "output": execution.get("output"),
            },
        )


class SchedulePoller(Poller):
    """Invokes a schedule rule's target every `seconds`."""

    def __init__(self, function: LocalFunction, seconds: float, retries: int) -> None:
        super().__init__(function.logical_id)
        self._function = function
        self._seconds = seconds
        self._retries = retries
        self._next = time.monotonic() + seconds

    def poll_once(self) -> int:
        if time.monotonic() < self._next:
            return 0
        self._next = time.monotonic() + self._seconds
        event = eventbridge_event("Scheduled Event", "aws.events", [], {})
        _invoke_retried(self._function, event, self._retries)
        return 1


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """The period of an EventBridge `rate(...)` expression, in seconds."""
    match = _RATE.fullmatch(expression)
    if match is None:
        raise ValueError(f"the local stack runs rate() schedules only, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def rule_targets(cloud: LocalCloud, schedule_seconds: float | None) -> list[Poller]:
    """One poller per target of each EventBridge rule of the template: the execution status
    changes of one of our state machines, or a schedule (every `schedule_seconds` if given)."""
    pollers: list[Poller] = []
    for props in resources_of_type(cloud.template, "AWS::Events::Rule").values():
        for target in props["Targets"]:
            function = cloud.functions[target["Arn"]["Fn::GetAtt"][0]]
            retries = int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185))
            if "ScheduleExpression" in props:
                seconds = schedule_seconds or rate_seconds(props["ScheduleExpression"])
                pollers.append(SchedulePoller(function, seconds, retries))
                continue
            pattern = props["EventPattern"]
            if pattern.get("source") != ["aws.states"]:
                raise ValueError(f"the local stack delivers no events from {pattern.get('source')}")
            (machine,) = cloud.names.resolve(pattern["detail"]["stateMachineArn"])
            pollers.append(ExecutionStatusPoller(function, machine, pattern["detail"]["status"], retries))
    return pollers


def event_sources(cloud: LocalCloud, schedule_seconds: float | None = None) -> list[Poller]:
    """One poller per event source mapping of the template (an SQS queue's or a table stream's) and
    per EventBridge rule target."""
    pollers: list[Poller] = rule_targets(cloud, schedule_seconds)
    for props in resources_of_type(cloud.template, "AWS::Lambda::EventSourceMapping").values():
        function = cloud.functions[props["FunctionName"]["Ref"]]
        source = props["EventSourceArn"]
        batch_size = int(props.get("BatchSize", 10))
        if isinstance(source, dict) and source.get("Fn::GetAtt", [None, None])[1] == "StreamArn":
            table = cloud.names.refs[source["Fn::GetAtt"][0]]
            retries = int(props.get("MaximumRetryAttempts", 0))
            pollers.append(StreamPoller(function, table, batch_size, retries))
        else:
            pollers.append(QueuePoller(function, cloud.names.resolve(source), batch_size))
    return pollers
