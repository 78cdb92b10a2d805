"""The workflow state machine's Lambdas (service/workflows.py): planning a workflow, starting and
ending each step, finishing the workflow, and an http step's POST."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from mediatasks.adapters.webhooks import SecretStore
from mediatasks.config import settings
from mediatasks.service.tasks import TaskService
from mediatasks.service.workflows import WorkflowRunner

logger = Logger(service="mediatasks-workflows")
tracer = Tracer(service="mediatasks-workflows")


class WorkflowState(BaseModel):
    """What a workflow state hands its Lambda: the workflow's task, or one step's Map item with
    the child it started and, when its run failed, the Catch's error."""

    action: Literal["plan", "start", "ended", "finish"] | None = None
    task_id: str | None = None
    item: dict[str, Any] | None = None
    child_id: str | None = None
    failure: dict[str, Any] | None = None


@lru_cache(maxsize=1)
def runner() -> WorkflowRunner:
    config = settings()
    return WorkflowRunner(
        TaskService.from_settings(config),
        SecretStore(config.webhook_secrets_table, config.webhook_key_id),
    )


def _required(value: Any, name: str) -> Any:
    if value is None:
        raise ValueError(f"the workflow state has no {name!r}")
    return value


_ACTIONS: dict[str, Callable[[WorkflowState], dict[str, Any]]] = {
    "plan": lambda event: runner().plan(_required(event.task_id, "task_id")),
    "start": lambda event: runner().start_step(_required(event.item, "item")),
    "ended": lambda event: runner().step_ended(_required(event.item, "item"), event.child_id, event.failure),
    "finish": lambda event: runner().finish(_required(event.task_id, "task_id")),
}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=WorkflowState)
def handle(event: WorkflowState, context: LambdaContext) -> dict[str, Any]:
    """One function for the workflow's own states (they need the same permissions); the state
    names its action."""
    result: dict[str, Any] = _ACTIONS[_required(event.action, "action")](event)
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=WorkflowState)
def send_http(event: WorkflowState, context: LambdaContext) -> dict[str, Any]:
    """An http step's POST: a function of its own, the only one that reads signing secrets."""
    return runner().send_http(_required(event.child_id, "child_id"))
