"""The vendor's Python SDK (ittybit 1.0.0), unchanged, against the local product.

The SDK builds its models without validating them, so a call that "works" proves little: every raw
response body is validated here with the SDK's own pydantic models."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from ittybit import Ittybit
from ittybit.core.api_error import ApiError
from ittybit.core.request_options import RequestOptions
from ittybit.tasks.types.tasks_create_response import TasksCreateResponse
from ittybit.tasks.types.tasks_get_response import TasksGetResponse
from ittybit.tasks.types.tasks_list_response_item import TasksListResponseItem
from ittybit.types.file import File as SdkFile

from tests.local_product import TASK_SECONDS, Api
from tests.support.media import MakeClip
from tests.support.servers import FileServer

SEED_002_STATUSES = {"pending", "waiting", "processing", "completed", "failed", "cancelled"}
TERMINAL = {"completed", "failed", "cancelled"}
POLL_SECONDS = 0.25
# The SDK retries 429s (honouring Retry-After) only when asked: max_retries N makes N - 2 retries.
RETRY_RATE_LIMITS: RequestOptions = {"max_retries": 6}


@dataclass
class Recorder:
    """Every response the SDK's HTTP client received, read, so its raw JSON can be validated."""

    responses: list[httpx.Response] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.responses.append(response)

    @property
    def last(self) -> httpx.Response:
        return self.responses[-1]


@dataclass
class Sdk:
    client: Ittybit
    recorder: Recorder

    def create(self, request: dict[str, Any]) -> dict[str, Any]:
        raw = self.client.tasks.with_raw_response.create(request=request, request_options=RETRY_RATE_LIMITS)
        response = self.recorder.last
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        TasksCreateResponse.model_validate(body)
        assert raw.data.id == body["id"]
        return body

    def get(self, task_id: str) -> dict[str, Any]:
        self.client.tasks.with_raw_response.get(task_id, request_options=RETRY_RATE_LIMITS)
        body: dict[str, Any] = self.recorder.last.json()
        TasksGetResponse.model_validate(body)
        return body

    def wait(self, task_id: str) -> tuple[dict[str, Any], list[str]]:
        """Polls with tasks.get until the task is terminal; returns it and the statuses seen."""
        seen: list[str] = []
        deadline = time.monotonic() + TASK_SECONDS
        while time.monotonic() < deadline:
            task = self.get(task_id)
            if not seen or seen[-1] != task["status"]:
                seen.append(task["status"])
            if task["status"] in TERMINAL:
                return task, seen
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"task {task_id} did not finish in {TASK_SECONDS}s; seen {seen}")

    def list(self, page: int, limit: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
        raw = self.client.tasks.with_raw_response.list(
            page=page, limit=limit, request_options=RETRY_RATE_LIMITS
        )
        body = self.recorder.last.json()
        assert isinstance(body, list), body
        for item in body:
            TasksListResponseItem.model_validate(item)
        return body, raw.headers


@pytest.fixture(scope="module")
def sdk(api: Api) -> Iterator[Sdk]:
    recorder = Recorder()
    with httpx.Client(event_hooks={"response": [recorder]}, timeout=30) as http:
        yield Sdk(
            Ittybit(base_url=api.url, api_key=api.key, version="2025-08-20", httpx_client=http), recorder
        )


@pytest.fixture(scope="module")
def clip_url(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("sdk.mp4", size="320x240", seconds=1)
    return file_server.url_of("sdk.mp4")


def assert_iso(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def test_create_with_options_get_until_done_and_list(sdk: Sdk, clip_url: str) -> None:
    created = sdk.create({"url": clip_url, "kind": "video", "options": {"width": 160}})
    sent = sdk.recorder.last.request.headers
    assert (sent["Accept-Version"], sent["ACCEPT_VERSION"]) == ("2025-08-20", "2025-08-20")
    assert created["status"] in ("pending", "waiting")
    assert created["input"]["object"] == "source"
    assert created["input"]["url"] == clip_url
    assert created["options"]["width"] == 160
    assert None not in created["options"].values()  # only the options that are set
    assert assert_iso(created["created"]) == assert_iso(created["updated"])

    done, seen = sdk.wait(created["id"])
    assert set(seen) <= SEED_002_STATUSES, seen
    assert done["status"] == "completed", done["error"]
    assert (done["error"], done["progress"]) == (None, 100)
    assert assert_iso(done["updated"]) > assert_iso(done["created"])
    output = SdkFile.model_validate(done["output"])
    assert (output.object, output.kind, output.status, output.width) == ("source", "video", "ready", 160)
    assert output.media_id == done["media_id"]
    assert output.media_id.startswith("med_")
    assert len(download(output.url)) == output.filesize

    tasks, headers = sdk.list(page=1, limit=5)
    assert 1 <= len(tasks) <= 5
    assert done["id"] in [task["id"] for task in tasks]  # newest first
    assert int(headers["x-total-count"]) >= len(tasks)
    assert (headers["x-page"], headers["x-per-page"]) == ("1", "5")


def test_failing_task_has_a_string_error(sdk: Sdk, file_server: FileServer) -> None:
    created = sdk.create({"url": file_server.url_of("no-such-file.mp4"), "kind": "video"})
    failed, seen = sdk.wait(created["id"])
    assert set(seen) <= SEED_002_STATUSES, seen
    assert failed["status"] == "failed"
    assert failed["error"] == "the input URL answered HTTP 404"
    assert failed["error_kind"] == "input_unreachable"
    assert failed["output"] is None


def test_list_pages_through_headers(sdk: Sdk, api: Api, clip_url: str) -> None:
    for _ in range(2):
        sdk.create({"url": clip_url, "kind": "audio"})
    first, headers = sdk.list(page=1, limit=1)
    assert int(headers["x-total-count"]) == int(headers["x-total-pages"]) >= 3
    assert 'rel="next"' in headers["link"]
    assert 'rel="prev"' not in headers["link"]
    second, headers = sdk.list(page=2, limit=1)
    assert second[0]["id"] != first[0]["id"]
    assert 'rel="next"' in headers["link"]
    assert 'rel="prev"' in headers["link"]
    # the Link targets are relative to the listing, so they resolve under any base path
    next_href = headers["link"].split(">", 1)[0].removeprefix("<")
    third = httpx.get(
        urljoin(str(sdk.recorder.last.request.url), next_href),
        headers={"Authorization": f"Bearer {api.key}", "Accept-Version": "2025-08-20"},
    )
    assert third.status_code == 200, third.text
    assert third.headers["x-page"] == "3"
    assert third.json()[0]["id"] not in (first[0]["id"], second[0]["id"])


def test_flat_form_of_seed_002(sdk: Sdk, clip_url: str) -> None:
    """Needs the request normalisation (options at the top level), which lands separately."""
    stored, _ = sdk.wait(sdk.create({"url": clip_url, "kind": "ingest"})["id"])
    assert stored["status"] == "completed", stored["error"]
    file_id = stored["output"]["id"]
    created = sdk.create(
        {"file_id": file_id, "kind": "image", "width": 320, "format": "png", "ref": "thumbnail"}
    )
    assert created["input"]["id"] == file_id
    assert created["options"].items() >= {"width": 320, "format": "png", "ref": "thumbnail"}.items()
    done, _ = sdk.wait(created["id"])
    assert done["status"] == "completed", done["error"]
    output = SdkFile.model_validate(done["output"])
    assert (output.kind, output.type, output.width, output.ref) == ("image", "image/png", 320, "thumbnail")


def test_errors_reach_the_sdk_as_the_spec_shape(sdk: Sdk) -> None:
    with pytest.raises(ApiError) as missing:
        sdk.client.tasks.get("task_doesnotexist1234")
    assert missing.value.status_code == 404
    assert missing.value.body["kind"] == "task_not_found"
    with pytest.raises(ApiError) as unknown:
        sdk.client.tasks.list(request_options={"additional_headers": {"Accept-Version": "2030-01-01"}})
    assert unknown.value.status_code == 400
    assert unknown.value.body["kind"] == "invalid_version"
    assert "2025-08-20" in unknown.value.body["message"]


def test_the_sdk_version_header_alone_selects_a_version(api: Api, clip_url: str) -> None:
    """The local API passes a header named with an underscore through, as API Gateway does."""
    ready = api.run({"url": clip_url, "kind": "audio"})
    assert ready["status"] == "succeeded", ready["error"]
    status, body = api.request("GET", "/tasks?limit=2", headers={"ACCEPT_VERSION": "2024-03-21"})
    assert (status, body["version"], body["type"], body["limit"]) == (200, "2024-03-21", "list", 2)
    assert {task["status"] for task in body["data"]} <= {"waiting", "processing", "ready", "error"}
    status, body = api.request("GET", "/tasks?sort=filesize", headers={"Accept-Version": "2024-03-21"})
    assert (status, body["error"]["kind"], body["error"]["field"]) == (400, "invalid_option", "sort")
    # 2024-03-21's `ready` is the latest's `succeeded`; the envelope echoes the query as it was sent
    status, body = api.request(
        "GET", "/tasks?status=ready&limit=100", headers={"Accept-Version": "2024-03-21"}
    )
    assert (status, body["url"]) == (200, "/tasks?status=ready&limit=100")
    assert ready["id"] in [task["id"] for task in body["data"]]
    assert {task["status"] for task in body["data"]} == {"ready"}
