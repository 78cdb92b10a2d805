"""The one thing the pipeline needs of an input: bytes read in chunks (an HTTP body, an S3 body)."""

from __future__ import annotations

from typing import Protocol


class ByteStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...
