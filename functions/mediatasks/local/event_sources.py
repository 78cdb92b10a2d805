"""Lambda's event source mappings, on one machine.

SQS: polls the emulator's queue, hands each batch to the mapped function in-process and deletes what
it did not report as failed, as Lambda does with ReportBatchItemFailures. Failed messages come back
after the queue's visibility timeout and, after the redrive policy's receive count, land in the
dead-letter queue (moto applies that policy).

DynamoDB streams: reads the table's stream from the latest record on, hands each batch of records
to the mapped function and hands the records it reported as failed to it again, up to the mapping's
retry attempts (the mapping's filter is the cloud's saving; the function checks every record)."""

from __future__ import annotations

import base64
import json
import logging
import threading
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

import boto3

from mediatasks.local.cloud import LocalCloud, LocalFunction, invoke_in_process
from mediatasks.local.template import REGION, resources_of_type

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
                    self._stopped.wait(IDLE_SECONDS)
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
        self._iterator: str | None = self._streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]

    def poll_once(self) -> int:
        if self._iterator is None:
            return 0
        response = self._streams.get_records(ShardIterator=self._iterator, Limit=self._batch_size)
        self._iterator = response.get("NextShardIterator")
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


def event_sources(cloud: LocalCloud) -> list[Poller]:
    """One poller per event source mapping of the template: an SQS queue's or a table stream's."""
    pollers: list[Poller] = []
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
