"""The workflow state machine: one execution per workflow task, run by Step Functions itself.

Plan (the top-level steps) -> a Map over them; each iteration starts its step's child task
(StartStep), runs it as a nested execution of the task state machine (`startExecution.sync:2`) or
POSTs an http step (a Lambda with Retry), ends it (StepEnded: the failure of a run is caught here,
so one step's failure leaves the other branches running) and, when it succeeded, maps over its
`next` steps the same way -> Finish (the parent's status, progress, output and results).

The nesting is written out, one Map level per level a workflow may have (kinds/workflow.MAX_DEPTH),
rather than recursing through nested executions of this machine: a level costs no execution of its
own (no start, no .sync polling, no second execution's transitions) and the machine never needs
its own ARN in its definition (which CloudFormation cannot give it)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mediatasks import constants as c
from mediatasks.domain.errors import ReceiverRefused
from mediatasks.kinds.workflow import MAX_DEPTH
from mediatasks_infra.common import acknowledge, override_id
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.pipeline import Pipeline
from mediatasks_infra.reliability import LAMBDA_SERVICE_RETRY, Reconciliation, lambda_task
from mediatasks_infra.storage import Storage
from mediatasks_infra.webhooks import Webhooks

# An http step's receiver gets three attempts: the first, then after 2 s and 4 s.
HTTP_RETRY_SECONDS = 2
HTTP_ATTEMPTS = 3
# A workflow runs its steps' tasks, each bounded by the task machine's own hour.
WORKFLOW_TIMEOUT = cdk.Duration.hours(6)


class Workflows(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: FunctionFactory,
        data: Data,
        storage: Storage,
        pipeline: Pipeline,
        webhooks: Webhooks,
    ) -> None:
        super().__init__(scope, construct_id)
        self._task_machine = pipeline.state_machine
        environment = {c.ENV_STATE_MACHINE_ARN: pipeline.state_machine.state_machine_arn}
        self.function = functions.create(
            c.WORKFLOW_FUNCTION_ID,
            "workflow",
            handler="mediatasks.handlers.workflows.handle",
            environment=environment,
        )
        self.http_function = functions.create(
            c.HTTP_STEP_FUNCTION_ID,
            "httpStep",
            handler="mediatasks.handlers.workflows.send_http",
            environment=environment,
        )
        for fn in (self.function, self.http_function):
            data.table.grant_read_write_data(fn)
        data.files.grant_read_write_data(self.function)  # a step's output file, made waiting
        data.files.grant_read_data(self.http_function)
        storage.bucket.grant_read(self.http_function, f"{c.FILES_PREFIX}*")  # links to the outputs it names
        data.webhook_secrets.grant_read_data(self.http_function)
        webhooks.key.grant(self.http_function, "kms:Decrypt")  # it signs like a webhook
        self.functions = [self.function, self.http_function]

        plan = self._action("Plan", "plan", {"task_id.$": "$.task_id"}, sfn.JsonPath.string_at("$.plan"))
        finish = self._action("Finish", "finish", {"task_id.$": "$.task_id"}, sfn.JsonPath.DISCARD)
        steps = self._map("Steps", "$.plan.items", self._level(1))
        definition = plan.next(steps).next(finish).next(sfn.Succeed(self, "Done"))
        self.state_machine = sfn.StateMachine(
            self,
            c.WORKFLOW_STATE_MACHINE_ID,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=WORKFLOW_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "WorkflowLogs", retention=logs.RetentionDays.ONE_MONTH),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,  # the steps' inputs may be signed URLs
            ),
        )
        override_id(self.state_machine, c.WORKFLOW_STATE_MACHINE_ID)
        policy = self.state_machine.role.node.find_child("DefaultPolicy").node.find_child("Resource")
        acknowledge(
            policy,
            {
                **{
                    f"AwsSolutions-IAM5[Resource::<{fn.node.id}.Arn>:*]": "invoking any published version "
                    "of our own workflow function"
                    for fn in self.functions
                },
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                'execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"TaskStateMachine"}]}]}*]': "each "
                "step's task runs as a nested execution of the task state machine, named by its run id",
            },
        )

    def _action(
        self, name: str, action: str, payload: dict[str, str], result_path: str
    ) -> tasks.LambdaInvoke:
        """A state calling the workflow function's `action`, with the retries every Lambda task has."""
        return lambda_task(
            self,
            name,
            self.function,
            result_path=result_path,
            payload=sfn.TaskInput.from_object({"action": action, **payload}),
        )

    def _map(self, name: str, items_path: str, processor: sfn.IChainable) -> sfn.Map:
        """A Map of steps, each iteration seeing its item as `$.item`; what the iterations return
        is dropped (the children's records are what the workflow reports)."""
        steps = sfn.Map(
            self,
            name,
            items_path=items_path,
            item_selector={"item.$": "$$.Map.Item.Value"},
            result_path=sfn.JsonPath.DISCARD,
        )
        steps.item_processor(processor)
        return steps

    def _level(self, level: int) -> sfn.IChainable:
        """One step at nesting `level`: start its child, run it, end it, then its `next` steps."""
        start = self._action(f"StartStep{level}", "start", {"item.$": "$.item"}, "$.child")
        no_failure = sfn.Pass(
            self, f"NoFailure{level}", result=sfn.Result.from_object({}), result_path="$.failure"
        )
        ended = self._action(
            f"StepEnded{level}",
            "ended",
            {"item.$": "$.item", "child_id.$": "$.child.task_id", "failure.$": "$.failure"},
            "$.ended",
        )
        run = tasks.StepFunctionsStartExecution(
            self,
            f"RunTask{level}",
            state_machine=self._task_machine,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            name=sfn.JsonPath.string_at("$.child.run_id"),
            input=sfn.TaskInput.from_object(
                {
                    "task_id": sfn.JsonPath.string_at("$.child.task_id"),
                    "kind": sfn.JsonPath.string_at("$.child.kind"),
                }
            ),
            associate_with_parent=False,
            result_selector={"status.$": "$.Status"},
            result_path="$.ran",
        )
        run.add_catch(ended, errors=["States.ALL"], result_path="$.failure")
        run.next(ended)
        post = tasks.LambdaInvoke(
            self,
            f"PostHttp{level}",
            lambda_function=self.http_function,
            payload=sfn.TaskInput.from_object({"child_id.$": "$.child.task_id"}),
            payload_response_only=True,
            result_path="$.ran",
            retry_on_service_exceptions=False,
        )
        LAMBDA_SERVICE_RETRY.apply(post)
        post.add_retry(
            errors=[ReceiverRefused.__name__],
            interval=cdk.Duration.seconds(HTTP_RETRY_SECONDS),
            max_attempts=HTTP_ATTEMPTS - 1,
            backoff_rate=2,
        )
        post.add_catch(ended, errors=["States.ALL"], result_path="$.failure")
        post.next(ended)
        runs = (
            sfn.Choice(self, f"Runs{level}")
            .when(sfn.Condition.string_equals("$.child.runs", "task"), run)
            .when(sfn.Condition.string_equals("$.child.runs", "http"), post)
            .otherwise(sfn.Succeed(self, f"NotStarted{level}"))
        )
        done = sfn.Succeed(self, f"BranchEnded{level}")
        if level == MAX_DEPTH:  # validation allows no deeper step
            ended.next(done)
        else:
            following = self._map(f"Next{level}", "$.ended.items", self._level(level + 1))
            ended.next(
                sfn.Choice(self, f"HasNext{level}")
                .when(sfn.Condition.is_present("$.ended.items[0]"), following.next(done))
                .otherwise(done)
            )
        return start.next(no_failure).next(runs)

    def grant_starter(self, function: lambda_.Function) -> None:
        """What creating (and cancelling) a workflow task needs: starting and stopping its execution."""
        function.add_environment(c.ENV_WORKFLOW_STATE_MACHINE_ARN, self.state_machine.state_machine_arn)
        self.state_machine.grant_start_execution(function)
        self.state_machine.grant_execution(function, "states:StopExecution", "states:DescribeExecution")
        acknowledge(
            cdk.Stack.of(self),
            {
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                f'execution:{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{c.WORKFLOW_STATE_MACHINE_ID}"}}]}}]}}'
                ":*]": "stopping or describing an execution of our own workflow machine (named by its "
                "task's run id)"
            },
        )

    def reconciled_by(self, reconciliation: Reconciliation) -> None:
        """A workflow execution that ends other than well is reconciled like a task's (its parent
        fails, its children are ended); the sweep starts a workflow whose start was lost."""
        for fn in (reconciliation.reconcile, reconciliation.sweep):
            self.grant_starter(fn)
        self._task_machine.grant_execution(reconciliation.reconcile, "states:StopExecution")
        reconciliation.reconcile_ended(
            self,
            c.WORKFLOW_ENDED_RULE_ID,
            self.state_machine,
            "a workflow's execution failed, timed out or was stopped: the reconciler ends it",
        )
