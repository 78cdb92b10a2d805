"""The state machine's slot states: waiting for one of the project's running slots (a
`.waitForTaskToken` task: the function returns at once, the execution goes on when the token is
sent) and giving it back as the execution ends. How long each admitted task waited is a metric."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from mediatasks.adapters.slots import SlotTable
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.workflow import TaskTokens
from mediatasks.config import settings
from mediatasks.service.reconcile import METRICS_NAMESPACE
from mediatasks.service.slots import QUEUED_MILLISECONDS, SLOTS_SERVICE, Admission, RunningSlots

logger = Logger(service=SLOTS_SERVICE)
tracer = Tracer(service=SLOTS_SERVICE)


class SlotRequest(BaseModel):
    task_id: str
    # the task token of the waiting state (absent when giving the slot back)
    token: str | None = None


@lru_cache(maxsize=1)
def running_slots() -> RunningSlots:
    config = settings()
    if not config.slots_table:
        raise RuntimeError("the running slots need the slots table in the environment")
    return RunningSlots(
        SlotTable(config.slots_table),
        TaskStore(config.tasks_table),
        TaskTokens(),
        config.running_caps,
    )


def count_admissions(admitted: list[Admission]) -> None:
    """How long each admitted task waited, as one metric of this service whoever admitted it (a
    slot function, the reconciler or the sweep): each is written at once, on its own."""
    for admission in admitted:
        with single_metric(
            name=QUEUED_MILLISECONDS,
            unit=MetricUnit.Milliseconds,
            value=admission.queued_ms,
            namespace=METRICS_NAMESPACE,
            default_dimensions={"service": SLOTS_SERVICE},
        ):
            pass


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=SlotRequest)
def wait_for_slot(event: SlotRequest, context: LambdaContext) -> dict[str, Any]:
    if event.token is None:
        raise ValueError("waiting for a slot needs the state's task token")
    admitted = running_slots().wait_for_slot(event.task_id, event.token)
    count_admissions(admitted)
    return {"admitted": [admission.task_id for admission in admitted]}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=SlotRequest)
def release_slot(event: SlotRequest, context: LambdaContext) -> dict[str, Any]:
    admitted = running_slots().release(event.task_id)
    count_admissions(admitted)
    return {"admitted": [admission.task_id for admission in admitted]}
