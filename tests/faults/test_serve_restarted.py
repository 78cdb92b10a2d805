"""`mediatasks serve --state-dir DIR` stopped mid-encode (SIGTERM, then SIGKILL when it is slow to
go), started again on the same DIR, then killed outright (SIGKILL) and started once more: what it
held is there each time, the task it was running ends, and nothing of that task's work remains.
One scenario of three serves rather than tests of two each: a serve takes a while to start."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediatasks.contract.webhooks import verify_signature
from mediatasks.service.reconcile import INTERRUPTED
from tests.faults.conftest import MEDIA_BUCKET, ffmpeg_processes, work_keys
from tests.local_product import Api, emulator, new_key, serving
from tests.support.media import MakeClip, fetch_output, video_stream
from tests.support.servers import FileServer, WebhookReceiver, webhook_receiver
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
# How long serve gets to stop on SIGTERM (its last snapshot included) before it is killed.
TERM_SECONDS = 10
SNAPSHOT_SECONDS = 1
# Two parts: one whole part (the smallest a part may be) and a short last one.
UPLOAD_SIZE = 8 * 1024**2 + 10


def _arguments(state: Path) -> list[str]:
    return ["--state-dir", str(state), "--snapshot-seconds", str(SNAPSHOT_SECONDS)]


def _stop(process: subprocess.Popen[str] | None, first: signal.Signals) -> None:
    assert process is not None
    process.send_signal(first)
    try:
        process.wait(timeout=TERM_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _put_part(api: Api, upload_id: str, number: int) -> None:
    status, links = api.request("POST", f"/uploads/{upload_id}/parts", {"part_numbers": [number]})
    assert status == 200, links
    data = bytes([number]) * (UPLOAD_SIZE - 8 * 1024**2 if number == 2 else 8 * 1024**2)
    assert httpx.put(links["data"][0]["url"], content=data, timeout=60).status_code == 200


def _still_there(api: Api, task: dict[str, Any], folder: Path) -> None:
    """The finished task answers as it did, and its output URL gives the same video."""
    status, again = api.request("GET", f"/tasks/{task['id']}")
    assert status == 200, again
    assert again["status"] == "succeeded"
    assert again["output"]["filesize"] == task["output"]["filesize"]
    assert video_stream(fetch_output(again, folder))["codec_name"] == "h264"


def _signed_with_the_first_secret(api: Api, task_id: str, receiver: WebhookReceiver) -> None:
    """A replayed webhook is signed with the project's secret as the first serve made it (sealed
    by a KMS key that the restart kept)."""
    status, replay = api.request("POST", f"/tasks/{task_id}/webhooks/replay")
    assert status == 202, replay
    (delivered,) = wait_until(lambda: receiver.delivered(replay["delivery_id"]), 30, "the replayed webhook")
    assert verify_signature(delivered.body, delivered.headers["Mediatasks-Signature"], [api.webhook_secret])


def _in_snapshot(state: Path, table: str, item_id: str) -> bool:
    manifest_file = state / "state.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    return any(item.get("id") == {"S": item_id} for item in manifest.get("tables", {}).get(table, []))


def test_serve_restarted_on_its_state_dir_keeps_what_it_held(
    tmp_path: Path, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("restart.mp4", size="320x240", seconds=1)
    make_clip("restart-slow.mp4", size="1280x720", seconds=4)
    state = tmp_path / "state"
    with webhook_receiver() as receiver:
        with serving(tmp_path, _arguments(state)) as first:
            finished = first.run(
                {
                    "kind": "video",
                    "input": file_server.url_of("restart.mp4"),
                    "options": {"codec": "h264", "format": "mp4"},
                    "webhook_url": receiver.url,
                }
            )
            assert finished["status"] == "succeeded", finished
            other_key = new_key(first, "restart-other")
            status, upload = first.request("POST", "/uploads", {"filename": "kept.bin", "size": UPLOAD_SIZE})
            assert status == 201, upload
            _put_part(first, upload["id"], 1)
            slow = file_server.url_of("restart-slow.mp4")
            running = first.create({"kind": "video", "input": slow, "options": {"codec": "h265"}})
            wait_until(lambda: ffmpeg_processes(running["id"]), 60, "the slow task's ffmpeg", every=0.05)
            _stop(first.process, signal.SIGTERM)
            wait_until(lambda: not ffmpeg_processes(running["id"]), 5, "ffmpeg to die with serve")

        with serving(tmp_path, _arguments(state)) as second:
            assert (second.key, second.webhook_secret) == (first.key, first.webhook_secret)
            _still_there(second, finished, tmp_path)
            status, listed = second.as_project(other_key).request("GET", "/tasks")
            assert status == 200  # the key `keys create` made for another project
            assert listed["data"] == []
            ended = second.wait(running["id"])
            assert ended["status"] == "failed", ended
            assert (ended["error"]["kind"], ended["error"]["message"]) == ("internal_error", INTERRUPTED)
            assert not ffmpeg_processes(running["id"])
            assert second.scratch_of(running["id"]) == []
            wait_until(lambda: not work_keys(second, running["id"]), 10, "the interrupted task's work files")
            _signed_with_the_first_secret(second, finished["id"], receiver)
            status, progress = second.request("GET", f"/uploads/{upload['id']}")
            assert (status, progress["missing"]) == (200, [2])
            _put_part(second, upload["id"], 2)
            status, media = second.request("POST", "/media", {"title": "made just before a SIGKILL"})
            assert status == 201, media
            # a serve killed without warning keeps what its last snapshot held
            wait_until(lambda: _in_snapshot(state, "mediatasks-files", media["id"]), 10, "a snapshot")
            _stop(second.process, signal.SIGKILL)

    with serving(tmp_path, _arguments(state)) as third:
        _still_there(third, finished, tmp_path)
        status, kept = third.request("GET", f"/media/{media['id']}")
        assert (status, kept["title"]) == (200, "made just before a SIGKILL")
        status, file = third.request("POST", f"/uploads/{upload['id']}/complete")
        assert status == 201, file
        assert file["filename"] == "kept.bin"
        listing = emulator(third, "s3").list_objects_v2(Bucket=MEDIA_BUCKET, Prefix="uploads/")
        (stored,) = [item for item in listing["Contents"] if item["Key"].endswith("/kept.bin")]
        assert stored["Size"] == UPLOAD_SIZE  # both parts, the first sent before the first restart
