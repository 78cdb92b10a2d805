"""An input read in byte ranges, lent to ffprobe as a seekable file on a loopback port we serve.

ffprobe needs a seekable source to find an MP4's index wherever it is (at the front, or at the end
as phone recordings write it) without reading the media between. Giving it the input's own URL
would let ffmpeg open addresses on its own; giving it a presigned link lets the server push bytes
it never asked for (ffmpeg asks for `bytes=N-` with no end). Instead ffprobe reads a URL on
127.0.0.1 that only this process serves: each of its requests is answered from ranged GETs we make
ourselves — through the fetch policy for a URL (every hop checked), or from S3 for a stored object
— in windows that start small and double while ffprobe keeps reading, so what crosses the network
is at most about twice what ffprobe consumed.

The server is the standard library's http.server, hand-wired here: no well-kept library serves an
arbitrary ranged reader over HTTP, and this one is ~80 lines that only ever listen on loopback.
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from mediatasks.adapters.fetch import FetchPolicy, Resolver, open_url, system_resolver
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.streams import ByteStream
from mediatasks.domain.errors import InputInterrupted
from mediatasks.domain.tasks import StoredObject

# The first upstream read of each ffprobe request, doubled while ffprobe keeps reading, up to the
# largest: a probe that reads a header and seeks away costs one small window. The server sends a
# window whole even when ffprobe stops in it, so a probe keeps windows small (a 500 MB file's index
# is ~0.6 MB); a full read (the demux that measures a duration) takes large ones, for few requests.
FIRST_WINDOW = 64 * 1024
PROBING_WINDOW = 256 * 1024
READING_WINDOW = 16 * 1024**2
_COPY_BYTES = 64 * 1024
# A small send buffer on the loopback socket, so we are not many windows ahead of what ffprobe read
# when it closes the connection to seek elsewhere.
_SEND_BUFFER = 64 * 1024
_RANGE = re.compile(r"bytes=(\d{1,19})-(\d{0,19})", re.ASCII)


class RangeReader(Protocol):
    """An input of known size whose bytes can be read in ranges."""

    @property
    def size(self) -> int: ...

    def open_range(self, first: int, last: int) -> ByteStream:
        """A stream of bytes first..last (inclusive)."""
        ...


@dataclass
class UrlRanges:
    """An input URL read in ranges, each request under the fetch policy (addresses checked after
    DNS, every redirect checked). The input must keep its size: a change between reads is refused."""

    url: str
    size: int
    policy: FetchPolicy
    resolver: Resolver = system_resolver

    def open_range(self, first: int, last: int) -> ByteStream:
        stream = open_url(self.url, self.policy, self.resolver, byte_range=(first, last))
        if stream.whole_size != self.size:
            stream.close()
            raise InputInterrupted("the input changed (or stopped answering ranges) while it was read")
        return stream


@dataclass
class StoredRanges:
    """A stored object read in ranges (its size as ingest or HeadObject found it)."""

    storage: Storage
    stored: StoredObject
    size: int

    def open_range(self, first: int, last: int) -> ByteStream:
        return self.storage.open_range(self.stored, first, last)


@dataclass
class CountingReader:
    """Counts the bytes read through it, for the probe's report and the benchmark."""

    reader: RangeReader
    received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> int:
        return self.reader.size

    def open_range(self, first: int, last: int) -> ByteStream:
        return _Counted(self.reader.open_range(first, last), self)

    def add(self, count: int) -> None:
        with self._lock:
            self.received += count


@dataclass
class _Counted:
    stream: ByteStream
    counter: CountingReader

    def read(self, size: int = -1, /) -> bytes:
        data = self.stream.read(size)
        self.counter.add(len(data))
        return data

    def close(self) -> None:
        self.stream.close()


@dataclass
class LoopbackLink:
    """Where ffprobe reads the input (`url`), and the first upstream failure met while serving it:
    ffprobe only sees a closed connection, the step reports why."""

    url: str
    errors: list[Exception]

    def raise_upstream_error(self) -> None:
        if self.errors:
            raise self.errors[0]


def _requested(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a Range header asks for (the whole input without one); None when it
    cannot be served (past the end, or a form ffmpeg never sends)."""
    if header is None:
        return (0, size - 1) if size else None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else size - 1
    if first >= size or last < first:
        return None
    return first, min(last, size - 1)


def _copy_windows(reader: RangeReader, first: int, last: int, sink: Any, largest_window: int) -> None:
    """Writes bytes first..last to `sink`, read upstream in windows doubling up to `largest_window`."""
    window = FIRST_WINDOW
    position = first
    while position <= last:
        window_last = min(last, position + window - 1)
        with closing(reader.open_range(position, window_last)) as stream:
            remaining = window_last - position + 1
            while remaining:
                chunk = stream.read(min(_COPY_BYTES, remaining))
                if not chunk:
                    raise InputInterrupted("the input ended before the range it announced")
                sink.write(chunk)
                remaining -= len(chunk)
        position = window_last + 1
        window = min(window * 2, largest_window)


@contextmanager
def loopback_link(reader: RangeReader, largest_window: int = PROBING_WINDOW) -> Iterator[LoopbackLink]:
    """Serves `reader` on 127.0.0.1 at an unguessable path while the block runs."""
    path = "/" + secrets.token_urlsafe(16)
    errors: list[Exception] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
            super().setup()

        def do_HEAD(self) -> None:
            self._answer(with_body=False)

        def do_GET(self) -> None:
            self._answer(with_body=True)

        def _answer(self, *, with_body: bool) -> None:
            if self.path != path:
                self._empty(404)
                return
            wanted = _requested(self.headers.get("Range"), reader.size)
            if wanted is None:
                self._empty(416, {"Content-Range": f"bytes */{reader.size}"})
                return
            first, last = wanted
            self.send_response(206 if self.headers.get("Range") else 200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Range", f"bytes {first}-{last}/{reader.size}")
            self.send_header("Content-Length", str(last - first + 1))
            self.end_headers()
            if not with_body:
                return
            try:
                _copy_windows(reader, first, last, self.wfile, largest_window)
            except (BrokenPipeError, ConnectionResetError):  # ffprobe seeked away: it closed the link
                self.close_connection = True
            except Exception as error:  # reported by the step once ffprobe has given up
                errors.append(error)
                self.close_connection = True

        def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="loopback-link", daemon=True)
    thread.start()
    try:
        yield LoopbackLink(f"http://127.0.0.1:{server.server_address[1]}{path}", errors)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
