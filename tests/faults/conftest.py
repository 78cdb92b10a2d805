"""The fault-injection suite's running product: one `mediatasks serve` with a fault plan file that
each test rewrites (mediatasks/local/faults.py reads it again when it changes), the sweep every
two seconds, and helpers to see what a fault left behind (work files, ffmpeg processes)."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mediatasks.constants import WORK_PREFIX
from mediatasks.local.faults import ENV_FAULTS
from tests.local_product import Api, emulator, serving

MEDIA_BUCKET = "mediatasks-media"
SWEEP_SECONDS = 2


@dataclass
class Faults:
    """The running product and its fault plan file."""

    api: Api
    plan_file: Path
    _generation: int = 0

    def plan(self, plan: dict[str, Any]) -> None:
        """The faults to inject from now on (counts start again)."""
        self._generation += 1
        self.log_file.unlink(missing_ok=True)
        self.plan_file.write_text(json.dumps({"generation": self._generation, **plan}))

    @property
    def log_file(self) -> Path:
        return self.plan_file.with_name(self.plan_file.name + ".log")

    def injected(self) -> list[str]:
        """The faults injected since the plan was written, one line each."""
        return self.log_file.read_text().splitlines() if self.log_file.exists() else []


@pytest.fixture(scope="session")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    folder = tmp_path_factory.mktemp("faults")
    plan_file = folder / "plan.json"
    plan_file.write_text("{}")
    (folder / "tmp").mkdir()
    arguments = ["--sweep-seconds", str(SWEEP_SECONDS)]
    with serving(folder / "tmp", arguments, {ENV_FAULTS: str(plan_file)}) as api:
        yield Faults(api, plan_file)


@pytest.fixture
def faults(product: Faults) -> Iterator[Faults]:
    """The product with no fault planned; whatever a test plans ends with it."""
    product.plan({})
    yield product
    product.plan({})


def work_keys(api: Api, task_id: str) -> list[str]:
    """The objects left under the task's work prefix."""
    listing = emulator(api, "s3").list_objects_v2(Bucket=MEDIA_BUCKET, Prefix=f"{WORK_PREFIX}{task_id}/")
    return [item["Key"] for item in listing.get("Contents", [])]


def ffmpeg_processes(task_id: str) -> list[int]:
    """The ffmpeg processes working on the task's files (their argv names its scratch folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # it ended meanwhile
        if Path(argv[0].decode(errors="replace")).name.startswith("ffmpeg") and any(
            f"{task_id}-".encode() in part for part in argv[1:]
        ):
            found.append(int(entry.name))
    return found


@dataclass
class FfmpegKiller:
    """Kills the task's ffmpeg processes as they appear (at most `limit`), from another thread."""

    task_id: str
    limit: int | None = None
    killed: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> FfmpegKiller:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set() and (self.limit is None or len(self.killed) < self.limit):
            for pid in ffmpeg_processes(self.task_id):
                if pid not in self.killed:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    self.killed.append(pid)
            self._stop.wait(0.01)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
