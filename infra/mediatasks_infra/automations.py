"""Automations: the files table's stream, filtered to writes that store a media's original file
(`media.created`), invokes the automations function, which starts each covering automation's
workflow task (a task made as the API makes it: the tasks and files tables, the state machine).
At deploy, a custom resource has the same function write ops' automations for the watched
bucket's rules (once each: a rule's automation that exists is left as it is)."""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from mediatasks import constants as c
from mediatasks.domain.files import FileStatus
from mediatasks_infra.common import acknowledge, table_stream_source
from mediatasks_infra.config import StackConfig
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory


class Automations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: FunctionFactory,
        data: Data,
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = functions.create(
            c.AUTOMATIONS_FUNCTION_ID,
            "automations",
            handler="mediatasks.handlers.automations.handler",
            environment={
                c.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn,
                c.ENV_IDEMPOTENCY_TABLE: data.idempotency.table_name,
                c.ENV_TRIGGER_RULES: config.trigger_rules.as_json(),
            },
        )
        # a workflow task is made as POST /tasks makes one: its record, its files' records, its execution
        data.table.grant_read_write_data(self.function)
        data.files.grant_read_write_data(self.function)
        data.idempotency.grant_read_write_data(self.function)  # one start per (automation, media)
        state_machine.grant_start_execution(self.function)
        ready = FileStatus.ready.value
        self.function.add_event_source(
            table_stream_source(
                data.files,
                # only writes that make a media's original ready (the function checks again)
                {
                    "eventName": lambda_.FilterRule.or_("INSERT", "MODIFY"),
                    "dynamodb": {
                        "NewImage": {
                            "original": {"BOOL": lambda_.FilterRule.is_equal(True)},
                            "status": {"S": lambda_.FilterRule.is_equal(ready)},
                        }
                    },
                },
            )
        )
        if config.trigger_rules.rules:
            self._seed(config)

    def _seed(self, config: StackConfig) -> None:
        """Invokes the function to seed ops' automations whenever the rules change (their digest is
        the resource's id, so an unchanged deploy calls nothing)."""
        rules = config.trigger_rules.as_json()
        invoke = cr.AwsSdkCall(
            service="Lambda",
            action="invoke",
            parameters={
                "FunctionName": self.function.function_name,
                "Payload": json.dumps({"action": c.SEED_AUTOMATIONS_ACTION}),
            },
            physical_resource_id=cr.PhysicalResourceId.of(hashlib.sha256(rules.encode()).hexdigest()[:32]),
        )
        cr.AwsCustomResource(
            self,
            "SeedOpsAutomations",
            on_create=invoke,
            on_update=invoke,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )
        # the custom resource's provider function is a singleton at the stack's root
        stack = cdk.Stack.of(self)
        for provider in (child for child in stack.node.children if child.node.id.startswith("AWS679f53fac")):
            acknowledge(
                provider,
                {
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]": "CDK's own custom resource that seeds ops' "
                    "automations at deploy time; the AWS managed policy lets it write its logs",
                },
            )
