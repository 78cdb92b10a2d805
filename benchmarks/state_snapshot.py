"""What `mediatasks serve --state-dir` costs: a snapshot's time for N tasks and M MB of stored
objects, and a restart's, each against the empty stack's in the same run.

In this process: a local stack on a state dir is filled with TASKS ended tasks (default 500, with
their listing counters) and MEGABYTES 1 MB objects (default 50), then snapshotted three times: once
whole, once unchanged (nothing copied, nothing written) and once after one more task (the tables
again, no body copied). Then `mediatasks serve` is started on an empty dir and on that dir, and the
time until it accepts requests is compared (the restore, and the restart's look at every unfinished
task).

    .venv/bin/python -m benchmarks.state_snapshot [--tasks 500] [--megabytes 50]   (from the repository root)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import boto3

from mediatasks import constants as c
from mediatasks.adapters.store import TaskStore
from mediatasks.domain.tasks import Task, TaskErrorInfo
from mediatasks.kinds.registry import kind_of
from mediatasks.local.cloud import free_port
from mediatasks.local.stack import LocalStack
from mediatasks.local.state_dir import SnapshotFigures, StateDir
from tests.local_product import serving


def _add_ended_task(store: TaskStore) -> None:
    task = Task.create(
        project_id="prj_bench",
        kind="video",
        steps=kind_of("video").steps,
        input_url="https://example.com/input.mp4",
        options={},
        destination=None,
        metadata={"batch": "state-snapshot"},
    )
    store.create(task)
    store.fail(task.id, TaskErrorInfo(kind="input_unreachable", message="benchmark"), None)


def _on_disk(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _describe(figures: SnapshotFigures) -> str:
    copied = figures.copied_bytes / 1024**2
    written = "written" if figures.written else "unchanged, not written"
    counts = f"{figures.items} items, {figures.objects} objects"
    return f"{figures.seconds:.2f} s, {counts}, {copied:.1f} MB copied, {written}"


def _ready_seconds(state: Path) -> float:
    """From `mediatasks serve --state-dir state` started to its API accepting requests."""
    started = time.monotonic()
    with serving(state.parent, ["--state-dir", str(state)]):
        return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediatasks-state-bench-") as folder:
        state_path = Path(folder) / "state"
        state = StateDir(state_path, snapshot_seconds=3600)  # snapshots taken here only
        stack = LocalStack(port=free_port(), state=state)
        stack.start()
        try:
            empty = state.snapshot()
            store = TaskStore(os.environ[c.ENV_TASKS_TABLE])
            filling = time.monotonic()
            for _ in range(args.tasks):
                _add_ended_task(store)
            s3 = boto3.client("s3")
            for number in range(args.megabytes):
                s3.put_object(
                    Bucket=os.environ[c.ENV_MEDIA_BUCKET], Key=f"bench/{number}", Body=os.urandom(1024**2)
                )
            filled_in = time.monotonic() - filling
            whole = state.snapshot()
            unchanged = state.snapshot()
            _add_ended_task(store)
            one_more = state.snapshot()
        finally:
            stack.stop()
        disk = _on_disk(state_path) / 1024**2
        empty_dir_start = _ready_seconds(Path(folder) / "empty")
        this_dir_start = _ready_seconds(state_path)
    print(
        f"state dir snapshot, {args.tasks} ended tasks and {args.megabytes} MB of objects "
        f"(filled in {filled_in:.1f} s)"
    )
    print(f"  empty stack (baseline):  {_describe(empty)}")
    print(f"  whole:                   {_describe(whole)}")
    print(f"  unchanged:               {_describe(unchanged)}")
    print(f"  after one more task:     {_describe(one_more)}")
    print(f"  on disk:                 {disk:.1f} MB")
    print(
        f"serve ready: empty dir {empty_dir_start:.1f} s, this dir {this_dir_start:.1f} s "
        f"(restore {this_dir_start - empty_dir_start:+.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
