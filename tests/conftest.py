"""Fixtures shared by every test layer: generated media, a loopback file server, the template."""

from __future__ import annotations

import functools
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mediatasks.adapters.ffmpeg import binaries

MakeClip = Callable[..., Path]


def ffprobe_json(path_or_url: str) -> dict[str, Any]:
    """What the pinned ffprobe says about a file (tests may read their own outputs freely)."""
    out = subprocess.run(
        [binaries().ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json", path_or_url],
        check=True,
        capture_output=True,
    ).stdout
    report: dict[str, Any] = json.loads(out)
    return report


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def make_clip(media_dir: Path) -> MakeClip:
    """Generates (once per set of arguments) a small test clip with ffmpeg's lavfi sources."""

    @functools.cache
    def make(
        name: str = "clip.mp4",
        *,
        size: str = "320x240",
        seconds: float = 2,
        fps: int = 25,
        audio: bool = True,
    ) -> Path:
        target = media_dir / name
        argv = [binaries().ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]  # fmt: skip
        if audio:
            argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:a", "aac", "-shortest"]
        argv += [
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(target),
        ]
        subprocess.run(argv, check=True)
        return target

    return make


@dataclass(frozen=True)
class FileServer:
    root: Path
    url: str

    def url_of(self, name: str) -> str:
        return f"{self.url}/{name}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="session")
def file_server(media_dir: Path) -> Iterator[FileServer]:
    """Serves the generated media on 127.0.0.1, as a user's storage would over HTTP."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(media_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield FileServer(media_dir, f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The CDK app synthesized offline, as `mediatasks serve` runs it (with its trigger rules)."""
    from mediatasks.local.stack import DEMO_TRIGGER_RULES, synthesize_for_local

    return synthesize_for_local(DEMO_TRIGGER_RULES)


# The running product (`mediatasks serve` in its own process), shared by every suite that needs it.
from tests.local_product import api  # noqa: E402, F401
