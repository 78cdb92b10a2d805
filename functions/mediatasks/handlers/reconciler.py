"""The reconciler (Step Functions execution status changes, from EventBridge) and the sweep (a
schedule): the tasks they move are counted, and alarmed on, because each means something failed
outside the state machine's own error handling."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.workflow import Workflow
from mediatasks.config import settings
from mediatasks.domain.tasks import now_ms
from mediatasks.handlers.slots import count_admissions, running_slots
from mediatasks.service.reconcile import (
    METRICS_NAMESPACE,
    RECONCILED_TASKS,
    RECONCILER_SERVICE,
    SWEEP_FAILURES,
    SWEEP_STARTS,
    EndedExecution,
    Reconciler,
)
from mediatasks.service.slots import RECLAIMED_SLOTS

logger = Logger(service=RECONCILER_SERVICE)
tracer = Tracer(service=RECONCILER_SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=RECONCILER_SERVICE)


@lru_cache(maxsize=1)
def reconciler() -> Reconciler:
    config = settings()
    if not config.state_machine_arn:
        raise RuntimeError("the reconciler needs the state machine ARN in the environment")
    workflows = Workflow(config.workflow_state_machine_arn) if config.workflow_state_machine_arn else None
    return Reconciler(
        TaskStore(config.tasks_table),
        Storage(),
        Workflow(config.state_machine_arn),
        config.media_bucket,
        workflows,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def execution_ended(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """An EventBridge "Step Functions Execution Status Change" event for an execution that ended
    other than well; its input names the task."""
    detail = event["detail"]
    task_id = str(json.loads(detail.get("input") or "{}")["task_id"])
    moved = reconciler().execution_ended(task_id, EndedExecution(detail["status"]))
    metrics.add_metric(name=RECONCILED_TASKS, unit=MetricUnit.Count, value=int(moved))
    # an execution that ended outside the definition never ran its own ReleaseSlot state
    count_admissions(running_slots().release(task_id))
    return {"task_id": task_id, "reconciled": moved}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = settings()
    report = reconciler().sweep(now_ms() - config.sweep_after_seconds * 1000, config.sweep_max_start_attempts)
    metrics.add_metric(name=SWEEP_STARTS, unit=MetricUnit.Count, value=len(report.started))
    metrics.add_metric(name=SWEEP_FAILURES, unit=MetricUnit.Count, value=len(report.failed))
    reclaimed = running_slots().reclaim()
    metrics.add_metric(name=RECLAIMED_SLOTS, unit=MetricUnit.Count, value=len(reclaimed.slots))
    count_admissions(reclaimed.admitted)
    return {
        "started": report.started,
        "failed": report.failed,
        "reclaimed_slots": reclaimed.slots,
        "dropped_waiters": reclaimed.waiters,
    }
