"""Webhook delivery: the tasks table's stream starts one execution of the delivery state machine per
ended task with a webhook_url (and the API one per replay). Each execution is a wait loop around the
delivery function (one POST per call) with exponential backoff, for at least a day. Signing secrets
are encrypted with a customer managed KMS key that only the API (encrypt) and the delivery function
(decrypt) may use."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mediatasks import constants as c
from mediatasks.domain.webhooks import EVENT_OF_STATUS
from mediatasks_infra.common import acknowledge, override_id, table_stream_source
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.storage import Storage

# A delivery retries for a day (the functions' default), then waits at most an hour more.
DELIVERY_TIMEOUT = cdk.Duration.hours(26)


class Webhooks(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, functions: FunctionFactory, data: Data, storage: Storage
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            c.WEBHOOK_KEY_ID,
            alias=c.WEBHOOK_KEY_ALIAS,
            description="Encrypts the projects' webhook signing secrets",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        override_id(self.key, c.WEBHOOK_KEY_ID)
        self.deliver = functions.create(
            c.DELIVER_FUNCTION_ID, "deliverWebhook", handler="mediatasks.handlers.webhooks.deliver"
        )
        data.table.grant_read_data(self.deliver)
        data.webhook_secrets.grant_read_data(self.deliver)
        data.webhook_deliveries.grant_write_data(self.deliver)
        storage.bucket.grant_read(self.deliver)  # the body's presigned links to outputs
        self.key.grant(self.deliver, "kms:Decrypt")

        attempt = tasks.LambdaInvoke(
            self, "Attempt", lambda_function=self.deliver, payload_response_only=True, result_path="$"
        )
        backoff = sfn.Wait(self, "Backoff", time=sfn.WaitTime.seconds_path("$.wait_seconds"))
        outcome = (
            sfn.Choice(self, "Outcome")
            .when(sfn.Condition.string_equals("$.outcome", "retrying"), backoff.next(attempt))
            .when(sfn.Condition.string_equals("$.outcome", "delivered"), sfn.Succeed(self, "Delivered"))
            .otherwise(
                sfn.Fail(self, "GaveUp", error="DeliveryFailed", cause="every attempt failed; see its log")
            )
        )
        self.state_machine = sfn.StateMachine(
            self,
            c.DELIVERY_STATE_MACHINE_ID,
            definition_body=sfn.DefinitionBody.from_chainable(attempt.next(outcome)),
            timeout=DELIVERY_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "DeliveryLogs", retention=logs.RetentionDays.ONE_MONTH),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,  # its state names the task; the function logs the rest
            ),
        )
        override_id(self.state_machine, c.DELIVERY_STATE_MACHINE_ID)
        acknowledge(
            self.state_machine.role.node.find_child("DefaultPolicy").node.find_child("Resource"),
            {
                f"AwsSolutions-IAM5[Resource::<{c.DELIVER_FUNCTION_ID}.Arn>:*]": "invoking any published "
                "version of our own delivery function"
            },
        )

        self.dispatch = functions.create(
            c.DISPATCH_FUNCTION_ID,
            "dispatchWebhooks",
            handler="mediatasks.handlers.webhooks.dispatch",
            environment={c.ENV_DELIVERY_STATE_MACHINE_ARN: self.state_machine.state_machine_arn},
        )
        self.state_machine.grant_start_execution(self.dispatch)
        ended = [status.value for status in EVENT_OF_STATUS]
        self.dispatch.add_event_source(
            table_stream_source(
                data.table,
                # only writes that end a task with a webhook_url (the function checks again)
                {
                    "eventName": lambda_.FilterRule.is_equal("MODIFY"),
                    "dynamodb": {
                        "NewImage": {
                            "status": {"S": lambda_.FilterRule.or_(*ended)},
                            "webhook_url": {"S": lambda_.FilterRule.exists()},
                        },
                        "OldImage": {"status": {"S": [{"anything-but": ended}]}},
                    },
                },
            )
        )

    def grant_api(self, function: lambda_.IFunction, data: Data) -> None:
        """What the API's webhook routes need: make and rotate secrets (encrypt only: rotating
        changes the old secrets' expiry beside their ciphertext), read the log, replay."""
        data.webhook_secrets.grant_read_write_data(function)
        data.webhook_deliveries.grant_read_data(function)
        self.key.grant(function, "kms:Encrypt")
        self.state_machine.grant_start_execution(function)
