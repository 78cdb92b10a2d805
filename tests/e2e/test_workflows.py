"""Workflow tasks against the product: the vendor SDK creates one, the workflow state machine runs
each step as a child task (a nested execution of the task machine), `next` on the step's output;
conditions gate their next steps; an http step POSTs the workflow so far, signed; cancelling the
parent ends every child; a child's failure spares its siblings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ittybit import Ittybit
from ittybit.core.api_error import ApiError

from mediatasks.contract.webhooks import SIGNATURE_HEADER, verify_signature
from mediatasks.domain.tasks import TERMINAL_STATUSES
from tests.e2e.test_track_kinds import scenes_clip
from tests.local_product import Api, emulator
from tests.support.media import MakeClip
from tests.support.servers import FileServer, webhook_receiver
from tests.support.speech import speak
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
INPUT = "https://example.com/a.mp4"
SDK_EXAMPLE = [
    {"kind": "description"},
    {"kind": "image", "ref": "thumbnail"},
    {"kind": "video", "next": [{"kind": "subtitles", "ref": "subtitles"}]},
]
SAID = "Workflows run every step on the same upload. The video is encoded, then captioned."


def sdk(api: Api) -> Ittybit:
    return Ittybit(base_url=api.url, api_key=api.key, version="2025-08-20")


def children(api: Api, parent_id: str) -> list[dict[str, Any]]:
    status, page = api.request("GET", f"/tasks?parent_id={parent_id}&limit=100&order=asc")
    assert status == 200, page
    listed: list[dict[str, Any]] = page["data"]
    return listed


def workflow(api: Api, url: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return api.run({"kind": "workflow", "url": url, "workflow": steps})


@pytest.fixture(scope="module")
def spoken_clip(media_dir: Path, file_server: FileServer) -> str:
    scenes_clip(media_dir / "workflow.mp4", speak(SAID, media_dir / "workflow.wav"))
    return file_server.url_of("workflow.mp4")


def test_the_sdk_example_runs_each_step_as_a_child_and_next_on_its_output(api: Api, spoken_clip: str) -> None:
    created = sdk(api).tasks.create(request={"kind": "workflow", "url": spoken_clip, "workflow": SDK_EXAMPLE})
    assert created.kind == "workflow"
    parent = api.wait(created.id)
    assert parent["status"] == "succeeded", parent
    assert parent["error"] is None
    assert parent["progress"] == 100
    made = children(api, parent["id"])
    assert sorted(child["kind"] for child in made) == ["description", "image", "subtitles", "video"]
    assert {(child["parent_id"], child["status"]) for child in made} == {(parent["id"], "succeeded")}
    by_kind = {child["kind"]: child for child in made}
    # subtitles ran on the encoded video: its input is the video step's output file
    assert by_kind["subtitles"]["input"] == by_kind["video"]["output"]["id"]
    assert by_kind["video"]["input"] == spoken_clip
    assert set(parent["output"]) == {"thumbnail", "subtitles"}
    assert parent["output"]["thumbnail"]["id"] == by_kind["image"]["output"]["id"]
    assert parent["output"]["subtitles"]["kind"] == "subtitles"
    assert parent["results"]["continue"] is True
    assert sorted(entry["kind"] for entry in parent["results"]["passed"]) == sorted(by_kind)
    # the SDK reads it back in its own shape: outputs by ref, every child's parent_id
    fetched = sdk(api).tasks.get(parent["id"])
    assert fetched.status == "completed"  # the 2025-08-20 name of succeeded
    assert isinstance(fetched.output, dict)
    assert set(fetched.output) == {"thumbnail", "subtitles"}
    assert fetched.results is not None
    assert fetched.results.continue_ is True
    assert {sdk(api).tasks.get(child["id"]).parent_id for child in made} == {parent["id"]}


def test_a_duration_condition_stops_its_next_on_a_short_clip_and_runs_it_on_a_long_one(
    api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    gate = [
        {
            "kind": "conditions",
            "conditions": [{"prop": "duration", "value": ">60"}],
            "next": [{"kind": "image", "ref": "poster"}],
        }
    ]
    make_clip("workflow-short.mp4", size="64x48", seconds=10, fps=5, audio=False)
    make_clip("workflow-long.mp4", size="32x24", seconds=61.5, fps=2, audio=False)
    short = workflow(api, file_server.url_of("workflow-short.mp4"), gate)
    assert short["status"] == "succeeded", short
    (conditions,) = children(api, short["id"])
    assert conditions["kind"] == "conditions"
    results = conditions["results"]
    assert results["continue"] is False
    assert results["passed"] == []
    assert [(entry["prop"], entry["value"]) for entry in results["failed"]] == [("duration", ">60")]
    assert results["failed"][0]["actual"] == pytest.approx(10, abs=0.5)
    assert short["output"] == {}

    long = workflow(api, file_server.url_of("workflow-long.mp4"), gate)
    assert long["status"] == "succeeded", long
    ran = {child["kind"]: child for child in children(api, long["id"])}
    assert set(ran) == {"conditions", "image"}
    assert ran["conditions"]["results"]["continue"] is True
    assert ran["image"]["status"] == "succeeded"
    assert set(long["output"]) == {"poster"}


def test_an_http_step_posts_the_signed_workflow_and_is_retried(
    api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("workflow-http.mp4", size="64x48", seconds=1, fps=5, audio=False)
    with webhook_receiver(answers=[503, 500]) as receiver:
        steps: list[dict[str, Any]] = [
            {
                "kind": "image",
                "ref": "poster",
                "next": [{"kind": "http", "url": receiver.url, "ref": "told"}],
            },
            {"kind": "video", "ref": "small", "height": 24},
        ]
        parent = workflow(api, file_server.url_of("workflow-http.mp4"), steps)
        assert parent["status"] == "succeeded", parent
        assert len(receiver.received) == 3  # two refusals, then taken
        delivered = receiver.received[-1]
        assert verify_signature(delivered.body, delivered.headers[SIGNATURE_HEADER], [api.webhook_secret])
    payload = json.loads(delivered.body)
    made = {child["kind"]: child for child in children(api, parent["id"])}
    assert payload["workflow_id"] == parent["id"]
    assert payload["input"] == file_server.url_of("workflow-http.mp4")
    # its own step ran after the poster; the video ran beside it, and is named when it was done
    assert payload["outputs"]["poster"]["file"]["id"] == made["image"]["output"]["id"]
    assert set(payload["outputs"]) <= {"poster", "small"}
    told = made["http"]
    assert told["status"] == "succeeded"
    assert (told["output"]["status_code"], told["output"]["attempts"]) == (200, 3)
    assert set(parent["output"]) == {"poster", "small"}  # the files made; the answer is the step's


def test_an_http_step_to_a_private_address_is_refused_at_create(api: Api) -> None:
    steps = [{"kind": "image", "next": [{"kind": "http", "url": "http://10.0.0.7/hook"}]}]
    status, body = api.request("POST", "/tasks", {"kind": "workflow", "url": INPUT, "workflow": steps})
    assert (status, body["kind"], body["field"]) == (400, "invalid_option", "workflow[0].next[0].url")


def test_a_childs_failure_leaves_its_siblings_succeeding(
    api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("workflow-silent.mp4", size="64x48", seconds=1, fps=5, audio=False)
    steps = [{"kind": "speech", "ref": "words"}, {"kind": "image", "ref": "poster"}]
    parent = workflow(api, file_server.url_of("workflow-silent.mp4"), steps)
    assert parent["status"] == "succeeded"
    made = {child["kind"]: child for child in children(api, parent["id"])}
    assert (made["speech"]["status"], made["speech"]["error"]["kind"]) == ("failed", "input_unsupported")
    assert made["image"]["status"] == "succeeded"
    assert set(parent["output"]) == {"poster"}
    assert parent["results"]["continue"] is False
    assert [entry["task_id"] for entry in parent["results"]["failed"]] == [made["speech"]["id"]]
    assert parent["error"]["kind"] == "step_failed"
    assert "workflow[0]" in parent["error"]["message"]


def test_cancelling_a_workflow_leaves_no_child_running(
    api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("workflow-cancel.mp4", size="320x240", seconds=20, fps=25)
    steps = [
        {"kind": "video", "options": {"format": "webm"}},
        {"kind": "audio", "options": {"format": "mp3"}},
    ]
    parent = api.create(
        {"kind": "workflow", "url": file_server.url_of("workflow-cancel.mp4"), "workflow": steps}
    )

    def running_child() -> list[dict[str, Any]] | None:
        made = children(api, parent["id"])
        return made if any(child["status"] == "processing" for child in made) else None

    wait_until(running_child, 60, "a step of the workflow to be processing")
    status, cancelled = api.request("POST", f"/tasks/{parent['id']}/cancel")
    assert (status, cancelled["status"]) == (200, "cancelled")
    made = children(api, parent["id"])
    assert made
    assert all(child["status"] in TERMINAL_STATUSES for child in made)
    assert {child["status"] for child in made} <= {"cancelled", "succeeded"}
    machines = emulator(api, "stepfunctions")

    def stopped() -> bool:
        for child in made:
            arn = f"arn:aws:states:us-east-1:123456789012:execution:mediatasks-tasks:{child['run_id']}"
            if machines.describe_execution(executionArn=arn)["status"] == "RUNNING":
                return False
        return True

    wait_until(stopped, 30, "the children's executions to stop")
    assert api.wait(parent["id"])["status"] == "cancelled"
    # no new step starts after the cancel
    assert len(children(api, parent["id"])) == len(made)


def test_the_sdk_sees_a_bad_step_named_by_its_path(api: Api) -> None:
    steps = [
        {"kind": "image", "ref": "thumbnail"},
        {"kind": "video", "next": [{"kind": "image", "width": 3}]},
    ]
    with pytest.raises(ApiError) as refused:
        sdk(api).tasks.create(request={"kind": "workflow", "url": INPUT, "workflow": steps})
    assert refused.value.status_code == 400
    assert isinstance(refused.value.body, dict)
    assert (refused.value.body["kind"], refused.value.body["field"]) == (
        "invalid_option",
        "workflow[1].next[0].width",
    )
