"""Issue 20, findings 1-3 through the running product: the input is fetched once and every check
and step looks at the stored bytes; picture and duration caps hold while decoding, not only at
the probe."""

from __future__ import annotations

import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.local_product import Api
from tests.security.hostile_files import (
    HUGE_SIDE,
    avi_with_gab2_subtitle,
    growing_mkv,
    hls,
    huge_jpeg,
    ten_hours_claiming_one_second,
    ten_hours_in_a_few_kb,
)
from tests.support.media import MakeClip, ffprobe_json
from tests.support.servers import FileServer


class SwitchingServer:
    """Answers each path's first GET with one body and every later GET with another, the way a
    hostile input server would try to make the checked bytes differ from the processed ones."""

    def __init__(self) -> None:
        self.bodies: dict[str, tuple[bytes, bytes]] = {}
        self.gets: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.gets[self.path] += 1
                first, later = server.bodies[self.path]
                body = first if server.gets[self.path] == 1 else later
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")  # whatever was sent, it claims mp4
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def serve(self, name: str, first: bytes, later: bytes) -> str:
        self.bodies[f"/{name}"] = (first, later)
        return f"http://127.0.0.1:{self.http.server_address[1]}/{name}"


@pytest.fixture(scope="module")
def switching() -> Iterator[SwitchingServer]:
    server = SwitchingServer()
    yield server
    server.http.shutdown()
    server.http.server_close()


@pytest.fixture(scope="module")
def clip(make_clip: MakeClip) -> bytes:
    return make_clip("switch-base.mp4", size="160x120", seconds=1).read_bytes()


@pytest.fixture(scope="module")
def hostile_later(make_clip: MakeClip) -> dict[str, bytes]:
    """What a switching server sends on the second GET."""
    pattern = {"size": "160x120", "seconds": None, "audio": False}
    frame = make_clip(
        "switch-frame.jpg", **pattern, frames=1, video_codec="mjpeg", container="mjpeg"
    ).read_bytes()
    return {
        "huge.jpg": huge_jpeg(),
        "ten-hours.mkv": ten_hours_in_a_few_kb("matroska"),
        "page.html": b"<!doctype html><html><body>not a video</body></html>" * 40,
        "gab2.avi": avi_with_gab2_subtitle(frame, 160, 120, hls("file:///etc/passwd")),
    }


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
    return body


@pytest.mark.parametrize("later", ["huge.jpg", "ten-hours.mkv", "page.html", "gab2.avi"])
@pytest.mark.parametrize("kind", ["image", "video", "ingest"])
def test_a_second_answer_is_never_asked_for(
    api: Api, switching: SwitchingServer, clip: bytes, hostile_later: dict[str, bytes], later: str, kind: str
) -> None:
    """Small clip first, something else after: the task makes (or publishes) the clip it checked,
    described as that clip, and the server is asked once."""
    url = switching.serve(f"{kind}-then-{later}", clip, hostile_later[later])
    task = api.run({"kind": kind, "input": url})
    assert task["status"] == "succeeded", task["error"]
    assert switching.gets[f"/{kind}-then-{later}"] == 1
    output = task["output"]
    assert (output["width"], output["height"]) == (160, 120)
    if kind == "ingest":
        assert (output["format"], output["type"], output["filesize"]) == ("mp4", "video/mp4", len(clip))
        assert output["duration"] == pytest.approx(1.0, abs=0.1)
        assert _fetch(output["url"]) == clip  # the very bytes that were checked


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("huge.jpg", "input_too_large"),
        ("ten-hours.mkv", "input_too_large"),
        ("page.html", "input_unsupported"),
        ("gab2.avi", "input_unsupported"),
    ],
)
@pytest.mark.parametrize("kind", ["image", "ingest", "probe"])
def test_what_was_stored_is_what_is_refused(
    api: Api,
    switching: SwitchingServer,
    clip: bytes,
    hostile_later: dict[str, bytes],
    first: str,
    expected: str,
    kind: str,
) -> None:
    """Hostile first, clip after: refused on the stored bytes, with one GET, and nothing published."""
    path = f"{kind}-first-{first}"
    task = api.run({"kind": kind, "input": switching.serve(path, hostile_later[first], clip)})
    assert (task["status"], task["output"]) == ("failed", None)
    assert task["error"]["kind"] == expected, task["error"]
    assert switching.gets[f"/{path}"] == 1


@pytest.fixture(scope="module")
def growing(file_server: FileServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    name = "growing.mkv"
    (file_server.root / name).write_bytes(growing_mkv(tmp_path_factory.mktemp("growing")))
    return file_server.url_of(name)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "image", "options": {"start": 2.0}},  # the time of the huge frames
        {"kind": "image", "options": {"start": 2.0, "format": "png"}},
        {"kind": "video", "options": {"width": 64}},
        {"kind": "animation", "options": {"start": 1.5, "format": "webp"}},
    ],
)
def test_a_frame_over_the_pixel_cap_midstream_is_refused(
    api: Api, growing: str, body: dict[str, Any]
) -> None:
    task = api.run({**body, "input": growing})
    assert (task["status"], task["output"]) == ("failed", None)
    assert task["error"]["kind"] == "input_too_large", task["error"]
    assert f"{HUGE_SIDE}x{HUGE_SIDE}" in task["error"]["message"]


def test_frames_within_the_cap_of_the_same_file_still_make_a_picture(api: Api, growing: str) -> None:
    """Only what decodes over the cap is refused: the first frame is 64x64."""
    task = api.run({"kind": "image", "input": growing, "options": {"format": "jpeg"}})
    assert task["status"] == "succeeded", task["error"]
    assert (task["output"]["width"], task["output"]["height"]) == (64, 64)


@pytest.fixture(scope="module")
def no_duration(file_server: FileServer) -> dict[str, str]:
    urls = {}
    for container, extension in (("matroska", "mkv"), ("flv", "flv"), ("mpegts", "ts")):
        name = f"ten-hours-piped.{extension}"
        (file_server.root / name).write_bytes(ten_hours_in_a_few_kb(container))
        urls[extension] = file_server.url_of(name)
    return urls


@pytest.mark.parametrize("extension", ["mkv", "flv"])
@pytest.mark.parametrize("kind", ["video", "probe", "ingest"])
def test_ten_hours_without_a_readable_duration_is_over_the_cap(
    api: Api, no_duration: dict[str, str], extension: str, kind: str
) -> None:
    task = api.run({"kind": kind, "input": no_duration[extension]})
    assert (task["status"], task["output"]) == ("failed", None)
    assert task["error"]["kind"] == "input_too_large", task["error"]
    assert "the limit is 14400 s" in task["error"]["message"]


def test_a_transport_stream_gap_is_a_discontinuity_never_ten_hours(
    api: Api, no_duration: dict[str, str], tmp_path: Path
) -> None:
    """MPEG-TS timestamps may jump (a broadcast splice): ffmpeg joins the two frames across the gap,
    so what is measured, and made, lasts a fraction of a second."""
    probe = api.run({"kind": "probe", "input": no_duration["ts"]})
    assert probe["status"] == "succeeded", probe["error"]
    assert probe["output"]["duration"] < 1
    task = api.run({"kind": "video", "input": no_duration["ts"]})
    assert task["status"] == "succeeded", task["error"]
    made = tmp_path / "made.mp4"
    made.write_bytes(_fetch(task["output"]["url"]))
    assert float(ffprobe_json(str(made))["format"]["duration"]) < 1


@pytest.mark.parametrize("container", ["matroska", "flv"])
def test_a_header_understating_the_duration_only_shortens_the_output(
    api: Api, file_server: FileServer, tmp_path: Path, container: str
) -> None:
    """The probe says 1 s; the second frame is at ten hours. With `fps` ffmpeg would fill the gap
    with duplicates: no run goes past the probed duration, so the task is as cheap as 1 s."""
    name = f"claims-one-second.{container}"
    (file_server.root / name).write_bytes(ten_hours_claiming_one_second(container, tmp_path))
    task = api.run({"kind": "video", "input": file_server.url_of(name), "options": {"fps": 25}})
    assert task["status"] == "succeeded", task["error"]
    assert task["output"]["duration"] <= 2.1
    made = tmp_path / "made.mp4"
    made.write_bytes(_fetch(task["output"]["url"]))
    assert float(ffprobe_json(str(made))["format"]["duration"]) <= 2.1
