"""API versions: which one a request asks for, and the latest bodies (from TaskService.present) in
each version's shapes, checked against the vendor SDK's own models where the SDK reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from ittybit.tasks.types.tasks_get_response import TasksGetResponse
from ittybit.tasks.types.tasks_list_response_item import TasksListResponseItem
from ittybit.types.file import File as SdkFile
from moto import mock_aws

from mediatasks.adapters.files import FileStore
from mediatasks.adapters.storage import Storage
from mediatasks.adapters.store import TaskStore
from mediatasks.adapters.workflow import Workflow
from mediatasks.config import Settings
from mediatasks.contract import v2024_03_21, v2025_08_20
from mediatasks.contract.common import Exchange
from mediatasks.contract.latest import FileResource
from mediatasks.contract.versions import ApiVersion, latest_query, render, requested_version
from mediatasks.domain.errors import RequestRejected
from mediatasks.domain.tasks import (
    Codecs,
    MediaFile,
    OutputNaming,
    Status,
    StoredObject,
    Task,
    TaskErrorInfo,
)
from mediatasks.handlers.api import handler, openapi_document
from mediatasks.kinds.registry import kind_of
from mediatasks.local.cloud import LocalLambdaContext
from mediatasks.local.http_api import proxy_event
from mediatasks.service.tasks import TaskService

MEDIA_BUCKET = "media-bucket"
CREATED_MS = 1_735_689_825_123  # 2025-01-01T00:03:45.123Z
FINISHED_MS = CREATED_MS + 61_000
STORED_FILE_ID = "file_abcdefgh12345678"
STORED_INPUT = f"s3://{MEDIA_BUCKET}/files/prj_one/clips/{STORED_FILE_ID}/upload.mp4"
LIST_EXCHANGE = Exchange("GET", "/tasks", {"page": "2", "limit": "2"}, "0f8e-42")


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[TaskService]:
    """The real service; present() only signs links, which boto3 does locally."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield TaskService(
            Settings(media_bucket=MEDIA_BUCKET),
            TaskStore("tasks"),
            Storage(),
            Workflow("arn:aws:states:us-east-1:123456789012:stateMachine:tasks"),
            FileStore("files"),
            cursor_key=lambda: b"a key only these tests sign with",
        )


def shown(service: TaskService, task: Task) -> dict[str, Any]:
    """The task's latest body, as the API renders it before the version does."""
    return service.present(task).model_dump(mode="json")


def new_task(kind: str = "image", input_url: str = "https://example.com/upload.mp4", **changes: Any) -> Task:
    task = Task.create(
        project_id="prj_one",
        kind=kind,
        steps=kind_of(kind).steps,
        input_url=input_url,
        options={"width": 320, "format": "png", "height": None},  # as stored: unset options are null
        destination=None,
        metadata={"customer": "acme"},
        naming=OutputNaming(ref="thumbnail"),
    )
    return task.model_copy(update={"created_at": CREATED_MS, "updated_at": CREATED_MS, **changes})


MADE = MediaFile(
    id="file_madeabcd12345678",
    kind="image",
    format="png",
    type="image/png",
    width=320,
    height=180,
    filesize=12_345,
    codecs=Codecs(video="png"),
    ref="thumbnail",
    location=StoredObject(bucket=MEDIA_BUCKET, key="files/prj_one/file_madeabcd12345678/thumbnail.png"),
)


def succeeded(kind: str = "image", output: MediaFile = MADE) -> Task:
    return new_task(
        kind,
        status=Status.succeeded,
        progress=100,
        output=output,
        started_at=CREATED_MS + 1000,
        finished_at=FINISHED_MS,
        updated_at=FINISHED_MS,
    )


def failed() -> Task:
    error = TaskErrorInfo(kind="input_unreachable", message="the input answered 404")
    return new_task(status=Status.failed, error=error, finished_at=FINISHED_MS, updated_at=FINISHED_MS)


def iso(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


# ---- which version a request asks for


@pytest.mark.parametrize(
    ("headers", "version"),
    [
        (None, ApiVersion.latest),
        ({}, ApiVersion.latest),
        ({"Accept-Version": ""}, ApiVersion.latest),
        ({"Accept-Version": "latest"}, ApiVersion.latest),
        ({"Accept-Version": "2025-08-20"}, ApiVersion.v2025_08_20),
        ({"accept-version": " 2024-03-21 "}, ApiVersion.v2024_03_21),
        ({"ACCEPT_VERSION": "2024-03-21"}, ApiVersion.v2024_03_21),  # the SDK's constructor header alone
        # the SDK sends both: Accept-Version (pinned per call to the shapes it parses) wins
        ({"Accept-Version": "2025-08-20", "ACCEPT_VERSION": "latest"}, ApiVersion.v2025_08_20),
        ({"ACCEPT_VERSION": "2024-03-21", "Accept-Version": "latest"}, ApiVersion.latest),
        ({"Accept-Version": "2025-08-20", "ACCEPT_VERSION": "1999-01-01"}, ApiVersion.v2025_08_20),
    ],
)
def test_requested_version(headers: dict[str, str] | None, version: ApiVersion) -> None:
    assert requested_version(headers) == version


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Accept-Version": "2023-01-01"}, "Accept-Version"),
        ({"Accept-Version": "LATEST"}, "Accept-Version"),
        ({"ACCEPT_VERSION": "v2"}, "ACCEPT_VERSION"),
    ],
)
def test_an_unknown_version_is_refused_naming_the_known_ones(headers: dict[str, str], field: str) -> None:
    with pytest.raises(RequestRejected) as refused:
        requested_version(headers)
    assert (refused.value.kind, refused.value.field) == ("invalid_version", field)
    for known in ("latest", "2025-08-20", "2024-03-21"):
        assert known in refused.value.message


def test_latest_is_the_body_unchanged(service: TaskService) -> None:
    body = shown(service, succeeded())
    rendered = render(ApiVersion.latest, "task", body, 200, Exchange("GET", "/tasks/x"))
    assert rendered.body is body
    assert rendered.headers == {}


# ---- 2025-08-20 (seed 002, the vendor SDK)

SEED_002_STATUS = {
    Status.waiting: "pending",
    Status.validating: "pending",
    Status.queued: "waiting",
    Status.processing: "processing",
    Status.finishing: "processing",
    Status.succeeded: "completed",
    Status.failed: "failed",
    Status.cancelled: "cancelled",
}


@pytest.mark.parametrize("status", list(Status))
def test_2025_statuses(service: TaskService, status: Status) -> None:
    body = v2025_08_20.render_task(shown(service, new_task(status=status))).body
    assert body["status"] == SEED_002_STATUS[status]
    TasksGetResponse.model_validate(body)


def test_2025_new_task(service: TaskService) -> None:
    body = v2025_08_20.render_task(shown(service, new_task())).body
    sdk_task = TasksGetResponse.model_validate(body)
    assert sdk_task.created == sdk_task.updated == iso(CREATED_MS)
    assert body["created"] == "2025-01-01T00:03:45.123Z"
    assert body["input"] == {
        "id": None,
        "object": "source",
        "kind": None,
        "type": None,
        "width": None,
        "height": None,
        "duration": None,
        "filesize": None,
        "url": "https://example.com/upload.mp4",
    }
    assert body["options"] == {"width": 320, "format": "png", "ref": "thumbnail"}  # seed 002 echoes ref
    assert (body["output"], body["error"], body["error_kind"]) == (None, None, None)
    assert "steps" not in body
    assert "created_at" not in body


def test_2025_stored_input_shows_its_file_id_and_once_probed_a_link(service: TaskService) -> None:
    stored = new_task(input_url=STORED_INPUT, input_file_id=STORED_FILE_ID)
    body = v2025_08_20.render_task(shown(service, stored)).body
    assert body["input"]["id"] == STORED_FILE_ID
    probed = stored.model_copy(update={"source": MediaFile(kind="video", format="mp4", type="video/mp4")})
    body = v2025_08_20.render_task(shown(service, probed)).body
    assert (body["input"]["id"], body["input"]["kind"]) == (STORED_FILE_ID, "video")
    assert body["input"]["url"].startswith(f"https://{MEDIA_BUCKET}.s3.amazonaws.com/files/prj_one/clips/")


def test_2025_output_is_an_sdk_file(service: TaskService) -> None:
    body = v2025_08_20.render_task(shown(service, succeeded())).body
    assert body["status"] == "completed"
    output = SdkFile.model_validate(body["output"])
    assert output.id == output.media_id == MADE.id
    assert (output.object, output.kind, output.type, output.status) == (
        "source",
        "image",
        "image/png",
        "ready",
    )
    assert (output.width, output.height, output.filesize, output.codec) == (320, 180, 12_345, "png")
    assert output.created == output.updated == iso(FINISHED_MS)
    assert output.url.startswith(f"https://{MEDIA_BUCKET}.s3.amazonaws.com/files/prj_one/")
    assert body["finished"] == "2025-01-01T00:04:46.123Z"


def test_2025_probe_describes_its_input(service: TaskService) -> None:
    described = MediaFile(
        kind="video", format="mp4", type="video/mp4", width=1920, height=1080, duration=12.5
    )
    probe = succeeded("probe", described).model_copy(update={"source": described})
    body = v2025_08_20.render_task(shown(service, probe)).body
    assert body["input"] | {"id": None} == {
        "id": None,
        "object": "source",
        "kind": "video",
        "type": "video/mp4",
        "width": 1920,
        "height": 1080,
        "duration": 12.5,
        "filesize": None,
        "url": "https://example.com/upload.mp4",
    }


def test_2025_error_is_a_string(service: TaskService) -> None:
    body = v2025_08_20.render_task(shown(service, failed())).body
    sdk_task = TasksGetResponse.model_validate(body)
    assert (sdk_task.status, sdk_task.error) == ("failed", "the input answered 404")
    assert body["error_kind"] == "input_unreachable"


def latest_list(service: TaskService) -> dict[str, Any]:
    """The list object TaskService.list answers, page 2 of 3."""
    return {
        "object": "list",
        "data": [shown(service, succeeded()), shown(service, new_task())],
        "total": 5,
        "page": 2,
        "pages": 3,
        "limit": 2,
        "links": {
            "self": "/tasks?limit=2&sort=created&order=desc&page=2",
            "next": "/tasks?limit=2&sort=created&order=desc&cursor=bmV4dA",
            "prev": "/tasks?limit=2&sort=created&order=desc&cursor=cHJldg",
        },
    }


def test_2025_list_is_a_bare_array_paged_in_headers(service: TaskService) -> None:
    rendered = render(ApiVersion.v2025_08_20, "list", latest_list(service), 200, LIST_EXCHANGE)
    assert isinstance(rendered.body, list)
    assert [TasksListResponseItem.model_validate(item).status for item in rendered.body] == [
        "completed",
        "pending",
    ]
    assert rendered.headers == {
        "X-Total-Count": "5",
        "X-Page": "2",
        "X-Per-Page": "2",
        "X-Total-Pages": "3",
        "Link": '<tasks?limit=2&sort=created&order=desc&cursor=bmV4dA>; rel="next", '
        '<tasks?limit=2&sort=created&order=desc&cursor=cHJldg>; rel="prev"',
    }


def test_2025_list_on_its_only_page_has_no_link(service: TaskService) -> None:
    listing = latest_list(service) | {"page": 1, "pages": 1, "links": {"self": "/tasks", "next": None}}
    assert "Link" not in v2025_08_20.render_list(listing).headers


def test_2025_error_keeps_the_spec_shape() -> None:
    error = {"kind": "invalid_option", "message": "width must be positive", "field": "options.width"}
    rendered = render(ApiVersion.v2025_08_20, "error", error, 400, Exchange("POST", "/tasks"))
    assert rendered.body == error


# ---- 2024-03-21 (seed 004)

SEED_004_STATUS = {
    Status.waiting: "waiting",
    Status.validating: "waiting",
    Status.queued: "waiting",
    Status.processing: "processing",
    Status.finishing: "processing",
    Status.succeeded: "ready",
    Status.failed: "error",
    Status.cancelled: "error",
}


@pytest.mark.parametrize("status", list(Status))
def test_2024_statuses(service: TaskService, status: Status) -> None:
    body = v2024_03_21.task(shown(service, new_task(status=status))).model_dump(mode="json")
    assert body["status"] == body["output"]["status"] == SEED_004_STATUS[status]


def test_2024_task_envelope(service: TaskService) -> None:
    task = new_task(input_url=STORED_INPUT, input_file_id=STORED_FILE_ID, status=Status.processing)
    exchange = Exchange("GET", f"/tasks/{task.id}", {}, "6f1c2d3e-0000-4000-8000-1234567890ab")
    body = render(ApiVersion.v2024_03_21, "task", shown(service, task), 200, exchange).body
    assert {key: body[key] for key in ("id", "method", "url", "version", "status", "type", "links")} == {
        "id": "req_6f1c2d3e000040008000" + "1234567890ab",
        "method": "GET",
        "url": f"/tasks/{task.id}",
        "version": "2024-03-21",
        "status": 200,
        "type": "object",
        "links": {"self": f"/tasks/{task.id}", "parent": "/tasks"},
    }
    data = body["data"]
    assert (data["id"], data["object"], data["input"], data["status"]) == (
        task.id,
        "task",
        "file_abcdefgh12345678",
        "processing",
    )
    assert data["output"] == {
        "kind": "image",
        "status": "processing",
        "width": 320,
        "format": "png",
        "ref": "thumbnail",
        "created": "2025-01-01T00:03:45.123Z",
        "updated": "2025-01-01T00:03:45.123Z",
    }


def test_2024_ready_output_carries_the_file(service: TaskService) -> None:
    data = v2024_03_21.task(shown(service, succeeded())).model_dump(mode="json")
    assert data["input"] == "https://example.com/upload.mp4"
    output = data["output"]
    assert (output["id"], output["object"], output["kind"], output["status"]) == (
        MADE.id,
        "source",
        "image",
        "ready",
    )
    assert (output["width"], output["filesize"], output["format"]) == (320, 12_345, "png")
    assert output["url"].startswith("https://")


def test_2024_cancelled_shows_as_error(service: TaskService) -> None:
    data = v2024_03_21.task(shown(service, new_task(status=Status.cancelled))).model_dump(mode="json")
    assert data["status"] == "error"
    assert data["error"] == {"kind": "cancelled", "message": "the task was cancelled"}


def test_2024_list_envelope(service: TaskService) -> None:
    body = render(ApiVersion.v2024_03_21, "list", latest_list(service), 200, LIST_EXCHANGE).body
    assert (body["type"], body["url"], body["total"], body["limit"], body["page"], body["pages"]) == (
        "list",
        "/tasks?page=2&limit=2",
        5,
        2,
        2,
        3,
    )
    assert [task["status"] for task in body["data"]] == ["ready", "waiting"]
    assert body["links"] == latest_list(service)["links"]


def test_2024_error_envelope() -> None:
    error = {"kind": "task_not_found", "message": "no task with id 'task_x'"}
    body = render(ApiVersion.v2024_03_21, "error", error, 404, Exchange("GET", "/tasks/task_x")).body
    assert (body["type"], body["status"], body["data"]) == ("object", 404, None)
    assert body["error"] == {"kind": "task_not_found", "message": "no task with id 'task_x'", "field": None}


def test_2024_list_query_in_latest_terms() -> None:
    def query(**params: str) -> dict[str, str]:
        return latest_query(ApiVersion.v2024_03_21, Exchange("GET", "/tasks", params))

    assert query(status="ready", sort="updated") == {"status": "succeeded", "sort": "updated"}
    assert query(status="cancelled") == {"status": "cancelled"}  # the latest's own statuses pass
    for group in ("waiting", "processing", "error"):
        with pytest.raises(RequestRejected) as refused:
            query(status=group)
        assert (refused.value.kind, refused.value.field) == ("invalid_option", "status")
    with pytest.raises(RequestRejected) as refused:
        query(sort="filesize")
    assert (refused.value.kind, refused.value.field) == ("invalid_option", "sort")
    # other versions' queries, and other routes, are the latest's already
    assert latest_query(ApiVersion.latest, Exchange("GET", "/tasks", {"status": "waiting"})) == {
        "status": "waiting"
    }


# ---- through the API handler (everything here is refused or answered before any AWS call)


def call(
    method: str, path: str, headers: dict[str, str], body: Any = None, authorized: bool = True
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else b""
    event = proxy_event(method, path, {"Content-Type": "application/json", **headers}, data, "127.0.0.1")
    if authorized:
        event["requestContext"]["authorizer"] = {"project_id": "prj_test"}
    context = LocalLambdaContext(function_name="ApiFunction", memory_limit_in_mb=512, timeout_seconds=29)
    reply = handler(event, context)
    headers = reply.get("headers") or {}
    return reply["statusCode"], headers, json.loads(reply["body"])


def test_handler_refuses_an_unknown_version() -> None:
    status, _, body = call("GET", "/tasks", {"Accept-Version": "2023-01-01"})
    assert (status, body["kind"], body["field"]) == (400, "invalid_version", "Accept-Version")


def test_handler_refuses_the_caller_before_the_version() -> None:
    status, _, body = call("GET", "/tasks", {"Accept-Version": "2023-01-01"}, authorized=False)
    assert (status, body["kind"]) == (401, "token_missing")


@pytest.mark.parametrize("headers", [{"Accept-Version": "2025-08-20"}, {}])
def test_handler_error_keeps_the_spec_shape(headers: dict[str, str]) -> None:
    status, _, body = call("POST", "/tasks", headers, {"kind": "video"})
    assert (status, body) == (
        400,
        {"kind": "input_required", "message": body["message"], "field": "input"},
    )


def test_handler_2024_wraps_errors() -> None:
    status, _, body = call("POST", "/tasks", {"ACCEPT_VERSION": "2024-03-21"}, {"kind": "video"})
    assert (status, body["status"], body["version"], body["method"], body["url"]) == (
        400,
        400,
        "2024-03-21",
        "POST",
        "/tasks",
    )
    assert (body["error"]["kind"], body["error"]["field"]) == ("input_required", "input")
    status, _, body = call("GET", "/tasks", {"Accept-Version": "2024-03-21"}, authorized=False)
    assert (status, body["type"], body["error"]["kind"]) == (401, "object", "token_missing")


def test_handler_2024_refuses_sort_by_filesize() -> None:
    status, _, body = call("GET", "/tasks?sort=filesize", {"Accept-Version": "2024-03-21"})
    assert (status, body["error"]["kind"], body["error"]["field"]) == (400, "invalid_option", "sort")
    assert "filesize" in body["error"]["message"]


def test_openapi_declares_the_version_header() -> None:
    document = json.loads(openapi_document())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            (parameter,) = [p for p in operation["parameters"] if p["name"] == "Accept-Version"]
            assert parameter["in"] == "header", (path, method)
            assert parameter["schema"]["enum"] == ["latest", "2025-08-20", "2024-03-21"]


@pytest.mark.parametrize("kind", ["thumbnails", "subtitles", "nsfw"])
def test_2025_a_track_or_analysis_file_lists_with_its_own_kind(kind: str) -> None:
    track = FileResource(
        id="file_track1234567890",
        media_id="med_abcdefgh12345678",
        role="track" if kind != "nsfw" else "intelligence",
        status="ready",
        original=False,
        task_id="task_abcdefgh12345678",
        kind=kind,  # type: ignore[arg-type]
        filename="track",
        folder=None,
        ref=None,
        metadata={},
        url="https://media.example/track",
        created_at=CREATED_MS,
        updated_at=FINISHED_MS,
    ).model_dump(mode="json")
    listing = {"data": [track], "page": 1, "limit": 10, "links": {"self": "/files", "next": None}}
    rendered = v2025_08_20.render_file_list(listing)
    assert [SdkFile.model_validate(item).kind for item in rendered.body] == [kind]
    media = v2025_08_20.media(
        {
            "id": "med_abcdefgh12345678",
            "kind": "video",
            "title": None,
            "alt": None,
            "width": None,
            "height": None,
            "duration": None,
            "files": [track],
            "urls": {},
            "metadata": {},
            "created_at": CREATED_MS,
            "updated_at": FINISHED_MS,
        }
    )
    assert [file.kind for file in media.files] == [kind]
