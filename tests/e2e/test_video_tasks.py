"""Video tasks through the whole local product: HTTP API -> DynamoDB -> Step Functions -> ffmpeg -> S3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mediatasks.domain.tasks import STATUS_RANK, Status
from mediatasks.local.cloud import LocalCloud
from tests.local_product import DESTINATION_BUCKET, Api, emulator
from tests.support.media import MakeClip, fetch_output, video_stream
from tests.support.servers import FileServer
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def source(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("source.mp4", size="640x360", seconds=2)
    return file_server.url_of("source.mp4")


@pytest.fixture(scope="module")
def corrupt_input(file_server: FileServer) -> str:
    """An MP4 signature followed by noise."""
    (file_server.root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 200)
    return file_server.url_of("corrupt.mp4")


@pytest.mark.parametrize(
    ("options", "size", "codec", "container"),
    [
        ({"width": 320, "height": 240, "format": "mp4"}, (320, 240), "h264", "mov,mp4,m4a,3gp,3g2,mj2"),
        ({"width": "50%", "format": "webm", "quality": "low"}, (320, 180), "vp9", "matroska,webm"),
        ({"height": 144, "format": "mov", "codec": "h265"}, (256, 144), "hevc", "mov,mp4,m4a,3gp,3g2,mj2"),
    ],
)
def test_video_task_produces_the_requested_file(
    api: Api,
    source: str,
    tmp_path: Path,
    options: dict[str, Any],
    size: tuple[int, int],
    codec: str,
    container: str,
) -> None:
    created = api.create({"kind": "video", "input": source, "options": options, "metadata": {"order": 7}})
    assert created["status"] == "waiting"
    assert created["output"] is None
    assert [step["kind"] for step in created["steps"]] == ["ingest", "probe", "video", "upload"]
    task = api.wait(created["id"])
    assert task["status"] == "succeeded", task["error"]
    assert task["progress"] == 100
    assert task["metadata"] == {"order": 7}
    assert all(step["status"] == "succeeded" for step in task["steps"])
    assert task["created_at"] <= task["started_at"] <= task["finished_at"]

    output = task["output"]
    assert (output["object"], output["kind"], output["format"]) == ("file", "video", options["format"])
    assert output["id"].startswith("file_")
    assert (output["width"], output["height"]) == size
    assert output["codecs"]["video"] == codec
    report = fetch_output(task, tmp_path)
    stream = video_stream(report)
    assert (stream["width"], stream["height"], stream["codec_name"]) == (*size, codec)
    assert report["format"]["format_name"] == container
    assert float(report["format"]["duration"]) == pytest.approx(2.0, abs=0.1)


def test_statuses_only_move_forward(api: Api, source: str) -> None:
    task = api.run({"kind": "video", "input": source, "options": {"width": 160}})
    seen = api.seen_statuses[task["id"]]
    ranks = [STATUS_RANK[Status(status)] for status in seen]
    assert ranks == sorted(ranks)
    assert seen[-1] == "succeeded"


def failed(api: Api, input_url: str, kind: str = "video") -> dict[str, Any]:
    task = api.run({"kind": kind, "input": input_url})
    assert task["status"] == "failed"
    assert task["output"] is None
    assert task["finished_at"] is not None
    return task


def test_corrupt_input_fails_at_probe(api: Api, corrupt_input: str) -> None:
    task = failed(api, corrupt_input)
    assert task["error"]["kind"] == "input_unsupported"
    # fetched once and stored (ingest), then found to be no media by the probe of what was stored
    assert [step["status"] for step in task["steps"]] == ["succeeded", "failed", "waiting", "waiting"]
    assert task["steps"][1]["error"] == task["error"]


def test_audio_only_input_is_unsupported_for_video(
    api: Api, file_server: FileServer, make_clip: MakeClip
) -> None:
    make_clip("tone.mp3", size=None, seconds=1, audio_codec="libmp3lame")
    task = failed(api, file_server.url_of("tone.mp3"))
    assert task["error"] == {"kind": "input_unsupported", "message": "the input has no video stream"}


def test_missing_input_fails_as_unreachable(api: Api, file_server: FileServer) -> None:
    task = failed(api, file_server.url_of("nothing-here.mp4"))
    assert task["error"] == {"kind": "input_unreachable", "message": "the input URL answered HTTP 404"}


def test_closed_port_fails_as_unreachable(api: Api) -> None:
    from mediatasks.local.cloud import free_port

    task = failed(api, f"http://127.0.0.1:{free_port()}/a.mp4")
    assert task["error"]["kind"] == "input_unreachable"


def test_unknown_task_is_not_found(api: Api) -> None:
    assert api.request("GET", "/tasks/task_doesnotexist0000") == (
        404,
        {"kind": "task_not_found", "message": "no task with id 'task_doesnotexist0000'"},
    )


def test_bad_request_over_http(api: Api) -> None:
    status, error = api.request(
        "POST",
        "/tasks",
        {"kind": "video", "input": "https://e.com/a.mp4", "options": {"format": "webm", "codec": "h264"}},
    )
    assert (status, error["kind"], error["field"]) == (400, "invalid_codec", "options.codec")


def test_local_stack_runs_the_synthesized_definition(api: Api, template: dict[str, Any]) -> None:
    client = emulator(api, "stepfunctions")
    machines = {m["name"]: m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"]}
    # the tasks' state machine, and the webhook deliveries'
    assert set(machines) == {"mediatasks-tasks", "mediatasks-webhook-deliveries", "mediatasks-workflows"}
    running = client.describe_state_machine(stateMachineArn=machines["mediatasks-tasks"])["definition"]
    assert json.loads(running) == json.loads(LocalCloud(template).state_machine_definition())


def media_keys(api: Api, prefix: str = "") -> list[str]:
    """The keys in the stack's media bucket (work files and published files)."""
    listing = emulator(api, "s3").list_objects_v2(Bucket="mediatasks-media", Prefix=prefix)
    return [stored["Key"] for stored in listing.get("Contents", [])]


def test_output_destination_receives_the_file(api: Api, source: str) -> None:
    destination = f"s3://{DESTINATION_BUCKET}/dev/renders/clip one.webm"
    task = api.run(
        {"kind": "video", "input": source, "options": {"width": 160, "format": "webm"}, "output": destination}
    )
    assert task["status"] == "succeeded", task["error"]
    assert task["output"] is not None, f"{task}\n{api.log_of(task['id'])}"
    assert task["output"]["url"] == destination
    head = emulator(api, "s3").head_object(Bucket=DESTINATION_BUCKET, Key="dev/renders/clip one.webm")
    assert head["ContentLength"] == task["output"]["filesize"]


def test_work_files_are_removed_and_outputs_kept(api: Api, source: str, corrupt_input: str) -> None:
    task = api.run({"kind": "video", "input": source, "options": {"width": 160}})
    bad = api.run({"kind": "video", "input": corrupt_input})

    def work_files_left() -> list[str]:
        return [k for k in media_keys(api) if k.startswith((f"work/{task['id']}/", f"work/{bad['id']}/"))]

    # the last step removes them just after it records the end (that order keeps a failed removal from
    # leaving the task unfinished), so a poll can see the end a moment before they are gone
    wait_until(lambda: not work_files_left(), 30, lambda: f"work files removed, still {work_files_left()}")
    assert f"files/dev/{task['output']['id']}/video.mp4" in media_keys(api)


def test_cancel_a_running_task_publishes_nothing(
    api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("slow.mp4", size="1280x720", seconds=6)
    slow = {
        "kind": "video",
        "input": file_server.url_of("slow.mp4"),
        "options": {"codec": "h265", "quality": "very_high"},
    }
    task = api.create(slow)

    def encoding() -> bool:
        current = api.request("GET", f"/tasks/{task['id']}")[1]
        encode = next(step for step in current["steps"] if step["kind"] == "video")
        return current["status"] == encode["status"] == "processing"

    wait_until(encoding, 60, f"the encode of task {task['id']} to be running", every=0.1)
    status, cancelled = api.request("POST", f"/tasks/{task['id']}/cancel")
    assert (status, cancelled["status"]) == (200, "cancelled")
    assert cancelled["finished_at"] is not None
    assert "cancelled" in [step["status"] for step in cancelled["steps"]]
    # the encode that was running ends (its step removes its scratch folder) before we look
    wait_until(lambda: not api.scratch_of(task["id"]), 60, f"the encode of cancelled {task['id']} to end")
    status, later = api.request("GET", f"/tasks/{task['id']}")
    assert (later["status"], later["output"]) == ("cancelled", None)
    keys = media_keys(api)
    assert not [k for k in keys if k.startswith("files/") and task["id"] in k]
    status, error = api.request("POST", f"/tasks/{task['id']}/cancel")
    assert (status, error["kind"]) == (409, "task_not_cancellable")


def test_a_finished_task_cannot_be_cancelled(api: Api, source: str) -> None:
    task = api.run({"kind": "video", "input": source, "options": {"width": 80}})
    status, error = api.request("POST", f"/tasks/{task['id']}/cancel")
    assert (status, error) == (
        409,
        {"kind": "task_not_cancellable", "message": "the task has already succeeded"},
    )
    assert api.request("POST", "/tasks/task_missing0000000/cancel")[0] == 404


def test_an_earlier_output_is_a_new_input_and_outputs_are_named(api: Api, source: str) -> None:
    first = api.run({"kind": "video", "input": source, "options": {"width": 320}})
    assert first["status"] == "succeeded", first["error"]
    request = {
        "kind": "video",
        "input": first["output"],  # seed 000 composition: the File object itself
        "options": {"width": 160, "format": "webm"},
        "filename": "poster-loop",
        "folder": "campaigns/spring",
        "ref": "small",
        "webhook_url": "https://hooks.example.com/mediatasks",
    }
    second = api.run(request)
    assert second["status"] == "succeeded", second["error"]
    assert (second["filename"], second["folder"], second["ref"]) == (
        "poster-loop",
        "campaigns/spring",
        "small",
    )
    assert second["webhook_url"] == "https://hooks.example.com/mediatasks"
    output = second["output"]
    assert (output["filename"], output["folder"], output["ref"], output["width"]) == (
        "poster-loop.webm",
        "campaigns/spring",
        "small",
        160,
    )
    assert f"/campaigns/spring/{output['id']}/poster-loop.webm?" in output["url"]
    third = api.run({"kind": "video", "url": source, "options": {"width": 80}})  # seed 002's url alias
    assert (third["status"], third["input"]) == ("succeeded", source)


def test_progress_moves_forward_while_the_task_runs(
    api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("slow.mp4", size="1280x720", seconds=6)
    options = {"codec": "h265", "quality": "very_high", "width": 960}
    task = api.create({"kind": "video", "input": file_server.url_of("slow.mp4"), "options": options})
    seen: list[tuple[str, int | None, int | None]] = []

    def ended() -> bool:
        current = api.request("GET", f"/tasks/{task['id']}")[1]
        seen.append((current["status"], current["progress"], current["steps"][2]["progress"]))
        return current["status"] in ("succeeded", "failed")

    wait_until(ended, 120, lambda: f"task {task['id']} to end (seen {seen})", every=0.3)
    assert seen[-1] == ("succeeded", 100, 100)
    overall = [progress for _, progress, _ in seen if progress is not None]
    assert overall == sorted(overall)
    assert any(15 < progress < 95 for progress in overall), seen


def test_audio_task_extracts_the_soundtrack(api: Api, source: str, tmp_path: Path) -> None:
    created = api.create({"kind": "audio", "input": source, "options": {"format": "opus", "quality": "high"}})
    assert [step["kind"] for step in created["steps"]] == ["ingest", "probe", "audio", "upload"]
    task = api.wait(created["id"])
    assert task["status"] == "succeeded", task["error"]
    output = task["output"]
    assert (output["kind"], output["format"], output["type"], output["codecs"]["audio"]) == (
        "audio",
        "opus",
        "audio/opus",
        "opus",
    )
    assert output["width"] is None
    report = fetch_output(task, tmp_path)
    assert [s["codec_name"] for s in report["streams"]] == ["opus"]


def test_audio_from_a_silent_video_is_unsupported(
    api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("mute.mp4", audio=False)
    task = failed(api, file_server.url_of("mute.mp4"), kind="audio")
    assert task["error"] == {"kind": "input_unsupported", "message": "the input has no audio stream"}


def test_image_task_makes_a_poster_frame(api: Api, source: str, tmp_path: Path) -> None:
    import urllib.request

    from PIL import Image

    created = api.create(
        {"kind": "image", "input": source, "options": {"format": "webp", "width": 160, "start": 1}}
    )
    assert [step["kind"] for step in created["steps"]] == ["ingest", "probe", "image", "upload"]
    task = api.wait(created["id"])
    assert task["status"] == "succeeded", task["error"]
    output = task["output"]
    assert (output["kind"], output["format"], output["type"], output["width"], output["height"]) == (
        "image",
        "webp",
        "image/webp",
        160,
        90,
    )
    target = tmp_path / "poster.webp"
    with urllib.request.urlopen(output["url"], timeout=30) as response:
        target.write_bytes(response.read())
    assert Image.open(target).size == (160, 90)
    assert output["filesize"] == target.stat().st_size


@pytest.mark.parametrize(("format_", "mime"), [("gif", "image/gif"), ("webp", "image/webp")])
def test_animation_task(api: Api, source: str, tmp_path: Path, format_: str, mime: str) -> None:
    import urllib.request

    from PIL import Image

    options = {"format": format_, "width": 160, "fps": 8, "start": 0.5, "end": 1.5}
    task = api.run({"kind": "animation", "input": source, "options": options})
    assert task["status"] == "succeeded", task["error"]
    output = task["output"]
    assert (output["kind"], output["format"], output["type"], output["width"]) == (
        "image",
        format_,
        mime,
        160,
    )
    target = tmp_path / f"loop.{format_}"
    with urllib.request.urlopen(output["url"], timeout=30) as response:
        target.write_bytes(response.read())
    image = Image.open(target)
    assert (image.is_animated, image.n_frames, image.size) == (True, 8, (160, 90))


def test_adaptive_video_task_publishes_an_hls_ladder(
    api: Api, make_clip: MakeClip, file_server: FileServer
) -> None:
    import urllib.request

    make_clip("hls.mp4", size="640x360", seconds=5)
    created = api.create(
        {"kind": "adaptive_video", "input": file_server.url_of("hls.mp4"), "options": {"quality": "low"}}
    )
    assert [step["kind"] for step in created["steps"]] == ["ingest", "probe", "adaptive_video", "upload"]
    task = api.wait(created["id"])
    assert task["status"] == "succeeded", task["error"]
    output = task["output"]
    assert (output["format"], output["type"], output["width"], output["height"]) == (
        "hls",
        "application/vnd.apple.mpegurl",
        640,
        360,
    )
    assert [(r["width"], r["height"]) for r in output["renditions"]] == [(640, 360), (426, 240)]
    assert all(r["height"] <= 360 for r in output["renditions"])
    with urllib.request.urlopen(output["url"], timeout=30) as response:
        master = response.read().decode()
    assert master.count("#EXT-X-STREAM-INF") == 2
    assert "RESOLUTION=640x360" in master
    assert "v1/index.m3u8" in master
    with urllib.request.urlopen(output["renditions"][1]["url"], timeout=30) as response:
        media_playlist = response.read().decode()
    assert "#EXT-X-ENDLIST" in media_playlist
    assert "segment_00000.ts" in media_playlist
    # the playlists are served by the API; the segments they list are links into the bucket
    (first_segment,) = [line for line in media_playlist.splitlines() if "segment_00000.ts" in line]
    folder = first_segment.split("?")[0].split("/mediatasks-media/", 1)[1].rsplit("/v1/", 1)[0]
    keys = media_keys(api, folder)
    assert f"{folder}/v0/segment_00000.ts" in keys
    assert f"{folder}/v1/index.m3u8" in keys
