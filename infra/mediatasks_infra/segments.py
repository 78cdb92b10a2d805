"""The segmented encode's states: Split (plans; cuts a long source into pieces and writes their
manifest), a Distributed Map that reads the manifest from S3 and encodes each piece in its own
Lambda (retried on its own), and Join, which hands the output to the kind's next step."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mediatasks import constants as c
from mediatasks.domain.tasks import StepName
from mediatasks.kinds.base import STEP_RESULT
from mediatasks_infra.config import StackConfig
from mediatasks_infra.reliability import lambda_task

# A piece whose encode failed is tried again on its own (beside every Lambda task's retries of
# transient faults): a piece costs seconds, and one bad attempt should not fail an hour-long task.
PIECE_RETRIED_ERRORS = ["ProcessingFailed", "Lambda.Unknown"]
SEGMENT_ATTEMPTS = 3
# Pieces encoded at once per task: Lambda's default account concurrency is 1000; a few tasks at a
# time each take at most this many.
MAX_PARALLEL_PIECES = 100


def segment_environment(config: StackConfig) -> dict[str, str]:
    """What Split plans with: the thresholds and the size of the function that encodes."""
    encode = config.function_sizes["encodeSegment"]
    return {
        c.ENV_SEGMENT_SECONDS: f"{config.segment_seconds:g}",
        c.ENV_ENCODE_MEMORY_MB: str(config.function_sizes["encode"].memory_mb),
        c.ENV_ENCODE_TIMEOUT_SECONDS: str(encode.timeout_seconds),
        **(
            {c.ENV_SEGMENT_ABOVE_SECONDS: f"{config.segment_above_seconds:g}"}
            if config.segment_above_seconds
            else {}
        ),
    }


@dataclass(frozen=True)
class SegmentFunctions:
    split: lambda_.IFunction
    encode_piece: lambda_.IFunction
    join: lambda_.IFunction
    # the failure path's function: a piece that failed for good records the task's error itself
    record_failure: lambda_.IFunction
    bucket: s3.IBucket


def segmented_encode(
    scope: Construct,
    functions: SegmentFunctions,
    *,
    on_error: sfn.IChainable,
    single_encode: sfn.IChainable,
    after_encode: sfn.IChainable,
) -> sfn.IChainable:
    """The states from Split on: Split, then the pieces and Join, or the single encode."""

    def invoke(name: str, fn: lambda_.IFunction, result_path: str) -> tasks.LambdaInvoke:
        return lambda_task(scope, name, fn, result_path=result_path)

    split_state = invoke("Split", functions.split, "$.segments")
    split_state.add_catch(on_error, errors=["States.ALL"], result_path="$.error")
    piece = invoke("EncodePiece", functions.encode_piece, sfn.JsonPath.DISCARD)
    piece.add_retry(
        errors=PIECE_RETRIED_ERRORS,
        max_attempts=SEGMENT_ATTEMPTS - 1,
        interval=cdk.Duration.seconds(1),
        backoff_rate=2,
    )
    # a piece that failed for good records the task's failure with its own error kind
    piece_failed = invoke("RecordPieceFailure", functions.record_failure, "$.failure").next(
        sfn.Fail(scope, "PieceFailed", error="TaskFailed", cause="a piece of the video could not be encoded")
    )
    piece.add_catch(piece_failed, errors=["States.ALL"], result_path="$.error")
    pieces = sfn.DistributedMap(
        scope,
        "EncodePieces",
        item_reader=sfn.S3JsonItemReader(
            bucket=functions.bucket, key=sfn.JsonPath.string_at("$.segments.manifest.key")
        ),
        item_selector={
            "task_id.$": "$.task_id",
            "kind.$": "$.kind",
            "probe.$": "$.probe",
            "segment.$": "$$.Map.Item.Value",
        },
        max_concurrency=MAX_PARALLEL_PIECES,
        result_path=sfn.JsonPath.DISCARD,
    )
    pieces.item_processor(piece)
    pieces.add_catch(on_error, errors=["States.ALL"], result_path="$.error")
    join_state = invoke("Join", functions.join, f"$.{STEP_RESULT[StepName.transcode]}")
    join_state.add_catch(on_error, errors=["States.ALL"], result_path="$.error")
    join_state.next(after_encode)
    path = sfn.Choice(scope, "SegmentedOrWhole")
    path.when(sfn.Condition.boolean_equals("$.segments.segmented", True), pieces.next(join_state))
    path.otherwise(single_encode)
    return split_state.next(path)
