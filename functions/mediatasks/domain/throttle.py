"""A token bucket: what API Gateway's stage throttling does, for the local stack to do the same."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable


class TokenBucket:
    """`rate` requests a second on average, up to `burst` at once."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """None when the request may go ahead; else the whole seconds to wait (for Retry-After)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return max(1, math.ceil((1 - self._tokens) / self._rate))
