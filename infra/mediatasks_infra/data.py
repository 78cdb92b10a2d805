"""DynamoDB: tasks, API keys (hashed), published files, webhook secrets and attempts, and
idempotency records."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from mediatasks import constants as c
from mediatasks_infra.common import override_id


def _table(
    scope: Construct,
    logical_id: str,
    key: str,
    *,
    sort_key: str | None = None,
    expires: str | None = None,
    stream: dynamodb.StreamViewType | None = None,
) -> dynamodb.Table:
    """A table as every table here is: on demand, encrypted, recoverable, kept on stack deletion."""
    table = dynamodb.Table(
        scope,
        logical_id,
        partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
        stream=stream,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=expires,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    override_id(table, logical_id)
    return table


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # its stream tells the webhook dispatcher which tasks just ended
        self.table = _table(self, c.TASKS_TABLE_ID, "id", stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
        # Listing indexes (8 of the 20 a table may have): keys only, since a page reads its tasks by id.
        for (partition, sort), index_name in c.INDEX_BY_SORT.items():
            self.table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=c.LISTING_SORTS[sort], type=dynamodb.AttributeType.NUMBER),
                projection_type=dynamodb.ProjectionType.KEYS_ONLY,
            )
        # API keys, stored only as their SHA-256 with the project they belong to
        self.keys = _table(self, c.KEYS_TABLE_ID, "key_hash")
        # the projects' files, media items and automations, by id; keys-only indexes list them per
        # project, a media's files, and the file a signed URL names by its path; its stream tells
        # the automations which media were just made
        self.files = _table(self, c.FILES_TABLE_ID, "id", stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
        for index_name, partition in c.FILE_INDEXES.items():
            self.files.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=c.FILE_INDEX_SORT, type=dynamodb.AttributeType.NUMBER),
                projection_type=dynamodb.ProjectionType.KEYS_ONLY,
            )
        # each project's webhook signing secrets (KMS ciphertexts), and every delivery attempt by task
        self.webhook_secrets = _table(self, c.WEBHOOK_SECRETS_TABLE_ID, "project_id")
        self.webhook_deliveries = _table(
            self, c.WEBHOOK_DELIVERIES_TABLE_ID, "task_id", sort_key="attempt_key", expires="expires"
        )
        # each project's running slots and the tasks waiting for one (mediatasks_infra.slots)
        self.slots = _table(self, c.SLOTS_TABLE_ID, "project_id", sort_key="entry")
        # Powertools idempotency records (one per uploaded object version, one per API
        # Idempotency-Key), removed when they expire
        self.idempotency = _table(self, c.IDEMPOTENCY_TABLE_ID, "id", expires="expiration")
