"""The trigger function: S3 object-created notifications, delivered by SQS in batches, become media
(an ingest task each), on which ops' automations run.

Each message is one record of the batch: a message that fails is reported back (partial batch
response) and SQS delivers it again, then moves it to the dead-letter queue. Each object version
makes one media however often S3 or SQS delivers its event (Powertools idempotency, keyed by bucket,
key and version).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediatasks.config import settings
from mediatasks.service.files import FileService
from mediatasks.service.tasks import TaskService
from mediatasks.service.trigger_rules import SourceObject
from mediatasks.service.triggers import TriggerService, created_objects

logger = Logger(service="mediatasks-trigger")
tracer = Tracer(service="mediatasks-trigger")
metrics = Metrics(namespace="MediaTasks", service="mediatasks-trigger")
# Objects that made no task (no rule, or a request the API refuses): dropped, not retried.
UPLOADS_WITHOUT_TASK = "UploadsWithoutTask"
processor = BatchProcessor(event_type=EventType.SQS)
# As long as the dead-letter queue keeps a message: a redriven event still finds its first task.
IDEMPOTENCY = IdempotencyConfig(expires_after_seconds=14 * 24 * 3600)


@lru_cache(maxsize=1)
def create_task_once() -> Callable[..., str | None]:
    config = settings()
    triggers = TriggerService(config.trigger_rules, FileService(TaskService.from_settings(config)))

    @idempotent_function(
        data_keyword_argument="source",
        persistence_store=DynamoDBPersistenceLayer(table_name=config.idempotency_table),
        config=IDEMPOTENCY,
    )
    def create(source: dict[str, str]) -> str | None:
        return triggers.create_task(SourceObject(**source))

    once: Callable[..., str | None] = create
    return once


def record_handler(record: SQSRecord) -> None:
    create = create_task_once()
    for source in created_objects(record.json_body):
        if create(source=source.identity) is None:
            metrics.add_metric(name=UPLOADS_WITHOUT_TASK, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    IDEMPOTENCY.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
