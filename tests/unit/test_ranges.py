"""The loopback link ffprobe reads an input through: ranges served exactly, nothing else served, and
an upstream failure reported as itself."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from mediatasks.adapters.ranges import CountingReader, loopback_link
from mediatasks.adapters.streams import ByteStream
from mediatasks.domain.errors import InputInterrupted
from mediatasks.domain.media import InputLimits
from mediatasks.service.pipeline import probe_input
from tests.support.media import make_media

DATA = bytes(range(256)) * 4096  # 1 MiB


@dataclass
class MemoryRanges:
    data: bytes
    fail_from: int | None = None  # the upstream breaks when asked for bytes from here on

    @property
    def size(self) -> int:
        return len(self.data)

    def open_range(self, first: int, last: int) -> ByteStream:
        if self.fail_from is not None and last >= self.fail_from:
            raise InputInterrupted("the connection to the input broke while reading it")
        return io.BytesIO(self.data[first : last + 1])


def fetch(url: str, byte_range: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Range": byte_range} if byte_range else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def test_the_link_serves_exactly_the_ranges_asked() -> None:
    counted = CountingReader(MemoryRanges(DATA))
    with loopback_link(counted) as link:
        status, headers, body = fetch(link.url, "bytes=1000-")
        assert (status, headers["Content-Range"], body) == (
            206,
            f"bytes 1000-{len(DATA) - 1}/{len(DATA)}",
            DATA[1000:],
        )
        status, headers, body = fetch(link.url, "bytes=10-19")
        assert (status, body) == (206, DATA[10:20])
        assert fetch(link.url, f"bytes={len(DATA)}-")[0] == 416
        assert fetch(link.url)[2] == DATA
    assert counted.received == 2 * len(DATA) - 1000 + 10


def test_the_link_serves_nothing_but_its_own_path() -> None:
    with loopback_link(MemoryRanges(DATA)) as link:
        origin = link.url.rsplit("/", 1)[0]
        assert fetch(f"{origin}/")[0] == 404
        assert fetch(f"{link.url}x")[0] == 404
        assert link.url.startswith("http://127.0.0.1:")


def test_an_upstream_failure_is_the_probes_error(tmp_path: Path) -> None:
    clip = make_media(tmp_path / "clip.mp4", size="160x90", seconds=1)
    broken = MemoryRanges(clip.read_bytes(), fail_from=0)
    with pytest.raises(InputInterrupted, match="broke"):
        probe_input(broken, InputLimits(), deadline=30)
