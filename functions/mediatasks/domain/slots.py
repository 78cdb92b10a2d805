"""The per-project cap on running tasks: how many of a project's tasks may run at once, and the
order the others wait in (oldest created first)."""

from __future__ import annotations

from pydantic import BaseModel, Field

# A queue entry's sort key: zero-padded creation time, so DynamoDB's key order is creation order.
QUEUE_PREFIX = "queued#"


class RunningCaps(BaseModel):
    """`default` for every project (0: no cap), `projects` for those given their own."""

    default: int = Field(default=20, ge=0)
    projects: dict[str, int] = Field(default_factory=dict)

    def of(self, project_id: str) -> int | None:
        """The project's cap, or None when its tasks are not capped."""
        cap = self.projects.get(project_id, self.default)
        return cap or None


def queue_entry(created_at: int, task_id: str) -> str:
    return f"{QUEUE_PREFIX}{created_at:015d}#{task_id}"
