"""The state machine's step Lambdas. Each parses the execution state and calls one pipeline step;
its return value becomes that step's result in the state."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from mediatasks.adapters.files import FileStore
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.config import settings
from mediatasks.providers.moderation import video_moderator
from mediatasks.providers.speech import recognizer
from mediatasks.service.pipeline import Pipeline
from mediatasks.service.segments import SegmentedEncode
from mediatasks.service.tracks import TrackPipeline

logger = Logger(service="mediatasks-pipeline")
tracer = Tracer(service="mediatasks-pipeline")


class ExecutionState(BaseModel):
    """The execution's JSON state: the task id plus each finished step's result (ingest's
    `source`, the stored input every later step reads; probe's description of it)."""

    task_id: str
    kind: str
    probe: dict[str, Any] | None = None
    source: dict[str, Any] | None = None
    rendition: dict[str, Any] | None = None
    # the transcribe step's state (service/tracks.SpeechState), for the kinds that read speech
    transcript: dict[str, Any] | None = None
    # the moderate step's state (service/tracks.ModerationState), for nsfw
    moderation: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    # a long video's encode in pieces: split's result, and the one piece a map iteration encodes
    segments: dict[str, Any] | None = None
    segment: dict[str, Any] | None = None


@lru_cache(maxsize=1)
def pipeline() -> Pipeline:
    config = settings()
    return Pipeline(config, TaskStore(config.tasks_table), Storage(), FileStore(config.files_table))


@lru_cache(maxsize=1)
def segmented() -> SegmentedEncode:
    config = settings()
    return SegmentedEncode(config, TaskStore(config.tasks_table), Storage())


@lru_cache(maxsize=1)
def track_pipeline() -> TrackPipeline:
    config = settings()
    return TrackPipeline(
        config,
        TaskStore(config.tasks_table),
        Storage(),
        lambda: recognizer(config.speech_provider),
        lambda: video_moderator(config.moderation_provider),
    )


def _seconds_left(context: LambdaContext) -> float:
    return context.get_remaining_time_in_millis() / 1000


def _required(value: dict[str, Any] | None, name: str) -> dict[str, Any]:
    if value is None:
        raise ValueError(f"the execution state has no {name!r} result")
    return value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def probe(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    return pipeline().probe(
        event.task_id, event.kind, _required(event.source, "source"), _seconds_left(context)
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def ingest(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    return pipeline().ingest(event.task_id, event.kind)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def encode(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    return pipeline().encode(
        event.task_id,
        event.kind,
        _required(event.probe, "probe"),
        _required(event.source, "source"),
        _seconds_left(context),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def upload(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    probed, source = _required(event.probe, "probe"), _required(event.source, "source")
    return pipeline().upload(event.task_id, event.kind, event.rendition, probed, source)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def mark_failed(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    return pipeline().mark_failed(event.task_id, _required(event.error, "error"))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def transcribe(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    probed, source = _required(event.probe, "probe"), _required(event.source, "source")
    return track_pipeline().transcribe(event.task_id, event.kind, probed, source, _seconds_left(context))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def transcript_status(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    return track_pipeline().transcript_status(
        event.task_id, event.kind, _required(event.transcript, "transcript")
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def track(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    probed, source = _required(event.probe, "probe"), _required(event.source, "source")
    return track_pipeline().track(
        event.task_id, event.kind, probed, source, event.transcript, event.moderation, _seconds_left(context)
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def moderate(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    probed, source = _required(event.probe, "probe"), _required(event.source, "source")
    return track_pipeline().moderate(event.task_id, event.kind, probed, source, _seconds_left(context))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def moderation_status(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    return track_pipeline().moderation_status(
        event.task_id, event.kind, _required(event.moderation, "moderation")
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def split(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    probed, source = _required(event.probe, "probe"), _required(event.source, "source")
    return segmented().split(event.task_id, event.kind, probed, source, _seconds_left(context))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def encode_segment(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    probed, segment = _required(event.probe, "probe"), _required(event.segment, "segment")
    return segmented().encode_segment(event.task_id, event.kind, probed, segment, _seconds_left(context))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ExecutionState)
def join(event: ExecutionState, context: LambdaContext) -> dict[str, Any]:
    probed, source = _required(event.probe, "probe"), _required(event.source, "source")
    segments = _required(event.segments, "segments")
    return segmented().join(event.task_id, event.kind, probed, source, segments, _seconds_left(context))
