"""Hostile media through the running product: files that try to make ffmpeg open other files or
URLs, or that are not what they claim. Each ends failed with a specific kind, publishes nothing,
and a canary listener on 127.0.0.1 sees no request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.local_product import Api
from tests.security.hostile_files import (
    avi_with_gab2_subtitle,
    gif_claiming,
    hls,
    huge_jpeg,
    ten_hours_in_a_few_kb,
)
from tests.support.media import MakeClip
from tests.support.servers import FileServer


class Canary:
    def __init__(self) -> None:
        self.requests: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.server.shutdown()
    listener.server.server_close()


def corpus(canary: Canary, clip: bytes, frame: bytes, ten_hours: bytes) -> dict[str, tuple[bytes, str]]:
    """Each file, and the error kind its task must fail with."""
    unsupported, too_large = "input_unsupported", "input_too_large"
    return {
        "playlist-to-canary.mp4": (hls(f"{canary.url}/segment.ts"), unsupported),
        "playlist-to-passwd.avi": (hls("file:///etc/passwd"), unsupported),
        "playlist-to-environ.mkv": (hls("/proc/self/environ"), unsupported),
        "playlist-nested.mp4": (hls(f"{canary.url}/nested.m3u8"), unsupported),
        "ffconcat.mp4": (b"ffconcat version 1.0\nfile '/etc/passwd'\n", unsupported),
        "ffconcat-to-canary.mov": (
            f"ffconcat version 1.0\nfile '{canary.url}/x.mp4'\n".encode(),
            unsupported,
        ),
        "gif-header-playlist.gif": (b"GIF89a" + hls(f"{canary.url}/polyglot.ts"), unsupported),
        "avi-gab2-playlist-to-canary.avi": (
            avi_with_gab2_subtitle(frame, 160, 120, hls(f"{canary.url}/gab2.ts")),
            unsupported,
        ),
        "avi-gab2-playlist-to-passwd.avi": (
            avi_with_gab2_subtitle(frame, 160, 120, hls("file:///etc/passwd")),
            unsupported,
        ),
        "empty.mp4": (b"", unsupported),
        "truncated.mp4": (clip[:1500], unsupported),
        "noise.mp4": (bytes(range(256)) * 64, unsupported),
        "subtitles.srt.mp4": (b"1\n00:00:00,000 --> 00:00:01,000\n<font>hi</font>\n", unsupported),
        "html.mp4": (b"<!doctype html><video src='" + canary.url.encode() + b"/v.mp4'></video>", unsupported),
        # headers claiming sizes the limits refuse, before anything is decoded
        "screen-16000x16000.gif": (gif_claiming(16000, 16000), too_large),
        "screen-65535x65535.gif": (gif_claiming(65535, 65535), unsupported),  # beyond what ffmpeg sizes
        "ten-hours-in-a-few-kb.mp4": (ten_hours, too_large),
        # sizes and durations only the stored (seekable) object, or a demux of it, reveals
        "ten-hours-no-duration.mkv": (ten_hours_in_a_few_kb("matroska"), too_large),
        "ten-hours-zero-duration.flv": (ten_hours_in_a_few_kb("flv"), too_large),
        "picture-10000x10000.jpg": (huge_jpeg(), too_large),
    }


@pytest.fixture(scope="module")
def hostile(canary: Canary, make_clip: MakeClip, file_server: FileServer) -> dict[str, tuple[str, str]]:
    clip = make_clip("hostile-base.mp4").read_bytes()
    pattern = {"size": "160x120", "seconds": None, "audio": False}
    frame = make_clip("hostile-frame.jpg", **pattern, frames=1, video_codec="mjpeg", container="mjpeg")
    # two frames ten hours apart: a few KB whose timing says it lasts 10 h
    ten_hours = make_clip(
        "ten-hours.source.mp4",
        **pattern,
        frames=2,
        video_filter="setpts=N*36000/TB",
        output_args=("-fps_mode", "passthrough"),
    )
    files = corpus(canary, clip, frame.read_bytes(), ten_hours.read_bytes())
    for name, (content, _) in files.items():
        (file_server.root / name).write_bytes(content)
    return {name: (file_server.url_of(name), kind) for name, (_, kind) in files.items()}


@pytest.mark.parametrize("kind", ["video", "probe", "image"])
def test_hostile_files_fail_cleanly_and_reach_nothing(
    api: Api, hostile: dict[str, tuple[str, str]], canary: Canary, kind: str
) -> None:
    created = [
        (name, expected, api.create({"kind": kind, "input": url}))
        for name, (url, expected) in hostile.items()
    ]
    for name, expected, task in created:
        ended = api.wait(task["id"])
        assert (ended["status"], ended["output"]) == ("failed", None), name
        assert ended["error"]["kind"] == expected, (name, ended["error"])
        assert "/etc/passwd" not in ended["error"]["message"]
    assert canary.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "subfile:,,start,0,end,0,,:/etc/passwd",
        "data:video/mp4;base64,AAAA",
        "concat:/etc/passwd|/etc/hosts",
        "file:///etc/passwd",
        "hls+http://example.com/x.m3u8",
        "pipe:0",
        "/etc/passwd",
    ],
)
def test_input_urls_ffmpeg_would_understand_are_refused_at_the_door(api: Api, url: str) -> None:
    status, error = api.request("POST", "/tasks", {"kind": "video", "input": url})
    assert (status, error["kind"]) == (400, "invalid_input")
