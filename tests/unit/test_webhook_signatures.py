"""The receiver's helper: `verify_signature` against the header deliveries carry, importable alone."""

from __future__ import annotations

import subprocess
import sys
import time

from mediatasks.contract.webhooks import signature_header, verify_signature
from mediatasks.domain.webhooks import RetryPolicy

BODY = b'{"id": "task_abc", "object": "task", "status": "succeeded"}'
SECRET, OTHER = "whsec_first", "whsec_second"


def test_a_signed_body_verifies_with_its_secret() -> None:
    header = signature_header(BODY, [SECRET], int(time.time()))
    assert verify_signature(BODY, header, [SECRET])
    assert verify_signature(BODY, header, ["whsec_unrelated", SECRET])


def test_a_wrong_secret_or_another_body_fails() -> None:
    header = signature_header(BODY, [SECRET], int(time.time()))
    assert not verify_signature(BODY, header, [OTHER])
    assert not verify_signature(BODY.replace(b"succeeded", b"failed"), header, [SECRET])
    assert not verify_signature(BODY, header, [])


def test_a_timestamp_older_than_the_tolerance_fails() -> None:
    signed_at = int(time.time()) - 301
    header = signature_header(BODY, [SECRET], signed_at)
    assert not verify_signature(BODY, header, [SECRET])
    assert verify_signature(BODY, header, [SECRET], tolerance_seconds=600)
    # the timestamp is signed: moving it forward breaks the signature
    forged = header.replace(f"t={signed_at}", f"t={int(time.time())}")
    assert not verify_signature(BODY, forged, [SECRET])


def test_during_a_rotation_either_secret_verifies() -> None:
    header = signature_header(BODY, [OTHER, SECRET], int(time.time()))
    assert header.count("v1=") == 2
    assert verify_signature(BODY, header, [SECRET])
    assert verify_signature(BODY, header, [OTHER])


def test_malformed_headers_fail() -> None:
    now = int(time.time())
    for header in ("", "v1=abc", f"t={now}", f"t=soon,v1={'0' * 64}", "garbage"):
        assert not verify_signature(BODY, header, [SECRET]), header


def test_importable_without_boto3() -> None:
    probe = "import sys, mediatasks.contract.webhooks; print('boto3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_retries_double_from_about_a_second_up_to_an_hour_for_at_least_a_day() -> None:
    policy, start = RetryPolicy(), 0
    waits = [policy.next_wait(attempt, start, start, lambda: 0.5) for attempt in range(1, 15)]
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert waits[-1] == 3600
    jittered = {policy.next_wait(4, start, start, lambda d=draw: d) for draw in (0.0, 0.5, 0.999)}
    assert jittered == {6, 8, 10}  # 8 s, give or take a fifth
    day = 24 * 3600 * 1000
    assert policy.next_wait(30, start, start + day - 1, lambda: 0.5) == 3600
    assert 2880 <= (policy.next_wait(30, start, start + day - 1) or 0) <= 3600  # jittered below the cap
    assert policy.next_wait(30, start, start + day) is None
