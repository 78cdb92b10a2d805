"""The mediatasks stack: REST API -> API Lambda -> DynamoDB, one Step Functions execution per task
running ingest -> probe -> encode -> upload Lambdas with the ffmpeg layer, writing to S3; S3 uploads
to the watched bucket become tasks; alarms for ops."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mediatasks import constants as c
from mediatasks_infra.api import Api
from mediatasks_infra.automations import Automations
from mediatasks_infra.common import acknowledge
from mediatasks_infra.config import StackConfig
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.monitoring import Monitoring
from mediatasks_infra.pipeline import Pipeline
from mediatasks_infra.reliability import SDK_RETRIES, Reconciliation
from mediatasks_infra.storage import Storage
from mediatasks_infra.triggers import Triggers, WatchedBucket
from mediatasks_infra.webhooks import Webhooks
from mediatasks_infra.workflows import Workflows


class MediaTasksStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        data = Data(self, "Data")
        storage = Storage(self, "Storage")
        watched = (
            WatchedBucket(self, "Watched", config=config, storage=storage)
            if config.trigger_rules.rules
            else None
        )
        functions = FunctionFactory(
            self,
            config=config,
            environment={
                c.ENV_TASKS_TABLE: data.table.table_name,
                c.ENV_FILES_TABLE: data.files.table_name,
                c.ENV_MEDIA_BUCKET: storage.bucket.bucket_name,
                c.ENV_ALLOWED_INPUT_BUCKETS: ",".join(config.allowed_input_buckets),
                c.ENV_ALLOWED_OUTPUT_BUCKETS: config.allowed_output_buckets.to_json(),
                c.ENV_MAX_INPUT_BYTES: str(config.max_input_bytes),
                c.ENV_MAX_OUTPUT_BYTES: str(config.max_output_bytes),
                c.ENV_WEBHOOK_SECRETS_TABLE: data.webhook_secrets.table_name,
                c.ENV_WEBHOOK_DELIVERIES_TABLE: data.webhook_deliveries.table_name,
                c.ENV_WEBHOOK_KEY_ID: c.WEBHOOK_KEY_ALIAS,
                **(watched.environment(config) if watched else {}),
                **SDK_RETRIES,
            },
        )
        input_buckets: list[s3.IBucket] = [
            s3.Bucket.from_bucket_name(self, f"Input-{name}", name) for name in config.allowed_input_buckets
        ]
        pipeline = Pipeline(
            self,
            "Pipeline",
            config=config,
            functions=functions,
            data=data,
            storage=storage,
            input_buckets=input_buckets + ([watched.bucket] if watched else []),
        )
        reconciliation = Reconciliation(
            self,
            "Reconciliation",
            config=config,
            functions=functions,
            data=data,
            storage=storage,
            state_machine=pipeline.state_machine,
            slots=pipeline.slots,
        )
        webhooks = Webhooks(self, "Webhooks", functions=functions, data=data, storage=storage)
        automations = Automations(
            self,
            "Automations",
            config=config,
            functions=functions,
            data=data,
            state_machine=pipeline.state_machine,
        )
        api = Api(
            self,
            "Api",
            config=config,
            functions=functions,
            data=data,
            storage=storage,
            pipeline=pipeline,
            webhooks=webhooks,
        )
        workflows = Workflows(
            self,
            "Workflows",
            functions=functions,
            data=data,
            storage=storage,
            pipeline=pipeline,
            webhooks=webhooks,
        )
        workflows.grant_starter(api.function)
        workflows.grant_starter(automations.function)  # an automation's run is a workflow task
        workflows.reconciled_by(reconciliation)
        triggers = (
            Triggers(
                self,
                "Triggers",
                config=config,
                watched=watched,
                functions=functions,
                data=data,
                pipeline=pipeline,
            )
            if watched
            else None
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            api=api,
            pipeline=pipeline,
            triggers=triggers,
            webhooks=webhooks,
            functions=[
                *pipeline.step_functions,
                *pipeline.slots.functions,
                api.function,
                api.authorizer_function,
                webhooks.deliver,
                webhooks.dispatch,
                automations.function,
                *([triggers.function] if triggers else []),
                reconciliation.reconcile,
                reconciliation.sweep,
                *workflows.functions,
            ],
        )
        for alarm in reconciliation.alarms:
            alarm.add_alarm_action(actions.SnsAction(monitoring.topic))
        acknowledge_grant_wildcards(self, config)
        cdk.CfnOutput(self, c.OUTPUT_MEDIA_BUCKET, value=storage.bucket.bucket_name)
        cdk.CfnOutput(self, c.OUTPUT_KEYS_TABLE, value=data.keys.table_name)
        cdk.CfnOutput(self, c.OUTPUT_WEBHOOK_SECRETS_TABLE, value=data.webhook_secrets.table_name)
        if watched:
            cdk.CfnOutput(self, c.OUTPUT_TRIGGER_BUCKET, value=watched.bucket.bucket_name)


def acknowledge_grant_wildcards(stack: cdk.Stack, config: StackConfig) -> None:
    """The wildcards CDK's grants write into the functions' policies, each named and explained."""
    objects = "objects of the bucket: keys are made per project and per task at run time"
    wildcards = {
        "Action::s3:GetObject*": "reading objects with their metadata and versions (GetObject, "
        "GetObjectVersion, GetObjectAttributes…)",
        "Action::s3:GetBucket*": "the bucket's location and versioning, read by the SDK",
        "Action::s3:List*": "listing a task's work prefix to clean it up",
        "Action::s3:DeleteObject*": "removing a task's work files and withdrawn outputs",
        "Action::s3:Abort*": "aborting a failed multipart upload of a large output",
        "Action::s3:PutObject*": "writing outputs and work files (PutObject, PutObjectLegalHold…)",
        "Resource::*": "X-Ray's PutTraceSegments/PutTelemetryRecords, CloudWatch Logs' log "
        "delivery actions and DynamoDB's ListStreams take no resource ARN: AWS requires *",
        f"Resource::<{c.MEDIA_BUCKET_ID}.Arn>/*": objects,
        f"Resource::<{c.MEDIA_BUCKET_ID}.Arn>/{c.WORK_PREFIX}*": "a task's work files (keys made per task "
        "at run time)",
        f"Resource::<{c.TRIGGER_BUCKET_ID}.Arn>/*": objects,
        f"Resource::<{c.TASKS_TABLE_ID}.Arn>/index/*": "the tasks table's listing indexes",
        f"Resource::<{c.FILES_TABLE_ID}.Arn>/index/*": "the files table's listing indexes",
        f"Resource::<{c.MEDIA_BUCKET_ID}.Arn>/{c.UPLOADS_PREFIX}*": "the upload area: keys made per project "
        "and per upload at run time",
        f"Resource::<{c.MEDIA_BUCKET_ID}.Arn>/{c.FILES_PREFIX}*": "published files, deleted by DELETE "
        "/files (keys made per project and per file at run time)",
        "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{c.STATE_MACHINE_ID}"}}]}}]}}:*': "stopping "
        "an execution of our own state machine (a cancelled task's)",
    }
    for name in {*config.allowed_input_buckets, config.trigger_bucket_name} - {""}:
        wildcards[f"Resource::arn:<AWS::Partition>:s3:::{name}/*"] = (
            f"objects of {name}, a bucket ops allowed"
        )
    for area in config.allowed_output_buckets.areas:
        wildcards[f"Resource::arn:<AWS::Partition>:s3:::{area.bucket}/{area.fixed_prefix}*"] = (
            f"objects under {area.prefix} in {area.bucket}, where ops let tasks write"
        )
    acknowledge(stack, {f"AwsSolutions-IAM5[{finding}]": reason for finding, reason in wildcards.items()})
