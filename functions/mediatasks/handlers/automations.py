"""The automations function: the files table's stream, filtered to writes that store a media's
original file (`media.created`), starts each covering automation's workflow task on the media.

A stream delivers a record at least once (and a failed batch again): each start is keyed by
(automation, media) in a Powertools idempotency record, so however often the event comes, one
workflow task is made per automation and media. A record that fails is reported back (partial batch
response) and retried by the event source mapping. At deploy, it also writes ops' automations for
the watched bucket's rules (SEED_AUTOMATIONS_ACTION)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediatasks.config import settings
from mediatasks.constants import SEED_AUTOMATIONS_ACTION
from mediatasks.service.automations import AutomationService, media_created
from mediatasks.service.tasks import TaskService

logger = Logger(service="mediatasks-automations")
tracer = Tracer(service="mediatasks-automations")
metrics = Metrics(namespace="MediaTasks", service="mediatasks-automations")
# Starts that made no task (the automation paused or deleted since, or its task refused): final.
RUNS_WITHOUT_TASK = "AutomationRunsWithoutTask"
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
# Longer than the stream keeps a record (24 h): no redelivery outlives its run's record.
IDEMPOTENCY = IdempotencyConfig(expires_after_seconds=7 * 24 * 3600)


@lru_cache(maxsize=1)
def automations() -> AutomationService:
    return AutomationService(TaskService.from_settings(settings()))


@lru_cache(maxsize=1)
def start_once() -> Callable[..., str | None]:
    service = automations()

    @idempotent_function(
        data_keyword_argument="run",
        persistence_store=DynamoDBPersistenceLayer(table_name=settings().idempotency_table),
        config=IDEMPOTENCY,
    )
    def start(run: dict[str, str]) -> str | None:
        return service.start(run["project_id"], run["automation_id"], run["media_id"])

    once: Callable[..., str | None] = start
    return once


def record_handler(record: DynamoDBRecord) -> None:
    stream = record.dynamodb
    event = None if stream is None else media_created(stream.old_image, stream.new_image)
    if event is None:
        return
    start = start_once()
    for automation_id in automations().to_start(event):
        run = {"project_id": event.project_id, "automation_id": automation_id, "media_id": event.media_id}
        if start(run=run) is None:
            metrics.add_metric(name=RUNS_WITHOUT_TASK, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | dict[str, Any]:
    if event.get("action") == SEED_AUTOMATIONS_ACTION:
        written = automations().seed(settings().trigger_rules)
        logger.info("ops' automations seeded", extra={"written": written})
        return {"written": written}
    IDEMPOTENCY.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
