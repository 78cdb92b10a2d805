"""What keeps a task from being stuck or lost: the retry policy every Lambda task of the state
machine carries, the reconciler and the sweep (docs/reliability.md says what each promises)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mediatasks import constants as c
from mediatasks.domain.errors import transient_error_types
from mediatasks.service.reconcile import (
    METRICS_NAMESPACE,
    RECONCILED_TASKS,
    RECONCILER_SERVICE,
    SWEEP_FAILURES,
    SWEEP_STARTS,
    EndedExecution,
)
from mediatasks.service.slots import QUEUED_MILLISECONDS, RECLAIMED_SLOTS, SLOTS_SERVICE
from mediatasks_infra.common import override_id
from mediatasks_infra.config import StackConfig
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.storage import Storage

if TYPE_CHECKING:
    from mediatasks_infra.slots import RunningSlots

# Every AWS SDK client of every function: the standard retry mode (exponential backoff with full
# jitter, throttling and 5xx retried, a retry quota under a prolonged outage), three attempts a
# call. What still fails reaches the step as a TransientFailure and is retried as a step.
SDK_RETRIES = {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "3"}
# The Lambda service's own transient errors, as Step Functions names them (AWS's error-handling
# guide lists these for a Lambda task; TooManyRequests is the account's concurrency being reached).
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
)


@dataclass(frozen=True)
class RetryPolicy:
    errors: tuple[str, ...]
    interval_seconds: int
    max_attempts: int
    backoff_rate: float
    max_delay_seconds: int

    def apply(self, state: tasks.LambdaInvoke) -> None:
        state.add_retry(
            errors=list(self.errors),
            interval=cdk.Duration.seconds(self.interval_seconds),
            max_attempts=self.max_attempts,
            backoff_rate=self.backoff_rate,
            max_delay=cdk.Duration.seconds(self.max_delay_seconds),
            # full jitter: many tasks throttled at once do not all come back at the same moment
            jitter_strategy=sfn.JitterType.FULL,
        )


# Lambda not running the step at all costs nothing to retry: often, for up to about a minute.
LAMBDA_SERVICE_RETRY = RetryPolicy(
    LAMBDA_TRANSIENT_ERRORS, interval_seconds=1, max_attempts=6, backoff_rate=2, max_delay_seconds=30
)
# A task queued this long for one of its project's running slots means the project's cap is too low
# for what it sends (or slots leak): the alarm on the longest wait in a period.
QUEUED_ALARM_MINUTES = 15
# A step's own transient failure (after the SDK's own retries) re-runs the step's work: bounded.
STEP_TRANSIENT_RETRY = RetryPolicy(
    tuple(transient_error_types()), interval_seconds=1, max_attempts=2, backoff_rate=2, max_delay_seconds=10
)


def lambda_task(
    scope: Construct,
    state_name: str,
    function: lambda_.IFunction,
    *,
    result_path: str,
    payload: sfn.TaskInput | None = None,
) -> tasks.LambdaInvoke:
    """A Lambda task of the state machine with the retry policy every one of them has (given the
    state as its event, or `payload`). CDK's own service retry (no jitter, no TooManyRequests) is
    replaced by ours."""
    state = tasks.LambdaInvoke(
        scope,
        state_name,
        lambda_function=function,
        payload=payload,
        payload_response_only=True,
        result_path=result_path,
        retry_on_service_exceptions=False,
    )
    LAMBDA_SERVICE_RETRY.apply(state)
    STEP_TRANSIENT_RETRY.apply(state)
    return state


class Reconciliation(Construct):
    """The reconciler, on an EventBridge rule for the state machine's executions that end other than
    well, and the sweep on a schedule; an alarm on each one's count (they mean something is wrong)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: FunctionFactory,
        data: Data,
        storage: Storage,
        state_machine: sfn.StateMachine,
        slots: RunningSlots,
    ) -> None:
        super().__init__(scope, construct_id)
        # both free the slots of tasks that ended outside the definition, and admit waiters
        environment = {c.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn} | slots.environment
        self.reconcile = functions.create(
            c.RECONCILE_FUNCTION_ID,
            "reconcile",
            handler="mediatasks.handlers.reconciler.execution_ended",
            environment=environment,
        )
        self.sweep = functions.create(
            c.SWEEP_FUNCTION_ID,
            "sweep",
            handler="mediatasks.handlers.reconciler.sweep",
            environment=environment
            | {
                c.ENV_SWEEP_AFTER_SECONDS: str(config.sweep_after_seconds),
                c.ENV_SWEEP_MAX_START_ATTEMPTS: str(config.sweep_max_start_attempts),
            },
        )
        for fn in (self.reconcile, self.sweep):
            data.table.grant_read_write_data(fn)
            storage.bucket.grant_read(fn, f"{c.WORK_PREFIX}*")  # listing a task's work files
            storage.bucket.grant_delete(fn, f"{c.WORK_PREFIX}*")
            data.slots.grant_read_write_data(fn)
            state_machine.grant_task_response(fn)
        state_machine.grant_start_execution(self.sweep)
        state_machine.grant_execution(self.sweep, "states:DescribeExecution")  # was it ever started?
        self.execution_ended = self.reconcile_ended(
            self,
            c.EXECUTION_ENDED_RULE_ID,
            state_machine,
            "a task's execution failed, timed out or was stopped: the reconciler ends the task",
        )
        self.schedule = events.Rule(
            self,
            c.SWEEP_RULE_ID,
            description="starts tasks whose execution was never started, or fails them",
            schedule=events.Schedule.rate(cdk.Duration.minutes(config.sweep_every_minutes)),
            targets=[targets.LambdaFunction(self.sweep, retry_attempts=2)],
        )
        override_id(self.schedule, c.SWEEP_RULE_ID)
        period = cdk.Duration.minutes(max(5, config.sweep_every_minutes))
        self.alarms = [
            _count_alarm(
                self,
                RECONCILED_TASKS,
                period,
                "A task's execution ended outside the state "
                "machine's own error handling (stopped, timed out): see the reconciler's logs",
            ),
            _count_alarm(
                self,
                SWEEP_STARTS,
                period,
                "The sweep started a task whose execution was "
                "never started (the API could not start it): check Step Functions' throttling",
            ),
            _count_alarm(self, SWEEP_FAILURES, period, "The sweep failed a task it could not start"),
            _count_alarm(
                self,
                RECLAIMED_SLOTS,
                period,
                "The sweep freed a running slot held by a task that had ended: a release was lost",
            ),
            _count_alarm(
                self,
                QUEUED_MILLISECONDS,
                period,
                f"A task waited {QUEUED_ALARM_MINUTES} minutes or more for one of its project's running "
                "slots: raise the project's cap (mediatasks:runningTasksByProject)",
                service=SLOTS_SERVICE,
                statistic="Maximum",
                threshold=QUEUED_ALARM_MINUTES * 60_000,
            ),
        ]

    def reconcile_ended(
        self, scope: Construct, rule_id: str, state_machine: sfn.IStateMachine, description: str
    ) -> events.Rule:
        """The rule sending the reconciler each execution of `state_machine` that failed, timed out
        or was stopped."""
        rule = events.Rule(
            scope,
            rule_id,
            description=description,
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": [status.value for status in EndedExecution],
                    "stateMachineArn": [state_machine.state_machine_arn],
                },
            ),
            targets=[targets.LambdaFunction(self.reconcile, retry_attempts=8)],
        )
        override_id(rule, rule_id)
        return rule


def _count_alarm(
    scope: Construct,
    metric_name: str,
    period: cdk.Duration,
    description: str,
    *,
    service: str = RECONCILER_SERVICE,
    statistic: str = "Sum",
    threshold: int = 1,
) -> cloudwatch.Alarm:
    """An alarm when the metric's `statistic` over a period reaches `threshold` (a count: once)."""
    return cloudwatch.Alarm(
        scope,
        f"{metric_name}Alarm",
        metric=cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"service": service},
            statistic=statistic,
            period=period,
        ),
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
