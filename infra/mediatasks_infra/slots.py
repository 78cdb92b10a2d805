"""The per-project cap on running tasks, in the state machine: after the probe, WaitForSlot (a
Lambda task with `.waitForTaskToken`: the function queues the token, and the execution waits,
`queued`, until a slot is free and the token is sent), and ReleaseSlot before the execution ends,
well or not (service/slots.py says who else frees and reclaims slots)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mediatasks import constants as c
from mediatasks_infra.config import StackConfig
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.reliability import LAMBDA_SERVICE_RETRY, STEP_TRANSIENT_RETRY, lambda_task

# The states: waiting for a slot after the probe, freeing it before Succeeded and before Failed.
WAIT_STATE = "WaitForSlot"
RELEASE_STATE = "ReleaseSlot"
RELEASE_FAILED_STATE = "ReleaseSlotOfFailed"
SLOT_STATES = frozenset({WAIT_STATE, RELEASE_STATE, RELEASE_FAILED_STATE})


class RunningSlots(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: FunctionFactory,
        data: Data,
    ) -> None:
        super().__init__(scope, construct_id)
        # what every function that takes, frees or reclaims slots reads
        self.environment = {
            c.ENV_SLOTS_TABLE: data.slots.table_name,
            c.ENV_RUNNING_CAPS: config.running_caps.model_dump_json(),
        }
        self.wait_function = functions.create(
            c.WAIT_FOR_SLOT_FUNCTION_ID,
            "waitForSlot",
            handler="mediatasks.handlers.slots.wait_for_slot",
            environment=self.environment,
        )
        self.release_function = functions.create(
            c.RELEASE_SLOT_FUNCTION_ID,
            "releaseSlot",
            handler="mediatasks.handlers.slots.release_slot",
            environment=self.environment,
        )
        self.functions: list[lambda_.Function] = [self.wait_function, self.release_function]
        for fn in self.functions:
            data.slots.grant_read_write_data(fn)
            data.table.grant_read_data(fn)

    def grant_task_response(self, state_machine: sfn.StateMachine) -> None:
        """Both functions send waiting executions their tokens. A policy of its own: the state
        machine refers to the functions, and a function waits for its role's default policy, so
        granting there would make a cycle."""
        policy = iam.Policy(
            self,
            "SendTaskTokens",
            statements=[
                iam.PolicyStatement(
                    actions=["states:SendTaskSuccess"], resources=[state_machine.state_machine_arn]
                )
            ],
        )
        for fn in self.functions:
            if fn.role is not None:
                policy.attach_to_role(fn.role)

    def wait_after(self, step: sfn.INextable, on_error: sfn.IChainable) -> tasks.LambdaInvoke:
        """WaitForSlot, next after `step`; returns it, for what follows to be attached."""
        wait = tasks.LambdaInvoke(
            self,
            WAIT_STATE,
            lambda_function=self.wait_function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"task_id": sfn.JsonPath.string_at("$.task_id"), "token": sfn.JsonPath.task_token}
            ),
            result_path=sfn.JsonPath.DISCARD,
            retry_on_service_exceptions=False,
        )
        LAMBDA_SERVICE_RETRY.apply(wait)
        STEP_TRANSIENT_RETRY.apply(wait)
        wait.add_catch(on_error, errors=["States.ALL"], result_path="$.error")
        step.next(wait)
        return wait

    def released(self, name: str, end: sfn.IChainable) -> sfn.IChainable:
        """ReleaseSlot, then `end`. Should it fail for good, the execution fails, and the
        reconciler frees the slot instead."""
        return lambda_task(self, name, self.release_function, result_path=sfn.JsonPath.DISCARD).next(end)
