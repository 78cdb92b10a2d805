"""probe and ingest/import: seed 000's composition, through the local product."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.local_product import DESTINATION_BUCKET, Api, emulator
from tests.support.media import MakeClip, fetch_output, video_stream
from tests.support.servers import FileServer


@pytest.fixture(scope="module")
def clip(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("compose.mp4", size="320x180", seconds=2)
    return file_server.url_of("compose.mp4")


def test_probe_describes_the_input_and_writes_nothing(api: Api, clip: str) -> None:
    created = api.create({"kind": "probe", "input": {"url": clip}})
    assert [step["kind"] for step in created["steps"]] == ["ingest", "probe"]
    task = api.wait(created["id"])
    assert task["status"] == "succeeded", task["error"]
    assert task["progress"] == 100
    file = task["output"]
    assert (file["object"], file["kind"], file["format"], file["type"]) == (
        "file",
        "video",
        "mp4",
        "video/mp4",
    )
    assert (file["width"], file["height"], file["codecs"]) == (320, 180, {"video": "h264", "audio": "aac"})
    assert file["duration"] == pytest.approx(2.0, abs=0.1)
    assert file["url"] == clip


def test_probe_output_feeds_the_next_task(api: Api, clip: str, tmp_path: Path) -> None:
    probe = api.run({"kind": "probe", "input": {"url": clip}})
    video = api.run({"kind": "video", "input": probe["output"], "options": {"width": 160}})
    assert video["status"] == "succeeded", video["error"]
    assert video_stream(fetch_output(video, tmp_path))["width"] == 160


@pytest.mark.parametrize("kind", ["ingest", "import"])
def test_ingest_stores_the_input_as_a_file(
    api: Api, clip: str, file_server: FileServer, tmp_path: Path, kind: str
) -> None:
    created = api.create({"kind": kind, "url": clip, "ref": "original"})
    assert created["kind"] == "ingest"
    assert [step["kind"] for step in created["steps"]] == ["ingest", "probe", "upload"]
    task = api.wait(created["id"])
    assert task["status"] == "succeeded", task["error"]
    file = task["output"]
    assert file["id"].startswith("file_")
    size = (file_server.root / "compose.mp4").stat().st_size
    assert (file["format"], file["ref"], file["filesize"]) == ("mp4", "original", size)
    again = api.run({"kind": "video", "input": file, "options": {"height": 90}})
    assert again["status"] == "succeeded", again["error"]
    assert video_stream(fetch_output(again, tmp_path))["height"] == 90


def test_probe_refuses_what_would_write(api: Api, clip: str) -> None:
    for extra in ({"output": "s3://customer-destination/x.mp4"}, {"folder": "a"}, {"options": {"width": 10}}):
        status, error = api.request("POST", "/tasks", {"kind": "probe", "input": clip, **extra})
        assert (status, error["kind"]) == (400, "invalid_option")


def test_export_copies_an_earlier_output_to_s3(api: Api, clip: str) -> None:
    made = api.run({"kind": "audio", "input": clip, "options": {"format": "mp3"}})
    destination = f"s3://{DESTINATION_BUCKET}/dev/exports/soundtrack.mp3"
    created = api.create({"kind": "export", "input": made["output"], "options": {"url": destination}})
    assert [step["kind"] for step in created["steps"]] == ["ingest", "probe", "upload"]
    task = api.wait(created["id"])
    assert task["status"] == "succeeded", task["error"]
    assert (task["output"]["url"], task["output"]["format"]) == (destination, "mp3")
    head = emulator(api, "s3").head_object(Bucket=DESTINATION_BUCKET, Key="dev/exports/soundtrack.mp3")
    assert head["ContentLength"] == made["output"]["filesize"]
