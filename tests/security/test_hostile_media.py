"""Hostile media through the running product: files that try to make ffmpeg open other files or
URLs, or that are not what they claim. Each ends failed with a specific kind, publishes nothing,
and a canary listener on 127.0.0.1 sees no request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import FileServer, MakeClip
from tests.local_product import Api


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


def hls(*entries: str) -> bytes:
    body = "".join(f"#EXTINF:1.0,\n{entry}\n" for entry in entries)
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n{body}#EXT-X-ENDLIST\n".encode()


def corpus(canary: Canary, clip: bytes) -> dict[str, bytes]:
    return {
        "playlist-to-canary.mp4": hls(f"{canary.url}/segment.ts"),
        "playlist-to-passwd.avi": hls("file:///etc/passwd"),
        "playlist-to-environ.mkv": hls("/proc/self/environ"),
        "playlist-nested.mp4": hls(f"{canary.url}/nested.m3u8"),
        "ffconcat.mp4": b"ffconcat version 1.0\nfile '/etc/passwd'\n",
        "ffconcat-to-canary.mov": f"ffconcat version 1.0\nfile '{canary.url}/x.mp4'\n".encode(),
        "gif-header-playlist.gif": b"GIF89a" + hls(f"{canary.url}/polyglot.ts"),
        "empty.mp4": b"",
        "truncated.mp4": clip[:1500],
        "noise.mp4": bytes(range(256)) * 64,
        "subtitles.srt.mp4": b"1\n00:00:00,000 --> 00:00:01,000\n<font>hi</font>\n",
        "html.mp4": b"<!doctype html><video src='" + canary.url.encode() + b"/v.mp4'></video>",
    }


@pytest.fixture(scope="module")
def hostile(canary: Canary, make_clip: MakeClip, file_server: FileServer) -> dict[str, str]:
    clip = make_clip("hostile-base.mp4").read_bytes()
    for name, content in corpus(canary, clip).items():
        (file_server.root / name).write_bytes(content)
    return {name: file_server.url_of(name) for name in corpus(canary, clip)}


@pytest.mark.parametrize("kind", ["video", "probe", "image"])
def test_hostile_files_fail_cleanly_and_reach_nothing(
    api: Api, hostile: dict[str, str], canary: Canary, kind: str
) -> None:
    created = [(name, api.create({"kind": kind, "input": url})) for name, url in hostile.items()]
    for name, task in created:
        ended = api.wait(task["id"])
        assert (ended["status"], ended["output"]) == ("failed", None), name
        assert ended["error"]["kind"] == "input_unsupported", (name, ended["error"])
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
