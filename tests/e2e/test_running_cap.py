"""The per-project cap on running tasks, on the local stack with a cap of 1: a project's second task
waits `queued` and starts once the first ended, however it ended (succeeded, failed, cancelled
while queued, stopped from outside and reaped by the reconciler); another project is not held up.
The sweep runs at its deployed period here (minutes), so a slot a path failed to free would show."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.local_product import Api, emulator, new_key, serving
from tests.support.media import MakeClip
from tests.support.servers import FileServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SLOTS_TABLE = "mediatasks-running-slots"
TASKS_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:mediatasks-tasks"
# an encode that takes several seconds (h265, 720p, 8 s): long enough to see another task wait behind it
SLOW_VIDEO = {"kind": "video", "options": {"codec": "h265", "quality": "high"}}
FAST_VIDEO = {"kind": "video", "options": {"width": 160}}
# from a task's end to its slot being free: the ReleaseSlot state, or the reconciler's next look
RELEASE_SECONDS = 15


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with serving(tmp_path_factory.mktemp("cap"), ["--max-running-tasks", "1"]) as running:
        yield running


@pytest.fixture(scope="module")
def clips(make_clip: MakeClip, file_server: FileServer) -> dict[str, str]:
    make_clip("cap-slow.mp4", size="1280x720", seconds=8)
    make_clip("cap-fast.mp4", size="320x240", seconds=1)
    return {"slow": file_server.url_of("cap-slow.mp4"), "fast": file_server.url_of("cap-fast.mp4")}


def step(task: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(s for s in task["steps"] if s["kind"] == kind)


def status_of(api: Api, task_id: str) -> dict[str, Any]:
    status, task = api.request("GET", f"/tasks/{task_id}")
    assert status == 200, task
    return task


def running_alone(api: Api, url: str) -> dict[str, Any]:
    """A slow task that holds the project's one slot: it has begun to encode. (Made together with a
    smaller one, the smaller may pass its probe first and take the slot: slots go by arrival.)"""
    task = api.create({**SLOW_VIDEO, "input": url})
    wait_until(lambda: status_of(api, task["id"])["status"] == "processing", 60, "the slow task to encode")
    return task


def waits_behind(api: Api, queued_id: str, running_id: str) -> bool:
    """The second task is validated and queued while the first one encodes."""
    queued, running = status_of(api, queued_id), status_of(api, running_id)
    validated: bool = step(queued, "probe")["status"] == "succeeded"
    return validated and (queued["status"], running["status"]) == ("queued", "processing")


def slots_of(api: Api, project: str) -> tuple[set[str], list[str]]:
    """The project's running tasks and its waiting ones, as the slots table holds them."""
    items = emulator(api, "dynamodb").query(
        TableName=SLOTS_TABLE,
        KeyConditionExpression="project_id = :project",
        ExpressionAttributeValues={":project": {"S": project}},
    )["Items"]
    running = {
        task
        for item in items
        if item["entry"]["S"] == "running"
        for task in item.get("holders", {}).get("SS", [])
    }
    return running, [item["task_id"]["S"] for item in items if item["entry"]["S"] != "running"]


def no_slot_taken(api: Api, project: str = "dev") -> None:
    wait_until(
        lambda: slots_of(api, project) == (set(), []), RELEASE_SECONDS, f"{project}'s slots to be free"
    )


def test_a_second_task_waits_queued_and_another_project_is_not_held_up(
    api: Api, clips: dict[str, str]
) -> None:
    # the other project's key first: making it takes seconds, in which the first encode could end
    other = api.as_project(new_key(api, "cap-other"))
    first = running_alone(api, clips["slow"])
    second = api.create({**FAST_VIDEO, "input": clips["fast"]})
    elsewhere = other.create({**FAST_VIDEO, "input": clips["fast"]})
    wait_until(lambda: waits_behind(api, second["id"], first["id"]), 60, "the second task to wait, queued")
    assert step(status_of(api, second["id"]), "video")["status"] == "waiting"
    other_done = other.wait(elsewhere["id"])
    first_done, second_done = api.wait(first["id"]), api.wait(second["id"])
    assert [t["status"] for t in (first_done, second_done, other_done)] == ["succeeded"] * 3
    # the other project's encode ran while the first task's did; the second's only after it ended
    assert step(other_done, "video")["started_at"] < step(first_done, "video")["finished_at"]
    assert step(second_done, "video")["started_at"] >= first_done["finished_at"]
    no_slot_taken(api)
    no_slot_taken(api, "cap-other")


def test_cancelled_while_queued_and_stopped_from_outside_both_free_the_project(
    api: Api, clips: dict[str, str]
) -> None:
    running = running_alone(api, clips["slow"])
    queued = api.create({**FAST_VIDEO, "input": clips["fast"]})
    wait_until(lambda: waits_behind(api, queued["id"], running["id"]), 60, "the second task to wait, queued")
    status, cancelled = api.request("POST", f"/tasks/{queued['id']}/cancel")
    assert (status, cancelled["status"]) == (200, "cancelled"), cancelled
    execution = TASKS_MACHINE.replace(":stateMachine:", ":execution:") + f":{running['run_id']}"
    emulator(api, "stepfunctions").stop_execution(executionArn=execution, cause="an operator stopped it")
    reaped = api.wait(running["id"])
    assert (reaped["status"], reaped["error"]["kind"]) == ("failed", "internal_error"), reaped
    assert api.wait(queued["id"])["status"] == "cancelled"
    no_slot_taken(api)  # the reconciler freed the stopped task's slot; the cancelled one left the queue
    assert api.run({**FAST_VIDEO, "input": clips["fast"]})["status"] == "succeeded"


def test_a_task_that_failed_frees_its_slot(api: Api, clips: dict[str, str]) -> None:
    # the frame asked for is past the input's end: the encode step fails, after the slot was taken
    failing = api.create({"kind": "image", "input": clips["fast"], "options": {"start": 30}})
    following = api.create({**FAST_VIDEO, "input": clips["fast"]})
    failed = api.wait(failing["id"])
    assert (failed["status"], failed["error"]["kind"]) == ("failed", "input_unsupported"), failed
    assert api.wait(following["id"])["status"] == "succeeded"
    no_slot_taken(api)
