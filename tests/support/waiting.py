"""Waiting for something to happen by looking at it, never by sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

Seen = TypeVar("Seen")
POLL_SECONDS = 0.2


def wait_until(
    predicate: Callable[[], Seen | None],
    timeout: float,
    what: str | Callable[[], str],
    *,
    every: float = POLL_SECONDS,
) -> Seen:
    """Calls `predicate` every `every` seconds until it returns something true, and returns that.
    After `timeout` seconds it fails naming what was awaited (`what`, or what `what()` says then)
    and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        seen = predicate()
        if seen:
            return seen
        if time.monotonic() >= deadline:
            awaited = what if isinstance(what, str) else what()
            raise AssertionError(f"waited {timeout:g}s for {awaited}; last saw {seen!r}")
        time.sleep(every)
