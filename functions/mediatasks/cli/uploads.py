"""A local file as a --cloud task's input: sent to the API's upload area in parts (POST /uploads),
each part straight to storage and sent again when its connection fails, then stored by the API as a
new media's original. The task reads that stored file (`file_id`), so this works against a
deployed API as against `mediatasks serve`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from mediatasks.client import Client
from mediatasks.client.errors import ApiUnreachable

# How often one part is sent before the upload gives up (a phone on a bad network drops many).
PART_ATTEMPTS = 4
LINKS_PER_REQUEST = 100
POLL_SECONDS = 0.5
_UNNAMEABLE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadFailed(Exception):
    """The file could not be uploaded, or the API could not store it."""


def upload_name(path: Path) -> str:
    """The file's name as the API takes it: letters, digits, `.`, `_` and `-`, starting with a letter
    or digit, at most 128 characters."""
    name = _UNNAMEABLE.sub("-", path.name).lstrip("._-")[:128]
    return name or "upload"


def _send_with_retries(client: Client, url: str, data: bytes, sleep: Callable[[float], None]) -> None:
    for attempt in range(PART_ATTEMPTS):
        try:
            client.send_part(url, data)
            return
        except ApiUnreachable:
            if attempt == PART_ATTEMPTS - 1:
                raise
            sleep(2**attempt)


def upload_file(
    client: Client, path: Path, *, timeout: float = 600.0, sleep: Callable[[float], None] = time.sleep
) -> str:
    """Uploads `path` and waits until the API has stored it; returns the stored file's id."""
    size = path.stat().st_size
    upload = client.start_upload(upload_name(path), size)
    with path.open("rb") as source:

        def send(numbers: list[int]) -> None:
            for start in range(0, len(numbers), LINKS_PER_REQUEST):
                links = client.part_links(upload.id, numbers[start : start + LINKS_PER_REQUEST])
                for link in links.data:
                    source.seek((link.part_number - 1) * upload.part_size)
                    _send_with_retries(client, link.url, source.read(upload.part_size), sleep)

        send(list(range(1, upload.parts + 1)))
        missing = client.upload_progress(upload.id).missing
        if missing:  # a part storage did not keep whole: once more
            send(missing)
    file = client.complete_upload(upload.id)
    deadline = time.monotonic() + timeout
    while file.status in ("waiting", "processing"):
        if time.monotonic() > deadline:
            raise UploadFailed(f"the API did not store {path.name} within {timeout:.0f} s")
        sleep(POLL_SECONDS)
        file = client.get_file(file.id)
    if file.status != "ready":
        raise UploadFailed(f"the API could not store {path.name} (its ingest task {file.task_id} failed)")
    return file.id
