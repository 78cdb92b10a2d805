"""How much the pipeline adds to the encode it wraps.

For a generated 1080p clip (default 30 s), times one video task end to end on the local stack
(the task's created_at -> finished_at) against the bare ffmpeg command that produces the same
output, in the same run. Target: task / bare <= 1.10. Tasks are polled through the project's client
as any caller would (every 0.5 s, waiting out a 429's Retry-After). Also prints the API handler's
warm time per create, the AWS calls one create makes and the cold import time of its module.

    .venv/bin/python -m benchmarks.pipeline_overhead [--seconds 30] [--repeat 1]   (from the repository root)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from mediatasks.adapters import ffmpeg
from mediatasks.client import Client
from mediatasks.contract.latest import TaskView
from mediatasks.domain.ffmpeg_args import Limits, ffprobe_args
from mediatasks.domain.keys import new_api_key
from mediatasks.domain.media import parse_ffprobe
from mediatasks.kinds.video import VideoOptions, video_encode_args
from mediatasks.local.cloud import LocalLambdaContext, free_port
from mediatasks.local.http_api import proxy_event
from mediatasks.local.stack import DEVELOPMENT_PROJECT, LocalStack
from tests.support.media import make_media
from tests.support.servers import serve_directory

OPTIONS = {"width": 1280, "height": 720, "format": "mp4", "quality": "medium"}
TARGET_RATIO = 1.10
POLL_SECONDS = 0.5


def bare_ffmpeg(clip: Path, out: Path) -> float:
    """The same argv the encode step runs, on the same file, with nothing around it."""
    binaries = ffmpeg.binaries()
    media = parse_ffprobe(ffmpeg.probe(ffprobe_args(binaries.ffprobe, str(clip)), 60))
    argv = video_encode_args(
        binaries.ffmpeg, VideoOptions.model_validate(OPTIONS), media, str(clip), str(out), Limits(5 * 1024**3)
    )
    started = time.perf_counter()
    ffmpeg.run(argv, 3600)
    return time.perf_counter() - started


API_KEY = new_api_key()


def wait_until_ended(client: Client, task_id: str) -> TaskView:
    # Polling many times a second would take CPU from ffmpeg on a small machine.
    return client.wait(task_id, poll_seconds=POLL_SECONDS)


def task_end_to_end(client: Client, input_url: str) -> tuple[float, dict[str, float]]:
    """Seconds from the task's creation to its success by the task's own clock (no polling
    granularity), and each step's own seconds."""
    task = client.create({"kind": "video", "input": input_url, "options": OPTIONS})
    task = wait_until_ended(client, task.id)
    if task.status != "succeeded" or task.finished_at is None:
        raise SystemExit(f"the task did not succeed: {task.error}")
    elapsed = (task.finished_at - task.created_at) / 1000
    steps = {step.kind: ((step.finished_at or 0) - (step.started_at or 0)) / 1000 for step in task.steps}
    steps["between steps"] = elapsed - sum(steps.values())
    return elapsed, steps


@contextmanager
def counting_aws_calls() -> Iterator[Counter[str]]:
    """Every AWS API call this thread makes meanwhile (not the emulator's nor the executions'), by
    service and operation."""
    counted: Counter[str] = Counter()
    original = BaseClient._make_api_call
    caller = threading.get_ident()

    def counting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if threading.get_ident() == caller:
            counted[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def warm_create_ms(client: Client, creates: int) -> tuple[float, Counter[str]]:
    """The API handler called in-process (as Lambda would, warm) to create tasks: median ms, and
    the AWS calls made per create (after the first, which also sets up clients)."""
    from mediatasks.handlers.api import handler

    # an input on a closed loopback port: the executions fail fast and cost nothing afterwards
    body = json.dumps({"kind": "video", "input": f"http://127.0.0.1:{free_port()}/x.mp4"}).encode()
    context = LocalLambdaContext(function_name="ApiFunction", memory_limit_in_mb=512, timeout_seconds=29)
    timings, task_ids = [], []
    calls: Counter[str] = Counter()
    for number in range(creates):
        event = proxy_event("POST", "/tasks", {"Content-Type": "application/json"}, body, "127.0.0.1")
        event["requestContext"]["authorizer"] = {"project_id": DEVELOPMENT_PROJECT}  # as the authorizer would
        with counting_aws_calls() as counted:
            started = time.perf_counter()
            reply = handler(event, context)
            timings.append((time.perf_counter() - started) * 1000)
        if number > 0:
            calls.update(counted)
        if reply["statusCode"] != 201:
            raise SystemExit(f"create failed: {reply['body']}")
        task_ids.append(json.loads(reply["body"])["id"])
    for task_id in task_ids:  # they fail fast; let them end before the stack stops
        wait_until_ended(client, task_id)
    per_create = Counter({name: count // (creates - 1) for name, count in calls.items()})
    return statistics.median(timings[1:]), per_create


def cold_import_ms(runs: int = 3) -> float:
    code = (
        "import time; t = time.perf_counter(); import mediatasks.handlers.api; print(time.perf_counter() - t)"
    )
    return (
        min(
            float(
                subprocess.run(
                    [sys.executable, "-c", code], check=True, capture_output=True, text=True
                ).stdout
            )
            for _ in range(runs)
        )
        * 1000
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--creates", type=int, default=50, help="at least 2: the first is not timed")
    args = parser.parse_args()
    if args.creates < 2:
        parser.error("--creates must be at least 2")
    with tempfile.TemporaryDirectory(prefix="mediatasks-bench-") as folder:
        root = Path(folder)
        clip = root / "clip-1080p.mp4"
        print(f"generating a {args.seconds} s 1920x1080 30 fps clip ...", flush=True)
        make_media(clip, size="1920x1080", seconds=args.seconds, fps=30)
        with serve_directory(root) as server:
            input_url = server.url_of(clip.name)
            print("starting the local stack ...", flush=True)
            with (
                LocalStack(port=free_port(), allow_local_inputs=True, api_key=API_KEY) as stack,
                Client(stack.url, API_KEY) as client,
            ):
                bare, task, steps = [], [], []
                for run in range(args.repeat):
                    bare.append(bare_ffmpeg(clip, root / f"bare-{run}.mp4"))
                    elapsed, step_seconds = task_end_to_end(client, input_url)
                    task.append(elapsed)
                    steps.append(step_seconds)
                warm, calls = warm_create_ms(client, args.creates)
    bare_s, task_s = statistics.median(bare), statistics.median(task)
    ratio = task_s / bare_s
    print(f"\nvideo task {OPTIONS} on a {args.seconds} s 1080p clip (median of {args.repeat}):")
    print(f"  bare ffmpeg (same argv):     {bare_s:8.2f} s")
    print(f"  task end to end (local):     {task_s:8.2f} s")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"  ratio task / bare:           {ratio:8.3f}   (target <= {TARGET_RATIO:.2f}: {verdict})")
    print(f"  pipeline overhead:           {task_s - bare_s:8.2f} s")
    for name in steps[0]:
        share = statistics.median(s[name] for s in steps)
        print(f"    {name + ':':27s}{share:8.2f} s  {100 * share / task_s:5.1f} %")
    print(f"API create, warm (median of {args.creates - 1}): {warm:6.2f} ms")
    by_operation = ", ".join(f"{count} {name}" for name, count in sorted(calls.items()))
    print(f"AWS calls per create: {sum(calls.values())} ({by_operation})")
    print(f"API handler module, cold import:   {cold_import_ms():6.1f} ms")


if __name__ == "__main__":
    main()
