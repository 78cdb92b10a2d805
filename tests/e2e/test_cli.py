"""The `mediatasks` command as a user runs it: local runs on generated media (outputs checked with
ffprobe), and --cloud runs against the local product."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.local_product import Api
from tests.support.media import MakeClip, ffprobe_json, video_stream
from tests.support.servers import FileServer

TASK_SECONDS = 180


def mediatasks(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`mediatasks ARGS` in its own process, its stderr not a terminal (as in CI). Without `cwd` it
    runs in a scratch folder: a run given no -o writes beside the current folder, never the checkout."""
    with tempfile.TemporaryDirectory(prefix="cli-cwd-") as scratch:
        done = subprocess.run(
            [sys.executable, "-m", "mediatasks.cli", *args],
            capture_output=True,
            text=True,
            timeout=TASK_SECONDS,
            env={**os.environ, **(env or {})},
            cwd=cwd or scratch,
            check=False,
        )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def cloud_env(api: Api, key: str | None = None) -> dict[str, str]:
    return {"MEDIATASKS_API_URL": api.url, "MEDIATASKS_API_KEY": key or api.key}


def audio_stream(report: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in report["streams"] if s["codec_type"] == "audio")


@pytest.mark.parametrize(
    ("args", "name", "check"),
    [
        (
            ["video", "--width", "160", "--format", "webm"],
            "out.webm",
            lambda r: (video_stream(r)["codec_name"], video_stream(r)["width"]) == ("vp9", 160),
        ),
        (["audio", "--format", "mp3"], "out.mp3", lambda r: audio_stream(r)["codec_name"] == "mp3"),
        (
            ["image", "--format", "jpeg", "--width", "64", "--start", "1"],
            "out.jpeg",
            lambda r: (video_stream(r)["codec_name"], video_stream(r)["width"]) == ("mjpeg", 64),
        ),
        (
            ["animation", "--format", "gif", "--width", "80", "--end", "1", "--fps", "5"],
            "out.gif",
            lambda r: (video_stream(r)["codec_name"], int(video_stream(r)["nb_frames"] or 0)) == ("gif", 5),
        ),
    ],
)
def test_local_runs_write_what_was_asked(
    make_clip: MakeClip, tmp_path: Path, args: list[str], name: str, check: Any
) -> None:
    target = tmp_path / "made" / "here" / name  # missing folders are made
    done = mediatasks(*args, "-i", str(make_clip()), "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target)
    assert check(ffprobe_json(str(target)))


def test_local_adaptive_writes_a_playlist_folder(make_clip: MakeClip, tmp_path: Path) -> None:
    done = mediatasks("adaptive", "-i", str(make_clip()), "-o", str(tmp_path / "hls"), "--json")
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)
    assert task["status"] == "succeeded"
    assert task["output"]["format"] == "hls"
    master = tmp_path / "hls" / "master.m3u8"
    assert task["output"]["url"] == master.as_uri()
    assert "#EXT-X-STREAM-INF" in master.read_text()
    top = task["output"]["renditions"][0]
    assert (
        (video_stream(ffprobe_json(str(tmp_path / "hls" / "v0" / "segment_00000.ts")))["height"])
        == top["height"]
    )


def test_progress_off_a_terminal_is_clean_lines(make_clip: MakeClip, tmp_path: Path) -> None:
    done = mediatasks("video", "-i", str(make_clip()), "--width", "96", "-o", str(tmp_path / "v.mp4"))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "video: succeeded 100%" in lines
    assert any(line.startswith("video: processing · probe") for line in lines)
    assert "\x1b" not in done.stderr
    assert "\r" not in done.stderr


def test_composed_local_tasks_read_a_file_object(make_clip: MakeClip, tmp_path: Path) -> None:
    probed = mediatasks("task", "probe", "-i", json.dumps({"url": str(make_clip())}))
    assert probed.returncode == 0, probed.stderr
    file = json.loads(probed.stdout)["output"]
    assert (file["width"], file["height"]) == (320, 240)
    made = mediatasks(
        "task", "video", "-i", json.dumps(file), "--height", "120", "-o", str(tmp_path / "v.mp4")
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["output"]["height"] == 120


def test_expected_failures_exit_with_their_code_and_no_traceback(make_clip: MakeClip, tmp_path: Path) -> None:
    missing = mediatasks("video", "-i", str(tmp_path / "nowhere.mp4"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    bad = mediatasks("video", "-i", str(make_clip()), "--codec", "vp9", "--format", "mp4")
    assert bad.returncode == 2
    assert "invalid_codec" in bad.stderr
    (tmp_path / "notes.txt").write_text("not media")
    failed = mediatasks("video", "-i", str(tmp_path / "notes.txt"), "-o", str(tmp_path / "x.mp4"))
    assert failed.returncode == 1
    assert "input_unsupported" in failed.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_a_loopback_url_is_refused_locally_unless_allowed(
    make_clip: MakeClip, file_server: FileServer, tmp_path: Path
) -> None:
    url = file_server.url_of(make_clip().name)
    refused = mediatasks("probe", "-i", url, "--json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["kind"] == "input_unreachable"
    allowed = mediatasks("probe", "-i", url, "--json", "--allow-local-inputs")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["output"]["codecs"] == {"video": "h264", "audio": "aac"}


def test_sample_makes_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "samples" / "deeper" / "sample.mp4"
    done = mediatasks("sample", str(target), "--seconds", "1", "--size", "160x120")
    assert done.returncode == 0, done.stderr
    assert video_stream(ffprobe_json(str(target)))["width"] == 160


# ---- --cloud ------------------------------------------------------------------------------------


def test_cloud_run_succeeds_and_downloads_the_output(
    api: Api, make_clip: MakeClip, file_server: FileServer, tmp_path: Path
) -> None:
    target = tmp_path / "got" / "v.mp4"
    url = file_server.url_of(make_clip().name)
    done = mediatasks("video", "-i", url, "--width", "160", "--cloud", "-o", str(target), env=cloud_env(api))
    assert done.returncode == 0, done.stderr
    assert "video: succeeded 100%" in done.stderr.splitlines()
    assert "\x1b" not in done.stderr
    assert video_stream(ffprobe_json(str(target)))["width"] == 160


def test_cloud_run_uploads_a_local_file(api: Api, make_clip: MakeClip, tmp_path: Path) -> None:
    done = mediatasks(
        "audio", "-i", str(make_clip()), "--format", "mp3", "--cloud", "--json", env=cloud_env(api)
    )
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)
    assert task["status"] == "succeeded"
    assert task["output"]["codecs"]["audio"] == "mp3"
    # the file went up in parts (POST /uploads): the task read its stored copy, a media's original
    assert task["input"].startswith("file_")
    status, uploaded = api.request("GET", f"/files/{task['input']}")
    assert (status, uploaded["original"], uploaded["status"]) == (200, True, "ready")
    assert uploaded["media_id"] == task["media_id"]


def test_cloud_tasks_compose_in_a_pipeline(api: Api, make_clip: MakeClip, file_server: FileServer) -> None:
    url = file_server.url_of(make_clip().name)
    probed = mediatasks("task", "probe", "-i", json.dumps({"url": url}), "--cloud", env=cloud_env(api))
    assert probed.returncode == 0, probed.stderr
    output = json.loads(probed.stdout)["output"]
    made = mediatasks(
        "task", "video", "-i", json.dumps(output), "--width", "96", "--cloud", env=cloud_env(api)
    )
    assert made.returncode == 0, made.stderr
    task = json.loads(made.stdout)
    assert (task["status"], task["output"]["width"]) == ("succeeded", 96)
    listed = mediatasks("tasks", "list", "--kind", "video", "--json", env=cloud_env(api))
    assert task["id"] in [t["id"] for t in json.loads(listed.stdout)]
    shown = mediatasks("tasks", "get", task["id"], "--json", env=cloud_env(api))
    assert json.loads(shown.stdout)["status"] == "succeeded"


def test_a_bad_option_exits_2_before_any_request(make_clip: MakeClip, file_server: FileServer) -> None:
    # no API listens at this address: a request would fail with exit 3, not 2
    env = {"MEDIATASKS_API_URL": "http://127.0.0.1:9", "MEDIATASKS_API_KEY": "mtk_x"}
    done = mediatasks("video", "-i", file_server.url_of("clip.mp4"), "--width", "161", "--cloud", env=env)
    assert done.returncode == 2
    assert "invalid_option" in done.stderr
    assert "options.width" in done.stderr
    unreachable = mediatasks("video", "-i", file_server.url_of("clip.mp4"), "--cloud", env=env)
    assert unreachable.returncode == 3
    assert "cannot reach the API" in unreachable.stderr


def test_a_failing_cloud_task_exits_1_with_its_error_kind(
    api: Api, media_dir: Path, file_server: FileServer
) -> None:
    (media_dir / "notes.txt").write_text("not media at all")
    done = mediatasks("video", "-i", file_server.url_of("notes.txt"), "--cloud", env=cloud_env(api))
    assert done.returncode == 1
    assert "input_unsupported" in done.stderr


def test_a_wrong_key_exits_3(api: Api, file_server: FileServer) -> None:
    done = mediatasks("tasks", "list", env=cloud_env(api, key="mtk_wrong"))
    assert done.returncode == 3
    assert "token_invalid" in done.stderr


def test_a_local_photo_is_judged_by_its_bytes_not_its_name(make_clip: MakeClip, tmp_path: Path) -> None:
    """A photo.jpg given by path is read as a JPEG (ffprobe would take its name for image2's pattern)."""
    photo = make_clip(
        "cli-photo.jpg", seconds=None, audio=False, frames=1, video_codec="mjpeg", container="mjpeg"
    )
    target = tmp_path / "nsfw.json"
    done = mediatasks("nsfw", "-i", str(photo), "-o", str(target))
    assert done.returncode == 0, done.stderr
    verdict = json.loads(target.read_text())
    assert [frame["time"] for frame in verdict["frames"]] == [0]
    assert verdict["nsfw"] is False
