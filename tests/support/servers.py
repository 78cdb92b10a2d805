"""Loopback HTTP servers the tests (and the benchmark) start for themselves."""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FileServer:
    root: Path
    url: str

    def url_of(self, name: str) -> str:
        return f"{self.url}/{name}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def serve_directory(root: Path) -> Iterator[FileServer]:
    """Serves the files under `root` on 127.0.0.1, as a user's storage would over HTTP."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    with _running(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as origin:
        yield FileServer(root, origin)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A client's webhook endpoint: records every POST and answers the statuses it is told to,
    in order, then 200."""

    url: str
    answers: list[int]
    received: list[Received]

    def delivered(self, delivery_id: str) -> list[Received]:
        return [
            request for request in self.received if request.headers.get("Mediatasks-Delivery") == delivery_id
        ]


@contextmanager
def webhook_receiver(answers: list[int] | None = None) -> Iterator[WebhookReceiver]:
    lock = threading.Lock()
    receiver = WebhookReceiver("", list(answers or []), [])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                receiver.received.append(Received(dict(self.headers.items()), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    with _running(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as origin:
        receiver.url = f"{origin}/hooks/mediatasks"
        yield receiver


@dataclass
class RangedFileServer:
    """Serves files with single byte ranges (as object stores and CDNs do), counting what it sent."""

    root: Path
    url: str
    sent: int = 0
    requests: int = 0

    def url_of(self, name: str) -> str:
        return f"{self.url}/{name}"


_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@contextmanager
def serve_ranges(root: Path) -> Iterator[RangedFileServer]:
    """Serves the files under `root` on 127.0.0.1, answering `Range: bytes=a-[b]` with 206."""
    lock = threading.Lock()
    served = RangedFileServer(root, "")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = root / self.path.lstrip("/")
            if not path.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = path.stat().st_size
            match = _RANGE.fullmatch(self.headers.get("Range", ""))
            first, last = (0, size - 1) if match is None else (int(match[1]), int(match[2] or size - 1))
            last = min(last, size - 1)
            self.send_response(200 if match is None else 206)
            if match is not None:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(last - first + 1))
            self.end_headers()
            with lock:
                served.requests += 1
            with path.open("rb") as file:
                file.seek(first)
                remaining = last - first + 1
                while remaining:
                    chunk = file.read(min(64 * 1024, remaining))
                    try:
                        self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    with lock:
                        served.sent += len(chunk)
                    remaining -= len(chunk)

        def log_message(self, format: str, *args: Any) -> None:
            return

    with _running(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as origin:
        served.url = origin
        yield served


@contextmanager
def _running(server: ThreadingHTTPServer) -> Iterator[str]:
    """Runs `server` in a thread while the block runs; its origin (http://127.0.0.1:port)."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ChatEndpoint:
    """A test double of an OpenAI-compatible chat-completions endpoint (what Ollama or llama.cpp's
    server would be): records every request's JSON body and answers, in order, each of `answers`
    as the assistant message's content (a str), or as an HTTP error status (an int); then the last
    answer again."""

    url: str
    answers: list[str | int]
    received: list[dict[str, Any]]

    def answer_with(self, *answers: str | int) -> None:
        self.answers[:] = answers
        self.received.clear()


@contextmanager
def chat_endpoint() -> Iterator[ChatEndpoint]:
    lock = threading.Lock()
    endpoint = ChatEndpoint("", [], [])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            with lock:
                endpoint.received.append(body)
                answer = endpoint.answers.pop(0) if len(endpoint.answers) > 1 else endpoint.answers[0]
            if self.path != "/v1/chat/completions":
                answer = 404
            if isinstance(answer, int):
                reply = json.dumps({"error": {"message": "the endpoint's own secret detail"}}).encode()
                self.send_response(answer)
            else:
                message = {"role": "assistant", "content": answer}
                completion = {"object": "chat.completion", "model": body.get("model"), "choices": [
                    {"index": 0, "message": message, "finish_reason": "stop"}
                ]}  # fmt: skip
                reply = json.dumps(completion).encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    with _running(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as origin:
        endpoint.url = f"{origin}/v1"
        yield endpoint
