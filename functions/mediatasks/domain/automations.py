"""Automations (the vendor SDK's resource): a project's standing order to run a workflow on every
new media. What is stored about each; pure, no storage here. Their request bodies, which validate
the workflow with the workflow kind, are in service/automation_requests.py."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mediatasks.domain.tasks import new_id, now_ms

AUTOMATION_ID_PREFIX = "auto"
MEDIA_CREATED: Literal["media.created"] = "media.created"
# who made an automation that came from the deployment's configuration rather than the API
OPS = "ops"


class AutomationStatus(StrEnum):
    active = "active"
    paused = "paused"


class EventTrigger(BaseModel):
    """When the automation runs: `media.created` (the only event the SDK knows), when a media's
    original file is stored. `prefix` (ops' automations, from the watched bucket's rules) narrows
    it to media whose original was an object under that prefix of the watched bucket."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["event"] = "event"
    event: Literal["media.created"] = MEDIA_CREATED
    prefix: str | None = Field(
        default=None, description="Set by ops only: the watched bucket's prefix the original came from"
    )

    def covers(self, source_key: str | None) -> bool:
        """Whether a new media whose original came from `source_key` of the watched bucket (None:
        from anywhere else) starts the automation."""
        if self.prefix is None:
            return True
        return source_key is not None and source_key.startswith(self.prefix)


class AutomationRecord(BaseModel):
    """An automation of a project: its trigger, its workflow's steps (stored as validated) and
    whether it runs."""

    id: str = Field(default_factory=lambda: new_id(AUTOMATION_ID_PREFIX))
    project_id: str
    name: str | None = None
    description: str | None = None
    trigger: EventTrigger = Field(default_factory=EventTrigger)
    workflow: list[dict[str, Any]]
    status: AutomationStatus = AutomationStatus.active
    created_by: str | None = None
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)

    def runs_on_new_media(self, source_key: str | None) -> bool:
        return self.status == AutomationStatus.active and self.trigger.covers(source_key)
