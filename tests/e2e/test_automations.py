"""Automations through the vendor's SDK (ittybit 1.0.0) unchanged, against the local product: the
resource's life (every raw body validated with the SDK's own models), its tenancy, and what it does
(an upload through a put signature starts one workflow task on the new media, however often the
files table's stream delivers the event). Each test's automations live in projects of their own, so
they never run on other tests' media."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ittybit import Ittybit
from ittybit.automations.types.automations_create_response import AutomationsCreateResponse
from ittybit.automations.types.automations_delete_response import AutomationsDeleteResponse
from ittybit.automations.types.automations_get_response import AutomationsGetResponse
from ittybit.automations.types.automations_list_response_item import AutomationsListResponseItem
from ittybit.automations.types.automations_update_response import AutomationsUpdateResponse
from ittybit.core.api_error import ApiError

from tests.e2e.test_files_media import Sdk, ready_file
from tests.e2e.test_track_kinds import scenes_clip
from tests.e2e.test_vendor_sdk import RETRY_RATE_LIMITS, Recorder
from tests.local_product import TASK_SECONDS, Api, emulator, new_key
from tests.support.speech import speak
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
# the SDK's own example (automations.create's docstring)
TRIGGER = {"kind": "event", "event": "media.created"}
SDK_WORKFLOW = [
    {"kind": "description"},
    {"kind": "image", "ref": "thumbnail"},
    {"kind": "video", "next": [{"kind": "subtitles", "ref": "subtitles"}]},
]
FILES_TABLE = "mediatasks-files"
SAID = "Every upload gets a poster, an encoded video and captions. The automation does it all."


def _sdk(api: Api, project: str) -> Iterator[Sdk]:
    recorder = Recorder()
    with httpx.Client(event_hooks={"response": [recorder]}, timeout=30) as http:
        key = new_key(api, project)
        yield Sdk(Ittybit(base_url=api.url, api_key=key, httpx_client=http), recorder)


@pytest.fixture(scope="module")
def sdk(api: Api) -> Iterator[Sdk]:
    yield from _sdk(api, "automations-team")


@pytest.fixture(scope="module")
def other_sdk(api: Api) -> Iterator[Sdk]:
    yield from _sdk(api, "automations-other-team")


def _created(sdk: Sdk, **fields: Any) -> dict[str, Any]:
    sdk.client.automations.create(**({"trigger": TRIGGER, "workflow": SDK_WORKFLOW} | fields))
    body: dict[str, Any] = sdk.last(201)
    AutomationsCreateResponse.model_validate(body)
    return body


def test_an_automation_lives_and_dies_through_the_sdk(sdk: Sdk) -> None:
    created = _created(sdk, name="every upload", status="active")
    assert created["id"].startswith("auto_")
    assert (created["name"], created["status"], created["trigger"]) == ("every upload", "active", TRIGGER)
    # the workflow as a workflow task takes it: options gathered under each step's `options`
    assert [step["kind"] for step in created["workflow"]] == ["description", "image", "video"]
    assert [(step["kind"], step.get("ref")) for step in created["workflow"][2]["next"]] == [
        ("subtitles", "subtitles")
    ]
    assert created["created"] == created["updated"]

    sdk.client.automations.get(created["id"])
    assert sdk.last(200) == created
    AutomationsGetResponse.model_validate(created)

    sdk.client.automations.update(created["id"], status="paused", description="on hold")
    paused = sdk.last(200)
    AutomationsUpdateResponse.model_validate(paused)
    assert (paused["status"], paused["description"], paused["name"]) == ("paused", "on hold", "every upload")
    assert paused["workflow"] == created["workflow"]
    assert paused["updated"] > created["updated"]

    sdk.client.automations.update(created["id"], name=None, workflow=[{"kind": "image", "width": 64}])
    changed = sdk.last(200)
    assert (changed["name"], changed["workflow"]) == (None, [{"kind": "image", "options": {"width": 64}}])

    listed = sdk.client.automations.list(limit=100, request_options=RETRY_RATE_LIMITS)
    raw = sdk.last(200)
    assert isinstance(raw, list)  # a bare array, as the SDK reads lists
    for item in raw:
        AutomationsListResponseItem.model_validate(item)
    assert created["id"] in [automation.id for automation in listed]

    sdk.client.automations.delete(created["id"])
    AutomationsDeleteResponse.model_validate(sdk.last(200))
    with pytest.raises(ApiError) as gone:
        sdk.client.automations.get(created["id"])
    assert (gone.value.status_code, gone.value.body["kind"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("fields", "field", "kind"),
    [
        ({"workflow": [{"kind": "image"}, {"kind": "video", "width": "wide"}]}, "workflow[1].width", None),
        ({"workflow": [{"kind": "video", "next": [{"kind": "teleport"}]}]}, "workflow[0].next[0].kind", None),
        ({"workflow": []}, "workflow", "invalid_option"),
        ({"trigger": {"kind": "event", "event": "media.deleted"}}, "trigger.event", "invalid_option"),
        ({"status": "sometimes"}, "status", "invalid_option"),
    ],
)
def test_a_bad_automation_is_refused_at_its_field(
    sdk: Sdk, fields: dict[str, Any], field: str, kind: str | None
) -> None:
    with pytest.raises(ApiError) as refused:
        _created(sdk, **fields)
    assert refused.value.status_code == 400
    assert refused.value.body["field"] == field, refused.value.body
    if kind is not None:
        assert refused.value.body["kind"] == kind


def test_a_patch_cannot_clear_what_an_automation_needs(sdk: Sdk) -> None:
    created = _created(sdk)
    with pytest.raises(ApiError) as refused:
        sdk.client.automations.update(created["id"], workflow=None)
    assert (refused.value.status_code, refused.value.body["field"]) == (400, "workflow")
    sdk.client.automations.get(created["id"])
    assert sdk.last(200)["workflow"] == created["workflow"]


def test_another_projects_automations_are_not_found(sdk: Sdk, other_sdk: Sdk) -> None:
    mine = _created(sdk, name="mine")
    for call in (
        lambda: other_sdk.client.automations.get(mine["id"]),
        lambda: other_sdk.client.automations.update(mine["id"], status="paused"),
        lambda: other_sdk.client.automations.delete(mine["id"]),
    ):
        with pytest.raises(ApiError) as refused:
            call()
        assert refused.value.status_code == 404
    theirs = other_sdk.client.automations.list(limit=100, request_options=RETRY_RATE_LIMITS)
    assert mine["id"] not in [automation.id for automation in theirs]
    sdk.client.automations.get(mine["id"])
    assert sdk.last(200)["status"] == "active"


def test_a_patched_trigger_keeps_an_ops_automation_s_prefix(api: Api) -> None:
    status, listed = api.request("GET", "/automations?limit=100")
    assert status == 200
    ops = [item for item in listed["data"] if item["created_by"] == "ops"]
    assert ops, "serve seeds ops' automations from its trigger rules"
    prefix = ops[0]["trigger"]["prefix"]
    status, patched = api.request("PATCH", f"/automations/{ops[0]['id']}", {"trigger": TRIGGER})
    assert status == 200, patched
    assert patched["trigger"] == {**TRIGGER, "prefix": prefix}
    assert api.request("GET", f"/automations/{ops[0]['id']}")[1]["trigger"]["prefix"] == prefix


def test_automations_are_listed_by_cursor_as_media_are(api: Api) -> None:
    key = new_key(api, "automations-paging")
    project = api.as_project(key)
    body = {"trigger": TRIGGER, "workflow": [{"kind": "image"}]}
    made = [project.request("POST", "/automations", body)[1]["id"] for _ in range(3)]
    status, first = project.request("GET", "/automations?limit=2")
    assert status == 200
    assert [item["id"] for item in first["data"]] == made[::-1][:2]  # newest first
    status, second = project.request("GET", first["links"]["next"])
    assert [item["id"] for item in second["data"]] == [made[0]]
    assert second["links"]["next"] is None


def _upload(sdk: Sdk, clip: bytes, filename: str) -> dict[str, Any]:
    """A browser's upload through a put signature; the new media's original, once stored."""
    expiry = int(time.time()) + 600
    sdk.client.signatures.create(filename=filename, folder="phone", expiry=expiry, method="put")
    uploaded = httpx.put(sdk.last(201)["url"], content=clip, headers={"Content-Type": "video/mp4"})
    assert uploaded.status_code == 201, uploaded.text
    return ready_file(sdk, uploaded.json()["id"])


def _workflow_tasks(project: Api, automation_id: str) -> list[dict[str, Any]]:
    status, listed = project.request("GET", "/tasks?kind=workflow&limit=100")
    assert status == 200, listed
    return [task for task in listed["data"] if task["metadata"].get("automation_id") == automation_id]


def _stream_record(api: Api, file_id: str) -> dict[str, Any]:
    """The files table's stream record of the write that stored the file, as Lambda hands it over."""
    item = emulator(api, "dynamodb").get_item(TableName=FILES_TABLE, Key={"id": {"S": file_id}})["Item"]
    waiting = {**item, "status": {"S": "waiting"}}
    return {
        "eventID": "redelivered",
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"id": item["id"]},
            "NewImage": item,
            "OldImage": waiting,
            "SequenceNumber": "1",
        },
    }


@pytest.fixture(scope="module")
def spoken_clip(media_dir: Path) -> bytes:
    """A short clip with scene cuts and speech: every step of the SDK's example has work to do."""
    clip = media_dir / "automated.mp4"
    scenes_clip(clip, speak(SAID, media_dir / "automated.wav"))
    return clip.read_bytes()


def test_an_upload_starts_each_active_automation_once(api: Api, spoken_clip: bytes) -> None:
    key = new_key(api, "automations-uploads")
    project = api.as_project(key)
    recorder = Recorder()
    with httpx.Client(event_hooks={"response": [recorder]}, timeout=30) as http:
        sdk = Sdk(Ittybit(base_url=api.url, api_key=key, httpx_client=http), recorder)
        active = _created(sdk, name="sdk example")
        paused = _created(sdk, name="paused", status="paused", workflow=[{"kind": "image"}])
        original = _upload(sdk, spoken_clip, "a.mp4")

    (started,) = wait_until(
        lambda: _workflow_tasks(project, active["id"]) or None,
        TASK_SECONDS,
        "the automation's workflow task",
    )
    assert started["kind"] == "workflow"
    assert started["input"] == original["id"]  # the new media's original, as the workflow's input
    assert started["media_id"] == original["media_id"]
    steps = [(step["kind"], step.get("ref")) for step in started["workflow"]]
    assert steps == [("description", None), ("image", "thumbnail"), ("video", None)]
    assert started["workflow"][2]["next"][0]["ref"] == "subtitles"
    assert _workflow_tasks(project, paused["id"]) == []

    # the stream delivers the same write again (as it may, at least once): no second task
    record = _stream_record(api, original["id"])
    reply = emulator(api, "lambda").invoke(
        FunctionName="AutomationsFunction", Payload=json.dumps({"Records": [record]}).encode()
    )
    assert "FunctionError" not in reply, reply["Payload"].read()
    assert json.loads(reply["Payload"].read()) == {"batchItemFailures": []}
    assert [task["id"] for task in _workflow_tasks(project, active["id"])] == [started["id"]]

    # the workflow runs: each step a child task on the new media, next on its step's output
    parent = project.wait(started["id"])
    assert parent["status"] == "succeeded", parent
    status, page = project.request("GET", f"/tasks?parent_id={parent['id']}&limit=100")
    assert status == 200, page
    by_kind = {child["kind"]: child for child in page["data"]}
    assert sorted(by_kind) == ["description", "image", "subtitles", "video"]
    assert {(child["parent_id"], child["status"]) for child in page["data"]} == {(parent["id"], "succeeded")}
    assert {by_kind[kind]["input"] for kind in ("description", "image", "video")} == {original["id"]}
    assert by_kind["subtitles"]["input"] == by_kind["video"]["output"]["id"]
    assert set(parent["output"]) == {"thumbnail", "subtitles"}
    assert parent["output"]["thumbnail"]["id"] == by_kind["image"]["output"]["id"]
