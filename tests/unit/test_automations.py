"""Automations without the product: which files-table writes are `media.created`, and what POST and
PATCH /automations accept (the workflow kind's own validation, errors at the step's path)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mediatasks.domain.automations import AutomationRecord, AutomationStatus, EventTrigger
from mediatasks.kinds.registry import rejection_from
from mediatasks.service.automation_requests import AutomationCreate, AutomationUpdate, stored_steps
from mediatasks.service.automations import MediaCreated, media_created

ORIGINAL = {
    "id": "file_abc",
    "project_id": "prj",
    "media_id": "med_abc",
    "task_id": "task_abc",
    "original": True,
    "status": "ready",
}
SDK_EXAMPLE = {
    "trigger": {"kind": "event", "event": "media.created"},
    "workflow": [
        {"kind": "description"},
        {"kind": "image", "ref": "thumbnail"},
        {"kind": "video", "next": [{"kind": "subtitles", "ref": "subtitles"}]},
    ],
}


def test_an_original_turning_ready_is_a_new_media() -> None:
    expected = MediaCreated(project_id="prj", media_id="med_abc", file_id="file_abc", task_id="task_abc")
    assert media_created({**ORIGINAL, "status": "processing"}, ORIGINAL) == expected
    assert media_created(None, ORIGINAL) == expected  # written ready at once


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (ORIGINAL, {**ORIGINAL, "filename": "renamed.mp4"}),  # a PATCH of a stored original
        ({**ORIGINAL, "status": "waiting"}, {**ORIGINAL, "status": "processing"}),
        ({**ORIGINAL, "status": "processing"}, {**ORIGINAL, "original": False}),  # a rendition
        ({**ORIGINAL, "status": "processing"}, {**ORIGINAL, "status": "failed"}),
        (ORIGINAL, None),  # deleted
        (None, {**ORIGINAL, "id": "med_abc"}),  # a media item, not a file
    ],
)
def test_other_writes_are_not(old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    assert media_created(old, new) is None


def test_the_sdk_example_is_stored_as_a_workflow_task_takes_it() -> None:
    request = AutomationCreate.model_validate(SDK_EXAMPLE)
    assert request.status == AutomationStatus.active
    # as the workflow kind normalizes them: a video step's codec follows from its format
    assert stored_steps(request.workflow) == [
        {"kind": "description"},
        {"kind": "image", "ref": "thumbnail"},
        {"kind": "video", "options": {"codec": "h264"}, "next": [{"kind": "subtitles", "ref": "subtitles"}]},
    ]
    with_options = AutomationCreate.model_validate(
        SDK_EXAMPLE | {"workflow": [{"kind": "image", "width": 64, "format": "png"}]}
    )
    assert stored_steps(with_options.workflow) == [
        {"kind": "image", "options": {"width": 64, "format": "png"}}
    ]


def _refusal(model: type[AutomationCreate] | type[AutomationUpdate], body: dict[str, Any]) -> Any:
    with pytest.raises(ValidationError) as invalid:
        model.model_validate(body)
    return rejection_from(list(invalid.value.errors()))


@pytest.mark.parametrize(
    ("workflow", "field"),
    [
        (
            [{"kind": "image"}, {"kind": "video", "next": [{"kind": "video", "width": -4}]}],
            "workflow[1].next[0].width",
        ),
        ([{"kind": "image", "ref": "a"}, {"kind": "video", "ref": "a"}], "workflow[1].ref"),
        ([{"kind": "probe"}], "workflow[0].kind"),
    ],
)
def test_a_bad_workflow_is_refused_at_the_steps_path(workflow: list[Any], field: str) -> None:
    assert _refusal(AutomationCreate, SDK_EXAMPLE | {"workflow": workflow}).field == field
    assert _refusal(AutomationUpdate, {"workflow": workflow}).field == field


def test_a_patch_changes_what_it_sends_and_clears_only_the_optional() -> None:
    update = AutomationUpdate.model_validate({"status": "paused", "name": None})
    assert update.changes() == {"status": "paused", "name": None}
    for required in ("trigger", "workflow", "status"):
        refused = _refusal(AutomationUpdate, {required: None})
        assert (refused.kind, refused.field) == ("invalid_option", required)


def test_only_the_media_created_event_is_a_trigger() -> None:
    refused = _refusal(
        AutomationCreate, SDK_EXAMPLE | {"trigger": {"kind": "event", "event": "file.created"}}
    )
    assert refused.field == "trigger.event"
    # the prefix is ops' (the watched bucket's rules), never the API's
    with_prefix = SDK_EXAMPLE | {"trigger": {**SDK_EXAMPLE["trigger"], "prefix": "x/"}}
    assert _refusal(AutomationCreate, with_prefix).field == "trigger.prefix"


def test_a_paused_automation_or_one_for_another_prefix_does_not_run() -> None:
    automation = AutomationRecord(project_id="prj", workflow=[{"kind": "image"}])
    assert automation.runs_on_new_media(None)
    assert not automation.model_copy(update={"status": AutomationStatus.paused}).runs_on_new_media(None)
    watched = automation.model_copy(update={"trigger": EventTrigger(prefix="incoming/")})
    assert watched.runs_on_new_media("incoming/a.mov")
    assert not watched.runs_on_new_media("elsewhere/a.mov")
    assert not watched.runs_on_new_media(None)
