"""The synthesized workflow state machine: each step's task runs as a nested execution of the task
machine (waited on, its failure caught), an http step is retried twice, the nesting is written out
to the workflow's depth limit, and the reconciler hears of its executions."""

from __future__ import annotations

import json
from typing import Any

from mediatasks import constants as c
from mediatasks.kinds.workflow import MAX_DEPTH


def workflow_states(template: dict[str, Any]) -> dict[str, Any]:
    parts = template["Resources"][c.WORKFLOW_STATE_MACHINE_ID]["Properties"]["DefinitionString"]["Fn::Join"][
        1
    ]
    text = "".join(part if isinstance(part, str) else "REF" for part in parts)
    states: dict[str, Any] = {}

    def collect(machine: dict[str, Any]) -> None:
        for name, state in machine["States"].items():
            states[name] = state
            if state["Type"] == "Map":
                collect(state["ItemProcessor"])

    collect(json.loads(text))
    return states


def test_each_level_runs_its_steps_as_caught_nested_executions(template: dict[str, Any]) -> None:
    states = workflow_states(template)
    for level in range(1, MAX_DEPTH + 1):
        run = states[f"RunTask{level}"]
        assert run["Resource"].endswith(":states:::states:startExecution.sync:2")
        assert run["Parameters"]["Name.$"] == "$.child.run_id"
        assert run["Catch"][0]["ErrorEquals"] == ["States.ALL"]
        assert run["Catch"][0]["Next"] == f"StepEnded{level}"
        (retry,) = [
            rule for rule in states[f"PostHttp{level}"]["Retry"] if rule["ErrorEquals"] == ["ReceiverRefused"]
        ]
        assert retry["MaxAttempts"] == 2
    assert f"Next{MAX_DEPTH - 1}" in states
    assert f"Next{MAX_DEPTH}" not in states  # validation allows no deeper step


def test_the_reconciler_hears_of_ended_workflow_executions(template: dict[str, Any]) -> None:
    rule = template["Resources"][c.WORKFLOW_ENDED_RULE_ID]["Properties"]
    assert rule["EventPattern"]["detail"]["stateMachineArn"] == [{"Ref": c.WORKFLOW_STATE_MACHINE_ID}]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [c.RECONCILE_FUNCTION_ID, "Arn"]}
