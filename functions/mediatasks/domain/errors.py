"""Error kinds of the Tasks API, shared by the API (HTTP errors) and the pipeline (task errors)."""

from __future__ import annotations

from typing import ClassVar


class ApiError(Exception):
    """An error returned to an API caller as `{"kind", "message", "field"}` with an HTTP status."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.field = field

    def body(self) -> dict[str, str]:
        body = {"kind": self.kind, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


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


class StepTimeout(TaskFailure):
    kind = "timeout"


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


def failure_kind_of_error_type(error_type: str) -> str | None:
    """The task error kind for a Lambda `errorType` or Step Functions error name, or None if unknown."""
    if error_type in _STATES_ERROR_KINDS:
        return _STATES_ERROR_KINDS[error_type]
    for cls in _all_failure_classes():
        if cls.__name__ == error_type:
            return cls.kind
    return None
