"""CDK context the infrastructure tests synthesize with, and reading the state machine they make."""

from __future__ import annotations

from typing import Any

from mediatasks.local.stack import DEMO_TRIGGER_RULES
from mediatasks_infra.slots import SLOT_STATES

# the whole product: `mediatasks serve`'s trigger rules on top of cdk.json
WITH_TRIGGERS = {"mediatasks:triggerRules": DEMO_TRIGGER_RULES}


def compared_kinds(condition: dict[str, Any]) -> set[str]:
    """The kinds a Choice rule matches (`$.kind` equal to one, or an Or of them)."""
    if "StringEquals" in condition:
        return {condition["StringEquals"]}
    return {kind for rule in condition.get("Or", []) for kind in compared_kinds(rule)}


def execution_path(definition: dict[str, Any], kind: str, *, in_pieces: bool = False) -> list[str]:
    """The task states an execution of `kind` passes through when every step succeeds (a long
    video's encode in pieces when `in_pieces`: Split's result chooses it), without the running
    slot's states (each kind's path through those is tested on its own)."""
    states, order, name = definition["States"], [], definition["StartAt"]
    while states[name]["Type"] != "Succeed":
        state = states[name]
        if state["Type"] == "Choice":
            matches = [
                c["Next"]
                for c in state["Choices"]
                if kind in compared_kinds(c) or c.get("BooleanEquals") is in_pieces is True
            ]
            name = matches[0] if matches else state["Default"]
            continue
        if name not in SLOT_STATES:
            order.append(name)
        name = state["Next"]
    return order
