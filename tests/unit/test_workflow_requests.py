"""A workflow task's steps are validated whole when it is created, each against its kind's options;
an error names the step's path. Through the real API handler: no emulator is needed."""

from __future__ import annotations

from typing import Any

import pytest

from mediatasks.kinds.registry import parse_request
from mediatasks.kinds.workflow import MAX_DEPTH, MAX_STEPS, WorkflowTaskRequest
from tests.unit.test_api_errors import call

INPUT = "https://example.com/a.mp4"
# the vendor SDK's own example, with `description` (not built yet) left out
SDK_EXAMPLE = [
    {"kind": "image", "ref": "thumbnail"},
    {"kind": "video", "next": [{"kind": "subtitles", "ref": "subtitles"}]},
]


def workflow(*steps: Any) -> dict[str, Any]:
    return {"kind": "workflow", "url": INPUT, "workflow": list(steps)}


def nested(depth: int) -> dict[str, Any]:
    step: dict[str, Any] = {"kind": "image"}
    for _ in range(depth - 1):
        step = {"kind": "video", "next": [step]}
    return step


def test_the_sdk_example_is_stored_with_each_steps_options_under_options() -> None:
    request = parse_request(
        workflow(
            {"kind": "image", "ref": "thumbnail", "width": 320, "format": "webp"},
            *SDK_EXAMPLE[1:],
            {
                "kind": "conditions",
                "conditions": [{"prop": "duration", "value": ">60"}],
                "next": [{"kind": "video"}],
            },
        )
    )
    assert isinstance(request, WorkflowTaskRequest)
    first, second, third = request.workflow
    assert (first.kind, first.ref, first.options) == ("image", "thumbnail", {"width": 320, "format": "webp"})
    assert [(step.kind, step.ref) for step in second.next] == [("subtitles", "subtitles")]
    assert third.conditions is not None
    assert third.conditions[0].value == ">60"
    assert [step.kind for step in third.next] == ["video"]


def test_options_may_be_given_under_options_and_aliases_are_stored_by_name() -> None:
    request = parse_request(workflow({"kind": "image", "options": {"height": 240}}))
    assert isinstance(request, WorkflowTaskRequest)
    assert request.workflow[0].options == {"height": 240}


BAD_WORKFLOWS = [
    # (workflow, error kind, field)
    (
        [{"kind": "image"}, {"kind": "image"}, {"kind": "video", "next": [{"kind": "image", "width": 3}]}],
        "invalid_option",
        "workflow[2].next[0].width",
    ),
    ([{"kind": "image", "format": "bmp"}], "invalid_format", "workflow[0].format"),
    ([{"kind": "image", "options": {"format": "bmp"}}], "invalid_format", "workflow[0].format"),
    ([{"kind": "video", "format": "webm", "codec": "h264"}], "invalid_codec", "workflow[0].codec"),
    ([{"kind": "image", "colour": "red"}], "invalid_option", "workflow[0].colour"),
    ([{"kind": "image", "width": 320, "options": {"width": 320}}], "invalid_option", "workflow[0].width"),
    ([{"kind": "prompt"}], "invalid_option", "workflow[0].prompt"),  # its question is required
    ([{"kind": "http"}], "invalid_option", "workflow[0].url"),
    ([{"kind": "http", "url": "ftp://example.com/"}], "invalid_option", "workflow[0].url"),
    (
        [{"kind": "http", "url": "https://example.com/", "method": "GET"}],
        "invalid_option",
        "workflow[0].method",
    ),
    ([{"kind": "teleport"}], "kind_unsupported", "workflow[0].kind"),
    ([{"kind": "probe"}], "kind_unsupported", "workflow[0].kind"),
    ([{"ref": "a"}], "invalid_option", "workflow[0].kind"),
    ([{"kind": "image", "ref": "a"}, {"kind": "video", "ref": "a"}], "invalid_option", "workflow[1].ref"),
    ([{"kind": "image", "ref": "no spaces"}], "invalid_option", "workflow[0].ref"),
    ([{"kind": "video", "next": []}], "invalid_option", "workflow[0].next"),
    (
        [{"kind": "image", "conditions": [{"prop": "width", "value": 1}]}],
        "invalid_option",
        "workflow[0].conditions",
    ),
    ([{"kind": "conditions", "conditions": []}], "invalid_option", "workflow[0].conditions"),
    (
        [{"kind": "conditions", "conditions": [{"prop": "duration", "value": ">sixty"}]}],
        "invalid_option",
        "workflow[0].conditions[0].value",
    ),
    (
        [{"kind": "conditions", "conditions": [{"prop": "orientation", "value": ">square"}]}],
        "invalid_option",
        "workflow[0].conditions[0].value",
    ),
    (
        [{"kind": "conditions", "conditions": [{"prop": "colour", "value": "red"}]}],
        "invalid_option",
        "workflow[0].conditions[0].prop",
    ),
    (
        [{"kind": "conditions", "conditions": [{"prop": "width"}]}],
        "invalid_option",
        "workflow[0].conditions[0].value",
    ),
    (
        [{"kind": "conditions", "conditions": [{"prop": "width", "value": 1}], "width": 2}],
        "invalid_option",
        "workflow[0].width",
    ),
    ([nested(MAX_DEPTH + 1)], "invalid_option", "workflow" + "[0].next" * MAX_DEPTH),
    ([{"kind": "image"}] * (MAX_STEPS + 1), "invalid_option", f"workflow[{MAX_STEPS}]"),
    ([], "invalid_option", "workflow"),
    ("image", "invalid_option", "workflow"),
    (["image"], "invalid_option", "workflow[0]"),
]


@pytest.mark.parametrize(("steps", "kind", "field"), BAD_WORKFLOWS)
def test_a_bad_step_is_refused_at_its_path(steps: Any, kind: str, field: str) -> None:
    status, body = call("POST", "/tasks", {"kind": "workflow", "url": INPUT, "workflow": steps})
    assert (status, body["kind"], body["field"]) == (400, kind, field)
    assert field in body["message"]


def test_the_bounds_admit_a_workflow_at_their_limits() -> None:
    request = parse_request(workflow(nested(MAX_DEPTH), *[{"kind": "image"}] * (MAX_STEPS - MAX_DEPTH)))
    assert isinstance(request, WorkflowTaskRequest)


def test_a_workflow_without_steps_or_with_a_destination_is_refused() -> None:
    status, body = call("POST", "/tasks", {"kind": "workflow", "url": INPUT})
    assert (status, body["kind"], body["field"]) == (400, "invalid_option", "workflow")
    status, body = call("POST", "/tasks", {**workflow(*SDK_EXAMPLE), "output": "s3://bucket-b/out.mp4"})
    assert (status, body["field"]) == (400, "output")
