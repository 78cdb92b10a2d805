"""Task creates under load, and what must hold afterwards.

Against the local stack (loopback only), CREATES task creates (default 200) from CLIENTS concurrent
clients (default 20), each its own connection, spread over two projects, the second capped at
CAPPED_AT running tasks (the first is not capped); one create in four is bad input. A client
answered 429 waits the Retry-After it was given and tries again (bounded). Prints creates/s, p50/p99
create latency, how many 429s (and whether each had Retry-After), the emulator process's memory
before and after, and how long the capped project's tasks waited, queued, between their probe and
their next step; then checks the invariants: every accepted task reaches a terminal status within
the time bound, no task is lost or made twice (counted by id, and by each project's listing total),
the capped project never ran more than CAPPED_AT tasks at once (from its tasks' step times: from the
first step after the probe starting to the task's end), bad input got a 4xx with a specific kind,
nothing got a 5xx. Exits 1 when an invariant does not hold.

    .venv/bin/python -m benchmarks.load [--creates 200] [--clients 20]   (from the repository root)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediatasks import constants as c
from mediatasks.adapters.keys import KeyStore
from mediatasks.domain.slots import RunningCaps
from mediatasks.domain.tasks import TERMINAL_STATUSES
from mediatasks.local.cloud import free_port
from mediatasks.local.stack import LocalStack
from tests.support.media import make_media
from tests.support.servers import serve_directory

OTHER_PROJECT = "prj_load"
# the other project's cap on running tasks (the development project runs uncapped)
CAPPED_AT = 2
# At most this many 429s in a row for one create before the client gives up (and the run fails).
MAX_THROTTLED = 30
TASKS_END_SECONDS = 600


@dataclass(frozen=True)
class Answer:
    key: str
    bad: bool
    status: int
    body: dict[str, Any]
    seconds: float
    throttled: int
    throttled_without_wait: int


def request(
    url: str, key: str, method: str, body: dict[str, Any] | None = None
) -> tuple[int, Any, str | None]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    sent = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(sent, timeout=60) as response:
            return int(response.status), json.loads(response.read()), None
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read() or b"{}"), error.headers.get("Retry-After")
    except OSError as error:  # no answer (refused, reset, timed out): status 0, an invariant broken
        return 0, {"error": repr(error)}, None


def read(url: str, key: str) -> tuple[int, Any]:
    """A GET, again after the Retry-After of each 429."""
    for _ in range(MAX_THROTTLED):
        status, reply, retry_after = request(url, key, "GET")
        if status != 429:
            return status, reply
        time.sleep(float(retry_after or 1))
    return status, reply


def create(url: str, key: str, body: dict[str, Any], bad: bool) -> Answer:
    throttled = without_wait = 0
    started = time.perf_counter()
    while True:
        status, reply, retry_after = request(url + "/tasks", key, "POST", body)
        if status != 429 or throttled >= MAX_THROTTLED:
            return Answer(key, bad, status, reply, time.perf_counter() - started, throttled, without_wait)
        throttled += 1
        if retry_after is None:
            without_wait += 1
        time.sleep(float(retry_after or 1))


def bodies(count: int, clip_url: str) -> list[tuple[dict[str, Any], bool]]:
    """Three valid creates in four (mostly probes, every fifth a small video), one bad input. The
    creates alternate between the projects, so each gets half the videos."""
    made: list[tuple[dict[str, Any], bool]] = []
    for index in range(count):
        if index % 4 == 3:
            bad = {"kind": "video", "input": clip_url, "options": {"width": -5}}
            made.append((bad if index % 8 == 3 else {"kind": "no_such_kind", "input": clip_url}, True))
        elif index % 5 == 0:
            made.append(({"kind": "video", "input": clip_url, "options": {"width": 96}}, False))
        else:
            made.append(({"kind": "probe", "input": clip_url}, False))
    return made


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--creates", type=int, default=200)
    arguments.add_argument("--clients", type=int, default=20)
    options = arguments.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_media(root / "clip.mp4", size="160x120", seconds=1)
        caps = RunningCaps(default=0, projects={OTHER_PROJECT: CAPPED_AT})
        with (
            serve_directory(root) as server,
            LocalStack(port=free_port(), allow_local_inputs=True, running_caps=caps) as stack,
        ):
            other_key = KeyStore(os.environ[c.ENV_KEYS_TABLE]).create(OTHER_PROJECT)
            keys = [stack.api_key, other_key]
            work = [
                (keys[index % 2], body, bad)
                for index, (body, bad) in enumerate(bodies(options.creates, server.url_of("clip.mp4")))
            ]
            memory_before = resident_mb()
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=options.clients) as pool:
                answers = list(pool.map(lambda item: create(stack.url, *item), work))
            elapsed = time.perf_counter() - started
            return report(stack.url, keys, answers, elapsed, memory_before)


def report(url: str, keys: list[str], answers: list[Answer], elapsed: float, memory_before: float) -> int:
    latencies = [answer.seconds for answer in answers]
    print(f"creates: {len(answers)} in {elapsed:.1f} s = {len(answers) / elapsed:.1f} creates/s")
    print(
        f"create latency (with 429 waits): p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
    )
    throttled = sum(answer.throttled for answer in answers)
    without_wait = sum(answer.throttled_without_wait for answer in answers)
    print(f"429s: {throttled} ({without_wait} without Retry-After)")
    print(f"answers: {dict(Counter(answer.status for answer in answers))}")
    broken: list[str] = []
    if without_wait:
        broken.append(f"{without_wait} 429s had no Retry-After")
    if any(answer.status >= 500 or answer.status == 0 for answer in answers):
        broken.append("a create got a 5xx or no answer")
    for answer in answers:
        if answer.bad and not (400 <= answer.status < 500 and answer.body.get("kind")):
            broken.append(f"bad input got {answer.status} {answer.body}")
        if not answer.bad and answer.status != 201:
            broken.append(f"a valid create got {answer.status} {answer.body}")
    accepted = [answer for answer in answers if answer.status == 201]
    ids = [answer.body["id"] for answer in accepted]
    if len(set(ids)) != len(ids):
        broken.append("a task id was answered twice")
    ended_started = time.perf_counter()
    unfinished = set(ids)
    by_id = {answer.body["id"]: answer.key for answer in accepted}
    ended: dict[str, dict[str, Any]] = {}
    while unfinished and time.perf_counter() - ended_started < TASKS_END_SECONDS:
        for task_id in sorted(unfinished):
            status, task = read(url + f"/tasks/{task_id}", by_id[task_id])
            if status == 200 and task["status"] in TERMINAL_STATUSES:
                unfinished.discard(task_id)
                ended[task_id] = task
        if unfinished:
            time.sleep(1)
    waited = time.perf_counter() - ended_started
    print(f"all accepted tasks terminal after {waited:.1f} s more: {not unfinished}")
    if unfinished:
        broken.append(f"{len(unfinished)} tasks not terminal after {TASKS_END_SECONDS} s")
    for key in keys:
        status, listing = read(url + "/tasks?limit=1", key)
        made = sum(1 for answer in accepted if answer.key == key)
        if listing.get("total") != made:
            broken.append(f"a project lists {listing.get('total')} tasks, {made} were accepted")
    capped = [task for task_id, task in ended.items() if by_id[task_id] == keys[1]]
    most = most_running(capped)
    print(f"capped project: at most {most} of its tasks running at once (cap {CAPPED_AT})")
    waits = queued_seconds(capped)
    if waits:
        print(f"capped project's queued time: p50 {statistics.median(waits):.1f} s, max {max(waits):.1f} s")
    if most > CAPPED_AT:
        broken.append(f"the capped project ran {most} tasks at once")
    print(f"memory of the stack's process: {memory_before:.0f} MB before, {resident_mb():.0f} MB after")
    for problem in broken:
        print(f"INVARIANT BROKEN: {problem}")
    print("invariants: " + ("hold" if not broken else f"{len(broken)} broken"))
    return 1 if broken else 0


def running_span(task: dict[str, Any]) -> tuple[int, int] | None:
    """When the task ran past its validation: its first step after the probe starting, to its end
    (within the time it held its slot); None for a task that ended before that."""
    steps = sorted(task["steps"], key=lambda step: step["id"])
    after_probe = [step for step in steps[2:] if step["started_at"] is not None]
    if not after_probe or task["finished_at"] is None:
        return None
    return int(after_probe[0]["started_at"]), int(task["finished_at"])


def most_running(tasks: list[dict[str, Any]]) -> int:
    """The most spans open at one time; a span ending at the instant another starts is closed first
    (a slot is handed on only after its task ended)."""
    events = sorted(
        (moment, change)
        for span in filter(None, map(running_span, tasks))
        for moment, change in ((span[0], 1), (span[1], -1))
    )
    most = running = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def queued_seconds(tasks: list[dict[str, Any]]) -> list[float]:
    """From each task's probe finishing to its next step starting."""
    waits = []
    for task in tasks:
        steps = sorted(task["steps"], key=lambda step: step["id"])
        span = running_span(task)
        if span is not None and steps[1]["finished_at"] is not None:
            waits.append((span[0] - int(steps[1]["finished_at"])) / 1000)
    return waits


if __name__ == "__main__":
    sys.exit(main())
