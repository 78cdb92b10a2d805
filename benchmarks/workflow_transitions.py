"""What a workflow costs in Step Functions state transitions (Standard workflows are billed per
transition), counted by walking the synthesized definitions -- the workflow machine and the task
machine each step runs as a nested execution -- for workflows of N steps, against the baseline of
running the same N tasks on their own (POST /tasks each).

    .venv/bin/python -m benchmarks.workflow_transitions [--steps 100] [--kind video]

A step's path is walked as it runs when every step succeeds (a track kind's transcript ready at
its first status poll, a video encoded whole); a transition is counted per state entered, as AWS
bills them (the start of an execution is not one)."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from mediatasks import constants as c
from mediatasks.local.stack import local_architecture
from mediatasks.local.template import synthesize


def definition(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    parts = template["Resources"][logical_id]["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "REF" for part in parts)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _matches(rule: dict[str, Any], kind: str) -> bool:
    if "Or" in rule:
        return any(_matches(inner, kind) for inner in rule["Or"])
    if rule.get("Variable") == "$.kind":
        return bool(rule.get("StringEquals") == kind)
    # the other choices: a transcript is ready (`done` is not false), a video is encoded whole
    return bool(rule.get("BooleanEquals") is True or rule.get("IsPresent") is True)


def task_transitions(machine: dict[str, Any], kind: str) -> int:
    """States one task of `kind` enters, from its first to Succeeded."""
    states, name, count = machine["States"], machine["StartAt"], 0
    while True:
        state = states[name]
        count += 1
        if state["Type"] == "Choice":
            name = next(
                (rule["Next"] for rule in state["Choices"] if _matches(rule, kind)), state.get("Default")
            )
        elif state.get("End") or state["Type"] in ("Succeed", "Fail"):
            return count
        else:
            name = state["Next"]


def _walk(states: dict[str, Any], start: str, tree: list[list[Any]]) -> int:
    """States entered running the Map iterations of `tree` (each step: its list of next steps)
    through the processor `states`: a step runs as a task (not http), and has a next when its
    list is not empty."""
    total = 0
    for following in tree:
        name: str | None = start
        while name is not None:
            state = states[name]
            total += 1
            if state["Type"] == "Map":
                processor = state["ItemProcessor"]
                total += _walk(processor["States"], processor["StartAt"], following)
                name = state.get("Next")
            elif state["Type"] == "Choice":
                name = _choose(state, following)
            elif state["Type"] in ("Succeed", "Fail") or state.get("End"):
                name = None
            else:
                name = state["Next"]
    return total


def _choose(state: dict[str, Any], following: list[Any]) -> str:
    for rule in state["Choices"]:
        if rule.get("StringEquals") == "task":  # which way a step runs
            return str(rule["Next"])
        if rule.get("IsPresent") is True and following:  # whether it has next steps
            return str(rule["Next"])
    return str(state["Default"])


def workflow_transitions(machine: dict[str, Any], tree: list[list[Any]]) -> int:
    """The workflow machine's own transitions: Plan, the Map and its iterations, Finish, the end."""
    states, name, total = machine["States"], machine["StartAt"], 0
    while name is not None:
        state = states[name]
        total += 1
        if state["Type"] == "Map":
            processor = state["ItemProcessor"]
            total += _walk(processor["States"], processor["StartAt"], tree)
        name = None if state["Type"] == "Succeed" else state.get("Next")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--kind", default="video")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediatasks-cdk-") as out_dir:
        template = synthesize(Path(out_dir), local_architecture())
    tasks = definition(template, c.STATE_MACHINE_ID)
    flows = definition(template, c.WORKFLOW_STATE_MACHINE_ID)
    per_task = task_transitions(tasks, arguments.kind)
    steps = arguments.steps
    baseline = steps * per_task
    flat = workflow_transitions(flows, [[] for _ in range(steps)]) + baseline
    paired = workflow_transitions(flows, [[[]] for _ in range(steps // 2)]) + baseline
    print(f"one {arguments.kind} task on its own: {per_task} transitions")
    print(f"{steps} tasks on their own (baseline): {baseline}")
    for label, total in (
        (f"a workflow of {steps} top-level {arguments.kind} steps", flat),
        (f"a workflow of {steps // 2} {arguments.kind} steps, each with one next step", paired),
    ):
        print(f"{label}: {total} ({total - baseline:+d} over the baseline, x{total / baseline:.2f})")


if __name__ == "__main__":
    main()
