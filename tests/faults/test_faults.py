"""Faults injected into the running product (the fault plan, a killed ffmpeg, an execution stopped
from outside): each task still ends as it should, and leaves no work files behind.

Run alone with `pytest -m faults`."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mediatasks.domain.tasks import TERMINAL_STATUSES
from tests.faults.conftest import SWEEP_SECONDS, Faults, FfmpegKiller, ffmpeg_processes, work_keys
from tests.local_product import Api, emulator
from tests.support.media import MakeClip, fetch_output, video_stream
from tests.support.servers import FileServer
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
TASKS_TABLE = "mediatasks-tasks"
TASKS_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:mediatasks-tasks"
SLOTS_TABLE = "mediatasks-running-slots"
REPOSITORY = Path(__file__).resolve().parents[2]
# Seconds from an execution's end to its task's failure: the local reconciler looks twice a second.
RECONCILE_SECONDS = 10


@pytest.fixture(scope="module")
def clip(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("faults.mp4", size="320x240", seconds=2)
    return file_server.url_of("faults.mp4")


@pytest.fixture(scope="module")
def slow_clip(make_clip: MakeClip, file_server: FileServer) -> str:
    """An encode that takes a few seconds (h265, 720p): long enough to be interrupted."""
    make_clip("faults-slow.mp4", size="1280x720", seconds=4)
    return file_server.url_of("faults-slow.mp4")


SLOW_VIDEO = {"kind": "video", "options": {"codec": "h265", "quality": "high"}}


def succeeded_with_output(api: Api, task: dict[str, Any], folder: Path) -> None:
    assert task["status"] == "succeeded", task
    assert [step["status"] for step in task["steps"]] == ["succeeded"] * len(task["steps"])
    assert video_stream(fetch_output(task, folder))["codec_name"] == "h264"
    # the last step removes the work files just after it marks the task succeeded
    wait_until(lambda: not work_keys(api, task["id"]), 10, f"the work files of {task['id']} to be removed")


def left_nothing(api: Api, task_id: str) -> None:
    """No work object, no ffmpeg and no scratch folder remain (a step still running when its
    execution ended is waited for: it ends at its next write, and removes what it wrote)."""
    wait_until(
        lambda: not work_keys(api, task_id) and not ffmpeg_processes(task_id) and not api.scratch_of(task_id),
        60,
        lambda: f"task {task_id} to leave nothing: {work_keys(api, task_id)}, {api.scratch_of(task_id)}",
    )


def encoding(api: Api, task_id: str) -> bool:
    task = api.request("GET", f"/tasks/{task_id}")[1]
    return task["status"] == "processing" and bool(ffmpeg_processes(task_id))


def test_ffmpeg_killed_once_is_retried_and_succeeds(faults: Faults, slow_clip: str, tmp_path: Path) -> None:
    api = faults.api
    task = api.create({**SLOW_VIDEO, "input": slow_clip, "options": {"codec": "h264"}})
    with FfmpegKiller(task["id"], limit=1) as killer:
        wait_until(lambda: killer.killed, 60, f"an ffmpeg of task {task['id']} to be killed", every=0.05)
        done = api.wait(task["id"])
    succeeded_with_output(api, done, tmp_path)


def test_ffmpeg_killed_on_every_attempt_fails_the_task(faults: Faults, slow_clip: str) -> None:
    api = faults.api
    task = api.create({**SLOW_VIDEO, "input": slow_clip})
    with FfmpegKiller(task["id"]) as killer:
        done = api.wait(task["id"])
    assert len(killer.killed) == 3, killer.killed  # the first attempt and its two retries
    assert (done["status"], done["error"]["kind"]) == ("failed", "processing_failed"), done
    assert done["error"]["message"] == "the media processing was interrupted"
    encode = next(step for step in done["steps"] if step["kind"] == "video")
    assert (encode["status"], encode["error"]["kind"]) == ("failed", "processing_failed")
    left_nothing(api, task["id"])


def test_storage_and_table_throttling_is_retried(faults: Faults, clip: str, tmp_path: Path) -> None:
    faults.plan(
        {
            "aws": [
                # one S3 call in three answers 503 SlowDown: the SDK's own retries absorb it
                {"service": "s3", "every": 3, "status": 503, "code": "SlowDown"},
                # the first status write fails on all three of the SDK's attempts: the step is retried
                {
                    "service": "dynamodb",
                    "operation": "UpdateItem",
                    "table": TASKS_TABLE,
                    "sends": [1, 2, 3],
                    "status": 400,
                    "code": "ProvisionedThroughputExceededException",
                },
            ]
        }
    )
    task = faults.api.run({"kind": "video", "input": clip, "options": {"width": 160}})
    injected = faults.injected()
    assert injected.count("dynamodb.UpdateItem ProvisionedThroughputExceededException") == 3, injected
    assert any(line.endswith(" SlowDown") and line.startswith("s3.") for line in injected), injected
    succeeded_with_output(faults.api, task, tmp_path)


def test_lambda_throttling_is_retried(faults: Faults, clip: str, tmp_path: Path) -> None:
    faults.plan(
        {"lambda": [{"function": "IngestFunction", "calls": [1, 2], "code": "TooManyRequestsException"}]}
    )
    task = faults.api.run({"kind": "video", "input": clip, "options": {"width": 160}})
    assert faults.injected() == ["lambda.IngestFunction TooManyRequestsException"] * 2
    succeeded_with_output(faults.api, task, tmp_path)


def test_a_lost_start_is_made_by_the_sweep(faults: Faults, clip: str, tmp_path: Path) -> None:
    api = faults.api
    # StartExecution fails on all three of the SDK's attempts, as if the API died after the write
    faults.plan({"aws": [{"service": "sfn", "operation": "StartExecution", "sends": [1, 2, 3]}]})
    before = api.request("GET", "/tasks?limit=1")[1]["total"]
    status, task = api.request("POST", "/tasks", {"kind": "video", "input": clip, "options": {"width": 160}})
    assert (status, task["status"]) == (201, "waiting"), task
    assert faults.injected() == ["sfn.StartExecution ServiceUnavailable"] * 3
    done = api.wait(task["id"])  # the sweep starts it after SWEEP_SECONDS
    succeeded_with_output(api, done, tmp_path)
    assert done["started_at"] - done["created_at"] >= SWEEP_SECONDS * 1000
    assert api.request("GET", "/tasks?limit=1")[1]["total"] == before + 1  # one task, not two


def test_an_execution_stopped_from_outside_fails_its_task(faults: Faults, slow_clip: str) -> None:
    api = faults.api
    task = api.create({**SLOW_VIDEO, "input": slow_clip})
    wait_until(lambda: encoding(api, task["id"]), 60, f"task {task['id']} to be encoding", every=0.1)
    execution = TASKS_MACHINE.replace(":stateMachine:", ":execution:") + f":{task['run_id']}"
    emulator(api, "stepfunctions").stop_execution(executionArn=execution, cause="an operator stopped it")
    done = api.wait(task["id"])
    assert (done["status"], done["error"]["kind"]) == ("failed", "internal_error"), done
    assert done["finished_at"] - task["created_at"] < 60_000
    encode = next(step for step in done["steps"] if step["kind"] == "video")
    assert encode["status"] == "failed"
    left_nothing(api, task["id"])


def test_an_execution_that_times_out_fails_its_task(faults: Faults, slow_clip: str) -> None:
    api = faults.api
    sfn = emulator(api, "stepfunctions")
    definition = sfn.describe_state_machine(stateMachineArn=TASKS_MACHINE)["definition"]
    # an operator's short timeout: the encode cannot finish in it
    sfn.update_state_machine(
        stateMachineArn=TASKS_MACHINE, definition=json.dumps(json.loads(definition) | {"TimeoutSeconds": 3})
    )
    try:
        task = api.create({**SLOW_VIDEO, "input": slow_clip})
        done = wait_until(
            lambda: (
                (seen := api.request("GET", f"/tasks/{task['id']}")[1])["status"] in TERMINAL_STATUSES
                and seen
            ),
            3 + RECONCILE_SECONDS,
            f"task {task['id']} to fail after its execution timed out",
        )
    finally:
        sfn.update_state_machine(stateMachineArn=TASKS_MACHINE, definition=definition)
    assert (done["status"], done["error"]["kind"]) == ("failed", "timeout"), done
    left_nothing(api, task["id"])


def test_sixty_concurrent_clients_are_all_answered(faults: Faults) -> None:
    """Each client on its own connection at once: every one gets an answer (200, or the stage's
    429 with Retry-After past its burst), none a reset or refused connection."""
    url = faults.api.url + "/openapi.json"
    clients = 60
    start = threading.Barrier(clients)

    def fetch(_: int) -> tuple[int, str | None]:
        start.wait()
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return int(response.status), None
        except urllib.error.HTTPError as error:
            return int(error.code), error.headers.get("Retry-After")

    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = list(pool.map(fetch, range(clients)))
    assert {status for status, _ in answers} <= {200, 429}, answers
    assert all(wait for status, wait in answers if status == 429), answers
    assert [status for status, _ in answers].count(200) >= 50, answers


def test_a_throttled_start_is_retried_by_the_api(faults: Faults, clip: str, tmp_path: Path) -> None:
    # Step Functions throttles StartExecution past the SDK's three attempts: the API waits and
    # starts the execution itself, before it answers (the sweep would only come seconds later)
    code = "ThrottlingException"
    faults.plan(
        {
            "aws": [
                {
                    "service": "sfn",
                    "operation": "StartExecution",
                    "sends": [1, 2, 3, 4],
                    "status": 400,
                    "code": code,
                }
            ]
        }
    )
    status, task = faults.api.request(
        "POST", "/tasks", {"kind": "video", "input": clip, "options": {"width": 160}}
    )
    assert status == 201, task
    assert faults.injected() == [f"sfn.StartExecution {code}"] * 4
    execution = TASKS_MACHINE.replace(":stateMachine:", ":execution:") + f":{task['run_id']}"
    # the API started it itself (a started execution is running or already done)
    started = emulator(faults.api, "stepfunctions").describe_execution(executionArn=execution)
    assert started["status"] in {"RUNNING", "SUCCEEDED"}
    succeeded_with_output(faults.api, faults.api.wait(task["id"]), tmp_path)


def test_a_leaked_running_slot_is_reclaimed_by_the_sweep(faults: Faults, clip: str, tmp_path: Path) -> None:
    """Every slot of the project is held by a task that no longer exists (releases that never
    ran), and a task gone long ago still waits in its queue: a new task could never start; the
    sweep frees them, and it runs."""
    api = faults.api
    cap = json.loads((REPOSITORY / "cdk.json").read_text())["context"]["mediatasks:maxRunningTasksPerProject"]
    leaked = {f"task_leaked{index:03d}" for index in range(cap)}
    dynamodb = emulator(api, "dynamodb")
    running = {"project_id": {"S": "dev"}, "entry": {"S": "running"}}
    dynamodb.put_item(TableName=SLOTS_TABLE, Item=running | {"holders": {"SS": sorted(leaked)}})
    gone = {"project_id": {"S": "dev"}, "entry": {"S": "queued#000000000000001#task_gone"}}
    waiter = {"task_id": {"S": "task_gone"}, "token": {"S": "no-longer-valid"}, "queued_at": {"N": "1"}}
    dynamodb.put_item(TableName=SLOTS_TABLE, Item=gone | waiter)
    task = api.create({"kind": "video", "input": clip, "options": {"width": 160}})
    done = api.wait(task["id"])
    succeeded_with_output(api, done, tmp_path)
    holders = dynamodb.get_item(TableName=SLOTS_TABLE, Key=running)["Item"].get("holders", {}).get("SS", [])
    assert not leaked & set(holders)
    assert "Item" not in dynamodb.get_item(TableName=SLOTS_TABLE, Key=gone)
