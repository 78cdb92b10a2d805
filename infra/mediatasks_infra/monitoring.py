"""Alarms for ops, published to an SNS topic (with an email subscription when one is configured)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from mediatasks import constants as c
from mediatasks_infra.api import Api
from mediatasks_infra.config import StackConfig
from mediatasks_infra.pipeline import Pipeline
from mediatasks_infra.triggers import Triggers
from mediatasks_infra.webhooks import Webhooks

FIVE_MINUTES = cdk.Duration.minutes(5)
MAX_ALARM_METRICS = 10


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        api: Api,
        pipeline: Pipeline,
        triggers: Triggers | None,
        webhooks: Webhooks,
        functions: list[lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "AlarmTopic", display_name="mediatasks alarms", enforce_ssl=True)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyCloudWatchPublishes",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringNotEquals": {"aws:PrincipalServiceName": "cloudwatch.amazonaws.com"}},
            )
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        machine = pipeline.state_machine
        self.alarms = {
            # bad inputs fail tasks too: the threshold separates a broken pipeline from bad uploads
            "FailedTasks": _any(
                self,
                "FailedTasks",
                machine.metric_failed(period=cdk.Duration.minutes(15)),
                "Many task executions failed in 15 minutes: check the tasks' errors",
                threshold=config.failed_tasks_alarm_threshold,
            ),
            "TimedOutTasks": _any(
                self,
                "TimedOutTasks",
                machine.metric_timed_out(period=FIVE_MINUTES),
                "A task execution ran into the state machine's timeout",
            ),
            "Api5xx": _any(
                self,
                "Api5xx",
                api.rest_api.metric_server_error(period=FIVE_MINUTES),
                "The API answered 5xx (an internal_error or an integration failure)",
            ),
            # a delivery fails only after a day of retries (or when its task is gone)
            "FailedWebhookDeliveries": _any(
                self,
                "FailedWebhookDeliveries",
                webhooks.state_machine.metric_failed(period=FIVE_MINUTES),
                "A webhook could not be delivered for a day: see GET /tasks/{id}/webhooks and the "
                "delivery function's logs",
            ),
            "ApiClientErrors": _any(
                self,
                "ApiClientErrors",
                api.rest_api.metric_client_error(period=FIVE_MINUTES),
                "Many 4xx answers, which include the stage's and the keys' throttling (429)",
                threshold=100,
            ),
            "AddressesRateLimited": _any(
                self,
                "AddressesRateLimited",
                cloudwatch.Metric(
                    namespace="AWS/WAFV2",
                    metric_name="BlockedRequests",
                    dimensions_map={
                        "WebACL": str(api.web_acl.name),
                        "Rule": "RatePerAddress",
                        "Region": cdk.Aws.REGION,
                    },
                    statistic="Sum",
                    period=FIVE_MINUTES,
                ),
                "The web ACL rate-limited an address (too many requests from one IP)",
            ),
        }
        # an alarm's math may sum at most 10 metrics: one throttle alarm per ten functions
        for first in range(0, len(functions), MAX_ALARM_METRICS):
            name = "FunctionThrottles" + (str(first // MAX_ALARM_METRICS + 1) if first else "")
            group = functions[first : first + MAX_ALARM_METRICS]
            self.alarms[name] = _any(
                self,
                name,
                cloudwatch.MathExpression(
                    expression="+".join(f"t{index}" for index in range(len(group))),
                    using_metrics={
                        f"t{index}": fn.metric_throttles(period=FIVE_MINUTES)
                        for index, fn in enumerate(group)
                    },
                    period=FIVE_MINUTES,
                ),
                "A function was throttled: raise the account's Lambda concurrency or lower the load",
            )
        if triggers is not None:
            self.alarms["TriggerDeadLetters"] = _any(
                self,
                "TriggerDeadLetters",
                triggers.dead_letters.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES),
                "Uploads could not be turned into tasks: see the trigger function's logs, then redrive",
            )
        for alarm in self.alarms.values():
            alarm.add_alarm_action(actions.SnsAction(self.topic))
        cdk.CfnOutput(scope, c.OUTPUT_ALARM_TOPIC, value=self.topic.topic_arn)


def _any(
    scope: Construct, name: str, metric: cloudwatch.IMetric, description: str, *, threshold: float = 1
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        name,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
