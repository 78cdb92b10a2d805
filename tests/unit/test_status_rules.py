"""Status moves and how step failures become task errors."""

from __future__ import annotations

import json

import pytest

from mediatasks.domain.tasks import STATUS_RANK, Status, can_move
from mediatasks.service.pipeline import GENERIC_FAILURE, failure_from_catch

ORDER = [Status.waiting, Status.validating, Status.queued, Status.processing, Status.finishing]


def test_statuses_move_forward_only() -> None:
    for index, current in enumerate(ORDER):
        for later in ORDER[index:]:
            assert can_move(current, later)
        for earlier in ORDER[:index]:
            assert not can_move(current, earlier)


@pytest.mark.parametrize("terminal", [Status.succeeded, Status.failed, Status.cancelled])
def test_terminal_status_never_changes(terminal: Status) -> None:
    assert all(not can_move(terminal, status) for status in STATUS_RANK)


@pytest.mark.parametrize("terminal", [Status.succeeded, Status.failed, Status.cancelled])
def test_any_running_status_can_end(terminal: Status) -> None:
    assert all(can_move(status, terminal) for status in ORDER)


def catch(error_type: str, message: str = "the message") -> dict[str, str]:
    return {"Error": error_type, "Cause": json.dumps({"errorType": error_type, "errorMessage": message})}


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [
        ("InputUnreachable", "input_unreachable"),
        ("BlockedAddress", "input_unreachable"),
        ("InputUnsupported", "input_unsupported"),
        ("InputTooLarge", "input_too_large"),
        ("ProcessingFailed", "processing_failed"),
        ("OutputUnwritable", "output_unwritable"),
        ("StepTimeout", "timeout"),
        ("OutputTooLarge", "output_too_large"),
    ],
)
def test_our_failures_keep_their_kind_and_message(error_type: str, kind: str) -> None:
    error = failure_from_catch(catch(error_type))
    assert (error.kind, error.message) == (kind, "the message")


def test_step_functions_timeout() -> None:
    error = failure_from_catch({"Error": "States.Timeout", "Cause": ""})
    assert error.kind == "timeout"


@pytest.mark.parametrize(
    "error_type", ["KeyError", "ClientError", "Runtime.ExitError", "Sandbox.Timedout", ""]
)
def test_unexpected_errors_show_nothing_internal(error_type: str) -> None:
    error = failure_from_catch(
        catch(error_type, "'/var/task/secret.py' line 3: AccessDenied for arn:aws:iam::1")
    )
    assert (error.kind, error.message) == ("processing_failed", GENERIC_FAILURE)
