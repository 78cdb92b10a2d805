"""The bodies of POST and PATCH /automations. The workflow is validated whole by the workflow kind's
own validator (kinds/workflow.py), so an automation holds exactly the steps a `workflow` task
accepts, and an error names the step's path (`workflow[2].next[0].width`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from mediatasks.domain.automations import AutomationStatus
from mediatasks.kinds.workflow import MAX_DEPTH, MAX_STEPS, WorkflowStep, normalized_workflow

MAX_NAME = 256
MAX_DESCRIPTION = 2048


class MediaCreatedTrigger(BaseModel):
    """What the SDK sends as a trigger: `{kind: "event", event: "media.created"}`, both required."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["event"]
    event: Literal["media.created"]


def stored_steps(steps: list[WorkflowStep]) -> list[dict[str, Any]]:
    """The steps as stored and shown: each with the fields it has (a `workflow` task's request
    reads them back unchanged)."""
    return [step.model_dump(mode="json", exclude_defaults=True) for step in steps]


class _WorkflowBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("workflow", mode="before", check_fields=False)
    @classmethod
    def _validated_steps(cls, value: Any) -> Any:
        return value if value is None else normalized_workflow(value)


class AutomationCreate(_WorkflowBody):
    """POST /automations: run `workflow` on every new media of the project while `active`."""

    name: str | None = Field(default=None, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    trigger: MediaCreatedTrigger
    workflow: list[WorkflowStep] = Field(
        description=f"The steps a workflow task runs on each new media; at most {MAX_STEPS}, "
        f"nested {MAX_DEPTH} deep"
    )
    status: AutomationStatus = AutomationStatus.active


# the fields an automation cannot be without: PATCH may change them, never clear them
_REQUIRED = ("trigger", "workflow", "status")


class AutomationUpdate(_WorkflowBody):
    """PATCH /automations/{id}: keys left out are unchanged, null clears (name, description)."""

    name: str | None = Field(default=None, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    trigger: MediaCreatedTrigger | None = None
    workflow: list[WorkflowStep] | None = None
    status: AutomationStatus | None = None

    @model_validator(mode="after")
    def _keeps_required_fields(self) -> AutomationUpdate:
        for name in _REQUIRED:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise PydanticCustomError(
                    "conflicting_field", "{field} cannot be cleared, only changed", {"field": name}
                )
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, in their stored form (None: clear)."""
        changed: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        if self.workflow is not None and "workflow" in changed:
            changed["workflow"] = stored_steps(self.workflow)
        if self.trigger is not None and "trigger" in changed:
            changed["trigger"] = self.trigger.model_dump()
        if self.status is not None and "status" in changed:
            changed["status"] = self.status.value
        return changed
