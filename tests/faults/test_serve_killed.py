"""`mediatasks serve` ended mid-encode (SIGTERM, then SIGKILL when it is slow to go): its ffmpeg
dies with it, and the next serve on the same machine removes the scratch space it left."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.faults.conftest import ffmpeg_processes
from tests.local_product import serving
from tests.support.media import MakeClip
from tests.support.servers import FileServer
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
# How long serve gets to stop on SIGTERM before it is killed.
TERM_SECONDS = 2


def test_a_killed_serve_leaves_no_ffmpeg_and_no_scratch(
    tmp_path: Path, make_clip: MakeClip, file_server: FileServer
) -> None:
    make_clip("faults-slow.mp4", size="1280x720", seconds=4)
    slow = {"kind": "video", "input": file_server.url_of("faults-slow.mp4"), "options": {"codec": "h265"}}
    with serving(tmp_path, []) as api:
        assert api.process is not None
        task = api.create(slow)
        running = wait_until(lambda: ffmpeg_processes(task["id"]), 60, "the task's ffmpeg to run", every=0.05)
        assert api.scratch_of(task["id"])
        api.process.send_signal(signal.SIGTERM)
        try:
            api.process.wait(timeout=TERM_SECONDS)
        except subprocess.TimeoutExpired:
            api.process.kill()
            api.process.wait()
        # the kernel kills ffmpeg as its parent thread ends (PR_SET_PDEATHSIG)
        wait_until(lambda: not ffmpeg_processes(task["id"]), 5, f"ffmpeg {running} to die with serve")
    with serving(tmp_path, []) as again:
        assert again.scratch_of(task["id"]) == []
