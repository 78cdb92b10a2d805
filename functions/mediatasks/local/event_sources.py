"""Lambda's SQS event source mapping, on one machine: polls the emulator's queue, hands each batch
to the mapped function in-process and deletes what it did not report as failed, as Lambda does with
ReportBatchItemFailures. Failed messages come back after the queue's visibility timeout and, after
the redrive policy's receive count, land in the dead-letter queue (moto applies that policy)."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import boto3

from mediatasks.local.cloud import LocalCloud, LocalFunction, invoke_in_process
from mediatasks.local.template import REGION, resources_of_type

logger = logging.getLogger("mediatasks.local")
# The longest one receive call waits for a message; it bounds how long stopping takes.
POLL_SECONDS = 1


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


class QueuePoller:
    def __init__(self, function: LocalFunction, queue_arn: str, batch_size: int) -> None:
        self._function = function
        self._queue_arn = queue_arn
        self._batch_size = min(batch_size, 10)  # one ReceiveMessage returns at most 10
        self._sqs = boto3.client("sqs")
        self._queue_url = self._sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poll-{function.logical_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=POLL_SECONDS + 5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.poll_once()
            except Exception:  # the emulator stopping under us, or a malformed reply: poll again
                if not self._stopped.is_set():
                    logger.exception("polling %s failed", self._queue_arn)
                    self._stopped.wait(POLL_SECONDS)

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


def queue_pollers(cloud: LocalCloud) -> list[QueuePoller]:
    """One poller per SQS event source mapping of the template."""
    return [
        QueuePoller(
            cloud.functions[props["FunctionName"]["Ref"]],
            cloud.names.resolve(props["EventSourceArn"]),
            int(props.get("BatchSize", 10)),
        )
        for props in resources_of_type(cloud.template, "AWS::Lambda::EventSourceMapping").values()
    ]
