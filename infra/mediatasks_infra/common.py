"""What every construct of the app shares: paths, the runtime, stable ids, acknowledged findings."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct, IConstruct

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = ROOT / "functions"
LAYER_BUILD_DIR = ROOT / "layers" / "ffmpeg" / "build"
# The layer's Pillow wheels are built for this runtime (layers/ffmpeg/wheels.json).
RUNTIME = lambda_.Runtime.PYTHON_3_12


def override_id(construct: Construct, logical_id: str) -> None:
    """Stable logical ids, so the local stack and the tests find each resource by name."""
    child = construct.node.default_child
    if not isinstance(child, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to name")
    child.override_logical_id(logical_id)


def acknowledge(construct: IConstruct, reasons: dict[str, str]) -> None:
    """Accepts cdk-nag findings on one construct, each with the reason it is right here."""
    for rule, reason in reasons.items():
        cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def table_stream_source(table: dynamodb.ITable, new_writes: dict[str, object]) -> sources.DynamoEventSource:
    """A table's stream as a function's events: only the writes `new_writes` matches (a filter on
    the stream record; the function checks again), from now on, in small batches whose failed items
    alone are retried (a bad batch is halved until its bad item stands alone)."""
    return sources.DynamoEventSource(
        table,
        starting_position=lambda_.StartingPosition.LATEST,
        batch_size=10,
        bisect_batch_on_error=True,
        retry_attempts=10,
        report_batch_item_failures=True,
        filters=[lambda_.FilterCriteria.filter(new_writes)],
    )
