"""A local file as a --cloud task's input: served once, on loopback, for as long as the task runs.

This reaches an API on this machine (`mediatasks serve --allow-local-inputs`), which fetches the file
as it fetches any input URL. A deployed API cannot reach this machine: give it an https:// or s3://
input instead (the API has no upload route yet)."""

from __future__ import annotations

import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class LocalInputUnreachable(Exception):
    """The API is not on this machine, so it cannot fetch a file from here."""


def _handler(path: Path, route: str) -> type[BaseHTTPRequestHandler]:
    class OneFile(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != route:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(path.stat().st_size))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            with path.open("rb") as source:
                shutil.copyfileobj(source, self.wfile)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return OneFile


@contextmanager
def served_file(path: Path, api_url: str) -> Iterator[str]:
    """A URL the API at `api_url` can fetch `path` from, valid inside the block. The route carries a
    random token, so nothing else on this machine can guess it."""
    if urlsplit(api_url).hostname not in LOOPBACK_HOSTS:
        raise LocalInputUnreachable(
            f"the API at {api_url} cannot read a file on this machine: give an https:// or s3:// URL "
            "(local files work with `mediatasks serve --allow-local-inputs`)"
        )
    route = f"/{secrets.token_urlsafe(16)}/{quote(path.name)}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(path.resolve(), route))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{route}"
    finally:
        server.shutdown()
        server.server_close()
