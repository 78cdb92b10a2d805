"""The Python client against an API answered by httpx's mock transport: paging, retries, errors,
waiting with progress, and what it imports."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from mediatasks.client import ApiError, ApiUnreachable, Client, WaitTimedOut
from mediatasks.contract.latest import TaskView

BASE = "http://api.test/prod"


def task_body(
    task_id: str, status: str = "processing", progress: int | None = 50, step: str = "probe"
) -> dict[str, Any]:
    return {
        "id": task_id,
        "object": "task",
        "kind": "video",
        "input": "https://example.com/a.mp4",
        "options": {},
        "output": None,
        "metadata": {},
        "status": status,
        "progress": progress,
        "error": None,
        "steps": [
            {
                "id": f"{task_id}_{step}",
                "kind": step,
                "status": "processing" if status == "processing" else "succeeded",
                "created_at": 1,
                "updated_at": 1,
            }
        ],
        "inputs": [],
        "outputs": [],
        "run_id": f"run_{task_id}",
        "created_at": 1,
        "started_at": 1,
        "finished_at": None,
        "updated_at": 1,
    }


def page_body(tasks: list[dict[str, Any]], page: int, pages: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": tasks,
        "total": pages * len(tasks),
        "page": page,
        "pages": pages,
        "limit": len(tasks),
        "links": {
            "self": f"/tasks?page={page}",
            "next": f"/tasks?cursor=c{page + 1}" if page < pages else None,
            "prev": f"/tasks?cursor=c{page - 1}" if page > 1 else None,
        },
    }


def client_of(answer: Any, sleeps: list[float] | None = None) -> Client:
    return Client(
        BASE,
        "mtk_test",
        transport=httpx.MockTransport(answer),
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
    )


def test_list_walks_every_page_by_its_next_link() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        assert request.headers["Authorization"] == "Bearer mtk_test"
        cursor = request.url.params.get("cursor")
        page = int(cursor[1:]) if cursor else 1
        return httpx.Response(200, json=page_body([task_body(f"task_{page}_{i}") for i in range(2)], page, 5))

    tasks = list(client_of(answer).list(status="succeeded"))
    assert [task.id for task in tasks] == [f"task_{page}_{i}" for page in range(1, 6) for i in range(2)]
    assert all(isinstance(task, TaskView) for task in tasks)
    assert seen[0] == f"{BASE}/tasks?status=succeeded"  # the stage path is kept on every page
    assert seen[1:] == [f"{BASE}/tasks?cursor=c{page}" for page in range(2, 6)]


def test_rate_limited_calls_wait_for_retry_after_then_succeed() -> None:
    answers = iter(
        [
            httpx.Response(
                429, headers={"Retry-After": "3"}, json={"kind": "rate_limited", "message": "slow"}
            ),
            httpx.Response(503, json={"kind": "internal_error", "message": "later"}),
            httpx.Response(200, json=task_body("task_a")),
        ]
    )
    sleeps: list[float] = []
    task = client_of(lambda request: next(answers), sleeps).get("task_a")
    assert task.id == "task_a"
    assert sleeps == [3.0, 1.0]  # Retry-After, then the second backoff step


def test_errors_carry_the_api_kind_status_and_field() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"kind": "invalid_option", "message": "width must be even", "field": "options.width"}
        return httpx.Response(400, json=body)

    with pytest.raises(ApiError) as raised:
        client_of(answer).create({"kind": "video", "input": "https://example.com/a.mp4"})
    assert (raised.value.status, raised.value.kind, raised.value.field) == (
        400,
        "invalid_option",
        "options.width",
    )


def test_a_server_that_keeps_failing_ends_in_its_error_after_the_retries() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500, json={"kind": "internal_error", "message": "broken"})

    sleeps: list[float] = []
    with pytest.raises(ApiError) as raised:
        client_of(answer, sleeps).get("task_a")
    assert raised.value.kind == "internal_error"
    assert len(calls) == 6
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_no_answer_is_api_unreachable() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ApiUnreachable, match="cannot reach the API"):
        client_of(answer).get("task_a")


def test_wait_reports_each_change_of_status_step_and_progress() -> None:
    states = iter(
        [
            task_body("task_w", "validating", 0, "probe"),
            task_body("task_w", "validating", 0, "probe"),
            task_body("task_w", "processing", 40, "video"),
            task_body("task_w", "processing", 80, "video"),
            task_body("task_w", "succeeded", 100, "upload"),
        ]
    )
    seen: list[tuple[str, int | None]] = []
    task = client_of(lambda request: httpx.Response(200, json=next(states))).wait(
        "task_w", on_progress=lambda t: seen.append((t.status.value, t.progress))
    )
    assert task.status.value == "succeeded"
    assert seen == [("validating", 0), ("processing", 40), ("processing", 80), ("succeeded", 100)]


def test_wait_gives_up_after_its_timeout() -> None:
    client = client_of(lambda request: httpx.Response(200, json=task_body("task_slow")))
    with pytest.raises(WaitTimedOut):
        client.wait("task_slow", timeout=0, poll_seconds=0)


def test_the_client_imports_nothing_heavy() -> None:
    heavy = ("boto3", "botocore", "moto", "aws_cdk", "PIL", "aws_lambda_powertools")
    script = (
        "import sys, json; from mediatasks.client import Client; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
