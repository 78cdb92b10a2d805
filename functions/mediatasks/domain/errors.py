"""Error kinds of the Tasks API, shared by the API (HTTP errors) and the pipeline (task errors)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorKind(StrEnum):
    """Why a request was refused (SPEC.md's error kinds). The API maps each to its HTTP status."""

    input_required = "input_required"
    invalid_input = "invalid_input"
    invalid_format = "invalid_format"
    invalid_codec = "invalid_codec"
    invalid_option = "invalid_option"
    invalid_json = "invalid_json"
    invalid_version = "invalid_version"
    kind_unsupported = "kind_unsupported"
    token_missing = "token_missing"  # noqa: S105 - an error kind, not a secret
    token_invalid = "token_invalid"  # noqa: S105 - an error kind, not a secret
    not_found = "not_found"
    task_not_found = "task_not_found"
    task_not_cancellable = "task_not_cancellable"
    webhook_unavailable = "webhook_unavailable"
    file_in_use = "file_in_use"
    upload_incomplete = "upload_incomplete"
    signature_invalid = "signature_invalid"
    signature_expired = "signature_expired"
    invalid_idempotency_key = "invalid_idempotency_key"
    idempotency_key_reused = "idempotency_key_reused"
    request_in_progress = "request_in_progress"
    payload_too_large = "payload_too_large"
    rate_limited = "rate_limited"
    internal_error = "internal_error"


class RequestRejected(Exception):
    """A request the service refuses, told to the caller as `{"kind", "message", "field"}`."""

    def __init__(self, kind: ErrorKind, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


class TaskFailure(Exception):
    """A reason a task failed. Its message is shown to the caller, so it must not carry internals.

    Step functions report the exception's class name as the Lambda `errorType`; the failure handler maps
    it back to `kind` through `failure_kind_of_error_type`.
    """

    kind: ClassVar[str] = "processing_failed"


class InputUnreachable(TaskFailure):
    kind = "input_unreachable"


class InputUnsupported(TaskFailure):
    kind = "input_unsupported"


class InputTooLarge(TaskFailure):
    kind = "input_too_large"


class ProcessingFailed(TaskFailure):
    kind = "processing_failed"


class OutputTooLarge(TaskFailure):
    kind = "output_too_large"


class OutputUnwritable(TaskFailure):
    kind = "output_unwritable"


class LanguageUnsupported(TaskFailure):
    """The deployment's speech provider does not recognise the language asked for."""

    kind = "invalid_option"


class ReceiverRefused(TaskFailure):
    """An http step's receiver did not take the POST (no 2xx answer): retried, then the step fails."""

    kind = "http_failed"


class StepTimeout(TaskFailure):
    kind = "timeout"


class TransientFailure(TaskFailure):
    """A step's own failure that another attempt may not meet: storage or the table throttling us
    beyond the SDK's own retries, ffmpeg killed from outside. The state machine retries the step
    (a bounded number of times, see mediatasks_infra.reliability); past that the task fails with
    `kind`."""

    kind = "processing_failed"


class InputInterrupted(TransientFailure):
    """The connection to the input broke while it was read: retried, then `input_unreachable`."""

    kind = "input_unreachable"


def _all_failure_classes() -> list[type[TaskFailure]]:
    pending: list[type[TaskFailure]] = [TaskFailure]
    found: list[type[TaskFailure]] = []
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


# Step Functions' own error names that reach the failure handler without a Lambda error payload.
_STATES_ERROR_KINDS = {"States.Timeout": StepTimeout.kind, "States.HeartbeatTimeout": StepTimeout.kind}


def transient_error_types() -> list[str]:
    """The error names of every transient failure, as a step reports them (its class name)."""
    return sorted(cls.__name__ for cls in _all_failure_classes() if issubclass(cls, TransientFailure))


def failure_kind_of_error_type(error_type: str) -> str | None:
    """The task error kind for a Lambda `errorType` or Step Functions error name, or None if unknown."""
    if error_type in _STATES_ERROR_KINDS:
        return _STATES_ERROR_KINDS[error_type]
    for cls in _all_failure_classes():
        if cls.__name__ == error_type:
            return cls.kind
    return None
