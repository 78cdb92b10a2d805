"""The reliability parts of the template: every Lambda task's retries, the reconciler's rule, the
sweep's schedule, the SDK's retry mode, and the alarms on what the reconciler and the sweep did."""

from __future__ import annotations

import json
from typing import Any

from mediatasks import constants as c
from mediatasks.domain.errors import InputUnsupported, OutputUnwritable, ProcessingFailed, TaskFailure
from mediatasks.local.cloud import LocalCloud
from mediatasks.local.template import resources_of_type

LAMBDA_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]


def _task_states(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    definition = json.loads(LocalCloud(template).state_machine_definition())
    return {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}


def test_every_lambda_task_retries_transient_errors_with_full_jitter(template: dict[str, Any]) -> None:
    states = _task_states(template)
    assert {"Ingest", "Probe", "Encode", "Upload", "RecordFailure"} <= set(states)
    for name, state in states.items():
        service, own = state["Retry"]
        assert service["ErrorEquals"] == LAMBDA_ERRORS, name
        assert own["ErrorEquals"] == ["InputInterrupted", "TransientFailure"], name
        for retry in (service, own):
            assert retry["JitterStrategy"] == "FULL", name
            assert retry["BackoffRate"] == 2, name
            assert retry["MaxDelaySeconds"] <= 30, name
        assert own["MaxAttempts"] == 2, name  # a step's own work is re-run a bounded number of times


def test_permanent_failures_are_never_retried(template: dict[str, Any]) -> None:
    retried = {
        error
        for state in _task_states(template).values()
        for r in state["Retry"]
        for error in r["ErrorEquals"]
    }
    for permanent in (TaskFailure, InputUnsupported, ProcessingFailed, OutputUnwritable):
        assert permanent.__name__ not in retried
    assert not retried & {"States.ALL", "States.Timeout"}


def test_ended_executions_reach_the_reconciler(template: dict[str, Any]) -> None:
    rules = resources_of_type(template, "AWS::Events::Rule")
    rule = rules[c.EXECUTION_ENDED_RULE_ID]
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["FAILED", "TIMED_OUT", "ABORTED"],
            "stateMachineArn": [{"Ref": c.STATE_MACHINE_ID}],
        },
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [c.RECONCILE_FUNCTION_ID, "Arn"]}
    sweep = rules[c.SWEEP_RULE_ID]
    assert sweep["ScheduleExpression"] == "rate(5 minutes)"
    assert sweep["Targets"][0]["Arn"] == {"Fn::GetAtt": [c.SWEEP_FUNCTION_ID, "Arn"]}
    functions = resources_of_type(template, "AWS::Lambda::Function")
    variables = functions[c.SWEEP_FUNCTION_ID]["Environment"]["Variables"]
    assert (variables[c.ENV_SWEEP_AFTER_SECONDS], variables[c.ENV_SWEEP_MAX_START_ATTEMPTS]) == ("120", "3")


def test_every_function_uses_the_sdks_standard_retries(template: dict[str, Any]) -> None:
    for logical_id, props in resources_of_type(template, "AWS::Lambda::Function").items():
        if logical_id.startswith(("ApiFunction", "ProbeFunction", "EncodeFunction", "SweepFunction")):
            variables = props["Environment"]["Variables"]
            assert (variables["AWS_RETRY_MODE"], variables["AWS_MAX_ATTEMPTS"]) == ("standard", "3")


def test_reconciled_tasks_and_sweep_restarts_are_alarmed(template: dict[str, Any]) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    watched = {alarm.get("MetricName"): alarm for alarm in alarms}
    for metric in ("ReconciledTasks", "SweepStarts", "SweepFailures"):
        alarm = watched[metric]
        assert alarm["Namespace"] == "MediaTasks"
        assert alarm["Threshold"] == 1
        assert alarm["AlarmActions"], metric  # to the alarm topic


def test_a_validated_task_waits_for_a_slot_and_every_ending_frees_it(template: dict[str, Any]) -> None:
    definition = json.loads(LocalCloud(template).state_machine_definition())
    states = definition["States"]
    wait = states["WaitForSlot"]
    assert states["Probe"]["Next"] == "WaitForSlot"
    assert wait["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert wait["Parameters"]["Payload"] == {"task_id.$": "$.task_id", "token.$": "$$.Task.Token"}
    assert wait["Retry"][0]["ErrorEquals"] == LAMBDA_ERRORS
    assert wait["Catch"][0]["Next"] == "RecordFailure"
    # the definition's two endings each give the slot back first
    assert [name for name, state in states.items() if state.get("Next") == "Succeeded"] == ["ReleaseSlot"]
    assert states["RecordFailure"]["Next"] == "ReleaseSlotOfFailed"
    assert states["ReleaseSlotOfFailed"]["Next"] == "Failed"
    functions = resources_of_type(template, "AWS::Lambda::Function")
    for logical_id in (c.WAIT_FOR_SLOT_FUNCTION_ID, c.RECONCILE_FUNCTION_ID, c.SWEEP_FUNCTION_ID):
        variables = functions[logical_id]["Environment"]["Variables"]
        assert json.loads(variables[c.ENV_RUNNING_CAPS]) == {"default": 20, "projects": {}}, logical_id
    alarms = {
        alarm.get("MetricName"): alarm
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    assert alarms["ReclaimedSlots"]["Threshold"] == 1
    assert alarms["QueuedMilliseconds"]["Statistic"] == "Maximum"
