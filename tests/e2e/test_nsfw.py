"""nsfw through the local product: generated pictures (a test pattern, a still) judged by the local
open_nsfw model score far under the threshold, with a frame every interval over the whole input."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.local_product import Api
from tests.support.media import MakeClip
from tests.support.servers import FileServer

pytestmark = pytest.mark.e2e

CLIP_SECONDS = 4
# Safe pictures score a few thousandths with open_nsfw; far under the default threshold.
SAFE_SCORE = 0.1


def stored(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def clip_task(api: Api, make_clip: MakeClip, file_server: FileServer) -> dict[str, Any]:
    make_clip("nsfw-clip.mp4", seconds=CLIP_SECONDS)
    return api.run({"kind": "nsfw", "url": file_server.url_of("nsfw-clip.mp4")})


def test_a_safe_clip_scores_low_on_every_frame(clip_task: dict[str, Any]) -> None:
    task = clip_task
    assert task["status"] == "succeeded", task["error"]
    assert [step["kind"] for step in task["steps"]] == ["ingest", "probe", "moderate", "nsfw", "upload"]
    output = task["output"]
    assert (output["kind"], output["format"], output["type"]) == ("nsfw", "json", "application/json")
    data = output["data"]
    assert stored(output["url"]) == data
    assert set(data) == {"nsfw", "score", "threshold", "frames", "labels", "model"}
    assert (data["nsfw"], data["threshold"], data["labels"]) == (False, 0.5, [])
    assert "open_nsfw" in data["model"]
    # one frame a second from the start, covering the whole input
    assert [frame["time"] for frame in data["frames"]] == [float(t) for t in range(CLIP_SECONDS)]
    assert all(0 <= frame["score"] <= SAFE_SCORE for frame in data["frames"])
    assert data["score"] == max(frame["score"] for frame in data["frames"])


def test_the_result_is_an_intelligence_file(api: Api, clip_task: dict[str, Any]) -> None:
    status, task = api.request("GET", f"/tasks/{clip_task['id']}", headers={"Accept-Version": "2025-08-20"})
    assert status == 200, task
    assert task["output"]["object"] == "intelligence"


def test_the_threshold_and_interval_decide(
    api: Api, clip_task: dict[str, Any], file_server: FileServer
) -> None:
    task = api.run(
        {
            "kind": "nsfw",
            "url": file_server.url_of("nsfw-clip.mp4"),
            "options": {"threshold": 0, "interval": 2},
        }
    )
    assert task["status"] == "succeeded", task["error"]
    data = task["output"]["data"]
    assert (data["nsfw"], data["threshold"]) == (True, 0)
    assert [frame["time"] for frame in data["frames"]] == [0.0, 2.0]


def test_an_image_is_its_one_frame(api: Api, make_clip: MakeClip, file_server: FileServer) -> None:
    make_clip("nsfw-still.jpg", seconds=None, audio=False, frames=1, video_codec="mjpeg", container="mjpeg")
    task = api.run({"kind": "nsfw", "url": file_server.url_of("nsfw-still.jpg")})
    assert task["status"] == "succeeded", task["error"]
    data = task["output"]["data"]
    assert data["nsfw"] is False
    ((frame),) = data["frames"]
    assert frame["time"] == 0
    assert frame["score"] <= SAFE_SCORE


def test_an_input_without_pictures_is_refused(api: Api, make_clip: MakeClip, file_server: FileServer) -> None:
    make_clip("nsfw-tone.m4a", size=None)
    task = api.run({"kind": "nsfw", "url": file_server.url_of("nsfw-tone.m4a")})
    assert task["status"] == "failed"
    assert task["error"]["kind"] == "input_unsupported"
    assert "video" in task["error"]["message"]


def test_options_out_of_range_are_refused(api: Api, file_server: FileServer) -> None:
    status, body = api.request(
        "POST",
        "/tasks",
        {"kind": "nsfw", "url": file_server.url_of("nsfw-clip.mp4"), "options": {"threshold": 2}},
    )
    assert status == 400, body
    assert body["kind"] == "invalid_option"
