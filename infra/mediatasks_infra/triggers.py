"""S3 event triggers: objects created under a rule's prefix in the watched bucket are announced to
an SQS queue (with a dead-letter queue) that the trigger function drains in batches."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as notifications
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mediatasks import constants as c
from mediatasks_infra.common import acknowledge, override_id
from mediatasks_infra.config import StackConfig
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.pipeline import Pipeline
from mediatasks_infra.storage import ABORT_INCOMPLETE_UPLOADS, Storage, private_bucket

# S3 gives up on a message after this many deliveries and moves it to the dead-letter queue.
MAX_RECEIVES = 3
BATCH_SIZE = 10


class WatchedBucket(Construct):
    """The bucket whose uploads become tasks: created here, or an existing one named in context."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        self.bucket: s3.IBucket
        if config.trigger_bucket_name:
            self.bucket = s3.Bucket.from_bucket_name(self, c.TRIGGER_BUCKET_ID, config.trigger_bucket_name)
        else:
            self.bucket = private_bucket(
                self,
                c.TRIGGER_BUCKET_ID,
                access_logs=storage.access_logs,
                lifecycle_rules=[ABORT_INCOMPLETE_UPLOADS],
            )

    def environment(self, config: StackConfig) -> dict[str, str]:
        """What every function needs to know: which prefixes each project's tasks may read."""
        return {
            c.ENV_TRIGGER_BUCKET: self.bucket.bucket_name,
            c.ENV_TRIGGER_PREFIXES: json.dumps(
                config.trigger_rules.prefixes_by_project(), separators=(",", ":")
            ),
        }


class Triggers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        watched: WatchedBucket,
        functions: FunctionFactory,
        data: Data,
        pipeline: Pipeline,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            c.TRIGGER_DEAD_LETTER_QUEUE_ID,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        override_id(self.dead_letters, c.TRIGGER_DEAD_LETTER_QUEUE_ID)
        acknowledge(self.dead_letters, {"AwsSolutions-SQS3": "this is the trigger queue's dead-letter queue"})
        timeout = config.function_sizes["trigger"].timeout_seconds
        self.queue = sqs.Queue(
            self,
            c.TRIGGER_QUEUE_ID,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # AWS's advice for a Lambda event source: six times the function's timeout
            visibility_timeout=cdk.Duration.seconds(6 * timeout),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVES, queue=self.dead_letters),
        )
        override_id(self.queue, c.TRIGGER_QUEUE_ID)
        self.function = functions.create(
            c.TRIGGER_FUNCTION_ID,
            "trigger",
            handler="mediatasks.handlers.trigger.handler",
            environment={
                c.ENV_STATE_MACHINE_ARN: pipeline.state_machine.state_machine_arn,
                c.ENV_TRIGGER_RULES: config.trigger_rules.as_json(),
                c.ENV_IDEMPOTENCY_TABLE: data.idempotency.table_name,
            },
        )
        data.table.grant_read_write_data(self.function)
        data.files.grant_read_write_data(
            self.function
        )  # a task's output file and media, written as it starts
        data.idempotency.grant_read_write_data(self.function)
        pipeline.state_machine.grant_start_execution(self.function)
        self.function.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=BATCH_SIZE, report_batch_item_failures=True)
        )
        destination = notifications.SqsDestination(self.queue)
        for rule in config.trigger_rules.rules:
            watched.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED, destination, s3.NotificationKeyFilter(prefix=rule.prefix)
            )
        stack = cdk.Stack.of(self)
        for handler in (
            child for child in stack.node.children if child.node.id.startswith("BucketNotificationsHandler")
        ):
            acknowledge(
                handler,
                {
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]": "CDK's own custom resource that sets the bucket's "
                    "notifications at deploy time; the AWS managed policy lets it write its logs",
                },
            )
