"""Webhooks' AWS side: signing secrets (KMS-encrypted, in DynamoDB), the delivery log, starting a
delivery's state machine, and the POST itself under the fetch policy."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from mediatasks.adapters.fetch import BlockedAddress, FetchPolicy, post
from mediatasks.adapters.store import from_dynamo, to_dynamo
from mediatasks.domain.errors import InputUnreachable
from mediatasks.domain.webhooks import Delivery, DeliveryAttempt, SecretPeriod, signing_order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_stepfunctions.client import SFNClient

# A receiver has 10 s in all: 5 to accept the connection, 5 to answer.
WEBHOOK_POLICY = FetchPolicy(connect_timeout=5.0, read_timeout=5.0, max_redirects=0)
# The delivery log keeps attempts this long (DynamoDB's TTL removes them).
LOG_DAYS = 30


class SecretsChanged(Exception):
    """Another rotation wrote the project's secrets between our read and our write."""


class SealedSecret(SecretPeriod):
    """A signing secret as stored: its KMS ciphertext."""

    ciphertext: bytes


class SecretStore:
    """Each project's signing secrets, one item per project, each secret encrypted by KMS with the
    project id as encryption context (a ciphertext cannot be moved to another project). Only the
    signing side decrypts; making and rotating secrets only encrypts."""

    def __init__(self, table_name: str, key_id: str, table: Table | None = None, kms: Any = None) -> None:
        self._table = table or boto3.resource("dynamodb").Table(table_name)
        self._key_id = key_id
        self._kms = kms or boto3.client("kms")

    def sealed(self, project_id: str) -> tuple[list[SealedSecret], int]:
        """The project's secrets, still encrypted, and the item's version (0: none yet)."""
        item = self._table.get_item(Key={"project_id": project_id}, ConsistentRead=True).get("Item")
        if item is None:
            return [], 0
        entries: list[dict[str, Any]] = item["secrets"]  # type: ignore[assignment]
        kept = [
            SealedSecret(
                ciphertext=bytes(entry["ciphertext"]),
                created_at=int(entry["created_at"]),
                expires_at=int(entry["expires_at"]) if entry.get("expires_at") is not None else None,
            )
            for entry in entries
        ]
        return kept, int(item["version"])  # type: ignore[arg-type]

    def seal(self, project_id: str, secret: str) -> bytes:
        blob: bytes = self._kms.encrypt(
            KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext={"project_id": project_id}
        )["CiphertextBlob"]
        return blob

    def signing_secrets(self, project_id: str, now_ms: int) -> list[str]:
        """The secrets that sign now, in the clear, newest first."""
        return [
            self._kms.decrypt(CiphertextBlob=secret.ciphertext, EncryptionContext={"project_id": project_id})[
                "Plaintext"
            ].decode()
            for secret in signing_order(self.sealed(project_id)[0], now_ms)
        ]

    def save(self, project_id: str, kept: list[SealedSecret], version: int) -> None:
        """Writes the secrets if the item is still at `version` (raises SecretsChanged if not)."""
        entries = [secret.model_dump(exclude_none=True) for secret in kept]
        try:
            self._table.put_item(
                Item={"project_id": project_id, "secrets": entries, "version": version + 1},
                ConditionExpression="attribute_not_exists(project_id) OR version = :version",
                ExpressionAttributeValues={":version": version},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise SecretsChanged(project_id) from error
            raise


class DeliveryLog:
    """Every attempt of every delivery, by task, in the order they were made."""

    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = table or boto3.resource("dynamodb").Table(table_name)

    def record(self, attempt: DeliveryAttempt) -> None:
        item = to_dynamo(attempt.model_dump(mode="json", exclude_none=True))
        item["attempt_key"] = f"{attempt.attempted_at:015d}#{attempt.delivery_id}#{attempt.attempt:04d}"
        item["expires"] = int(time.time()) + LOG_DAYS * 24 * 3600
        self._table.put_item(Item=item)

    def attempts(self, task_id: str) -> list[DeliveryAttempt]:
        arguments: dict[str, Any] = {
            "KeyConditionExpression": Key("task_id").eq(task_id),
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**arguments)
            items.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [
            DeliveryAttempt.model_validate(
                {k: v for k, v in from_dynamo(item).items() if k not in ("attempt_key", "expires")}
            )
            for item in items
        ]


class DeliveryStarter:
    """Starts a delivery's own execution of the delivery state machine."""

    def __init__(self, state_machine_arn: str, client: SFNClient | None = None) -> None:
        self._arn = state_machine_arn
        self._sfn = client or boto3.client("stepfunctions")

    def start(self, delivery: Delivery, execution_name: str) -> bool:
        """False when an execution of that name already exists: the delivery is already on its way."""
        if not self._arn:
            raise RuntimeError("starting a delivery needs the delivery state machine ARN in the environment")
        try:
            self._sfn.start_execution(
                stateMachineArn=self._arn,
                name=execution_name,
                input=json.dumps(delivery.model_dump(mode="json")),
            )
        except self._sfn.exceptions.ExecutionAlreadyExists:
            return False
        return True


@dataclass(frozen=True)
class Answer:
    """What a receiver did with one POST."""

    status_code: int | None
    error: str | None
    duration_ms: int


def send_webhook(url: str, body: bytes, headers: dict[str, str], *, allow_loopback: bool) -> Answer:
    """POSTs a webhook under the fetch policy (public addresses only, checked after DNS, unless
    the local flag allows loopback); redirects are not followed."""
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        status = post(
            url,
            body,
            {"Content-Type": "application/json", **headers},
            replace(WEBHOOK_POLICY, allow_loopback=allow_loopback),
        )
    except BlockedAddress:
        error = "the webhook URL points at an address that is not public"
    except InputUnreachable:
        error = "the webhook URL could not be reached (no DNS answer, no connection or no reply in time)"
    if status is not None and not 200 <= status < 300:
        error = f"the receiver answered HTTP {status}"
    return Answer(status, error, int((time.monotonic() - started) * 1000))
