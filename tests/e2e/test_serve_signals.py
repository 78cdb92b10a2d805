"""`mediatasks serve` stops cleanly on SIGINT even when started as a background job, which inherits
SIGINT ignored (what `make serve &` in a script does)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from mediatasks.local.cloud import free_port


def test_sigint_stops_a_server_that_inherited_it_ignored() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mediatasks.cli", "serve", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "press Ctrl-C" not in process.stdout.readline():
        pass
    process.send_signal(signal.SIGINT)
    try:
        # serve bounds its own stop (a stuck one prints every thread's stack and exits 1)
        code = process.wait(timeout=60)
        assert code == 0, process.stdout.read()[-4000:]
    finally:
        process.kill()
