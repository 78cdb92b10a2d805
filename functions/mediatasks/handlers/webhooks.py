"""The webhook functions: `dispatch` reads the tasks table's stream and starts one delivery per
task that has just ended with a webhook_url; `deliver` is the delivery state machine's step, one
POST per call, whose result tells the machine to stop, or wait and call it again."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediatasks.config import settings
from mediatasks.domain.webhooks import Delivery, newly_ended
from mediatasks.service.webhooks import WebhookService

logger = Logger(service="mediatasks-webhooks")
tracer = Tracer(service="mediatasks-webhooks")
metrics = Metrics(namespace="MediaTasks", service="mediatasks-webhooks")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
# One metric per outcome of a try: delivered (a 2xx), retrying (it will be tried again), failed
# (given up: the alarm watches this one).
METRIC_OF_OUTCOME = {
    "delivered": "WebhookDeliveriesSucceeded",
    "retrying": "WebhookDeliveriesRetried",
    "failed": "WebhookDeliveriesFailed",
}


@lru_cache(maxsize=1)
def webhooks() -> WebhookService:
    return WebhookService.from_settings(settings())


def record_handler(record: DynamoDBRecord) -> None:
    stream = record.dynamodb
    if stream is None:
        return
    new, old = stream.new_image or {}, stream.old_image or {}
    ended = newly_ended(old.get("status"), new.get("status"))
    if ended is not None and new.get("webhook_url"):
        webhooks().task_ended(str(new["id"]), ended)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def dispatch(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=Delivery)
def deliver(event: Delivery, context: LambdaContext) -> dict[str, Any]:
    after = webhooks().attempt(event)
    metrics.add_metric(name=METRIC_OF_OUTCOME[after.outcome], unit=MetricUnit.Count, value=1)
    logger.info(
        "webhook attempt",
        extra={"task_id": after.task_id, "delivery_id": after.delivery_id, "outcome": after.outcome},
    )
    return after.model_dump(mode="json")
