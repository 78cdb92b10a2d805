from __future__ import annotations

from mediatasks.domain.throttle import TokenBucket


def test_a_burst_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [None, None, None]
    assert bucket.take() == 1  # empty: wait a second (rounded up)
    now[0] = 0.5  # half a second refills one request at 2/s
    assert bucket.take() is None
    assert bucket.take() == 1
    now[0] = 100.0  # refilled, but never beyond the burst
    assert [bucket.take() for _ in range(4)] == [None, None, None, 1]


def test_slow_rates_ask_for_longer_waits() -> None:
    bucket = TokenBucket(rate=0.2, burst=1, clock=lambda: 0.0)
    assert bucket.take() is None
    assert bucket.take() == 5
