"""The product as users run it: `mediatasks serve` in its own process, driven over HTTP.
Its `api` fixture is registered in tests/conftest.py (as a plugin)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from mediatasks.domain.tasks import TERMINAL_STATUSES
from mediatasks.local.cloud import free_port
from tests.support.contract import check_response
from tests.support.waiting import wait_until

STARTUP_SECONDS = 120
STOP_SECONDS = 30
DESTINATION_BUCKET = "customer-destination"
TASK_SECONDS = 120
RATE_LIMIT_RETRIES = 10


@dataclass
class Api:
    url: str
    emulator_url: str
    key: str
    # the server's temporary folder (its TMPDIR): each step's scratch space is made under it
    temporary: Path
    # the development project's webhook signing secret, as serve printed it
    webhook_secret: str = ""
    seen_statuses: dict[str, list[str]] = field(default_factory=dict)
    # the serve process, for a test that stops it itself (then serving leaves it be)
    process: subprocess.Popen[str] | None = None

    def as_project(self, key: str) -> Api:
        return Api(self.url, self.emulator_url, key, self.temporary)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """One call, retried as a well-behaved client does when its key's rate limit answers 429."""
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=sent | (headers or {})
        )
        for _ in range(RATE_LIMIT_RETRIES):
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, reply = response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                if error.code == 429:
                    time.sleep(float(error.headers.get("Retry-After") or 1))
                    continue
                status, reply = error.code, json.loads(error.read())
            if not any(name.lower() in ("accept-version", "accept_version") for name in headers or {}):
                check_response(method, path, status, reply)  # the latest contract is the documented one
            return status, reply
        raise AssertionError(f"{method} {path} was rate limited {RATE_LIMIT_RETRIES} times in a row")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        status, task = self.request("POST", "/tasks", body)
        assert status == 201, task
        return task

    def wait(self, task_id: str) -> dict[str, Any]:
        """Polls until the task is terminal, remembering each status it was seen in."""
        seen = self.seen_statuses.setdefault(task_id, [])

        def ended() -> dict[str, Any] | None:
            status, task = self.request("GET", f"/tasks/{task_id}")
            assert status == 200, task
            if not seen or seen[-1] != task["status"]:
                seen.append(task["status"])
            return task if task["status"] in TERMINAL_STATUSES else None

        return wait_until(ended, TASK_SECONDS, lambda: f"task {task_id} to end (statuses seen: {seen})")

    def run(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.wait(self.create(body)["id"])

    def log_of(self, task_id: str) -> str:
        """What the server logged about the task (its steps' warnings and errors), to say why a
        task ended as it did when a test did not expect it."""
        log = self.temporary / "serve.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        return "\n".join(line for line in lines if task_id in line) or f"serve logged nothing about {task_id}"

    def scratch_of(self, task_id: str) -> list[Path]:
        """The scratch folders a step of the task has open (removed when the step ends)."""
        work_folders = list(self.temporary.glob("mediatasks-work-*"))
        assert work_folders, f"the local stack keeps no work folder under {self.temporary}"
        return [scratch for folder in work_folders for scratch in folder.glob(f"{task_id}-*")]


def emulator(api: Api, service: str) -> Any:
    """A boto3 client of the running stack's AWS emulation (which takes any credentials)."""
    return boto3.client(
        service,
        endpoint_url=api.emulator_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def new_project(api: Api, project: str) -> tuple[str, str | None]:
    """`mediatasks keys create` against the running stack's emulator, as a user would: the key,
    and the project's webhook signing secret when this key made the project."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mediatasks.cli",
            "keys",
            "create",
            "--project",
            project,
            "--endpoint-url",
            api.emulator_url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    secret = re.search(r"webhook signing secret: (\S+)", result.stderr)
    return result.stdout.strip(), secret.group(1) if secret else None


def new_key(api: Api, project: str) -> str:
    return new_project(api, project)[0]


@contextmanager
def serving(
    temporary: Path, arguments: list[str], environment: dict[str, str] | None = None
) -> Iterator[Api]:
    """`mediatasks serve` with loopback inputs allowed and `arguments`, in its own process."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mediatasks.cli",
            "serve",
            "--port",
            str(port),
            "--allow-local-inputs",
            *arguments,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"TMPDIR": str(temporary)} | (environment or {}),
    )
    assert process.stdout is not None
    output: list[str] = []
    api_url = emulator_url = key = secret = None
    deadline = time.monotonic() + STARTUP_SECONDS
    while (
        time.monotonic() < deadline
        and process.poll() is None
        and not (api_url and emulator_url and key and secret)
    ):
        line = process.stdout.readline()
        output.append(line)
        if match := re.search(r"API key \(project 'dev'\): (\S+)", line):
            key = match.group(1)
        if match := re.search(r"signing secret \(project 'dev'\) as before, in (\S+)", line):
            kept = json.loads(Path(match.group(1)).read_text())  # a restart on a --state-dir
            key, secret = kept["api_key"], kept["webhook_secret"]
        if match := re.search(r"webhook signing secret \(project 'dev'\): (\S+)", line):
            secret = match.group(1)
        if match := re.search(r"AWS emulation \(moto\) on (\S+)", line):
            emulator_url = match.group(1)
        if match := re.search(r"API listening on (\S+)", line):
            api_url = match.group(1)
    if not (api_url and emulator_url and key and secret):
        process.kill()
        raise AssertionError("mediatasks serve did not start:\n" + "".join(output))
    # keep draining its output so the server never blocks on a full pipe; the tail tells why if it
    # does not stop
    tail: deque[str] = deque(output, maxlen=200)
    threading.Thread(target=_drain, args=(process, tail, temporary / "serve.log"), daemon=True).start()
    try:
        yield Api(api_url, emulator_url, key, temporary, secret, process=process)
    finally:
        if process.poll() is None:  # else the test stopped it itself (and checked how)
            _stop(process, tail)


def _drain(process: subprocess.Popen[str], tail: deque[str], log: Path) -> None:
    """Keeps the server's whole output in `log` (the first place to look when a test saw a 500)
    and its last lines in `tail`."""
    with log.open("a") as kept:
        for line in process.stdout or ():
            tail.append(line)
            kept.write(line)
            kept.flush()


def _stop(process: subprocess.Popen[str], tail: deque[str]) -> None:
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends: the stack must stop cleanly
    try:
        assert process.wait(timeout=STOP_SECONDS) == 0, "".join(tail)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"serve did not stop in {STOP_SECONDS}s:\n" + "".join(tail)) from None


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with serving(tmp_path_factory.mktemp("serve-tmp"), ["--output-bucket", DESTINATION_BUCKET]) as product:
        yield product
