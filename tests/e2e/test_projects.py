"""API keys and projects through the local product: keys made by the CLI, isolation on every route."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.local_product import Api, new_key
from tests.support.media import MakeClip
from tests.support.servers import FileServer
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def other(api: Api) -> Api:
    return api.as_project(new_key(api, "other-team"))


@pytest.fixture(scope="module")
def clip_url(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("projects.mp4", size="160x120", seconds=1)
    return file_server.url_of("projects.mp4")


def test_the_api_description_needs_no_key(api: Api) -> None:
    status, document = api.request("GET", "/openapi.json", headers={"Authorization": ""})
    assert status == 200
    assert "/tasks" in document["paths"]


def test_missing_key(api: Api) -> None:
    for method, path in (("POST", "/tasks"), ("GET", "/tasks/task_abc")):
        status, error = api.request(method, path, {}, headers={"Authorization": ""})
        assert (status, error["kind"]) == (401, "token_missing")


@pytest.mark.parametrize("header", ["Bearer mtk_not-a-real-key", "Basic abc", "Bearer"])
def test_invalid_key(api: Api, header: str) -> None:
    for method, path in (("POST", "/tasks"), ("GET", "/tasks/task_abc")):
        status, error = api.request(method, path, {"kind": "video"}, headers={"Authorization": header})
        assert (status, error["kind"]) == (401, "token_invalid")


def test_a_project_never_sees_another_projects_task(api: Api, other: Api, clip_url: str) -> None:
    mine: dict[str, Any] = api.run({"kind": "video", "input": clip_url, "options": {"width": 80}})
    theirs: dict[str, Any] = other.run({"kind": "video", "input": clip_url, "options": {"width": 80}})
    assert (mine["status"], theirs["status"]) == ("succeeded", "succeeded")
    assert other.request("GET", f"/tasks/{mine['id']}") == (
        404,
        {"kind": "task_not_found", "message": f"no task with id {mine['id']!r}"},
    )
    assert api.request("GET", f"/tasks/{theirs['id']}")[0] == 404
    assert other.request("GET", f"/tasks/{theirs['id']}")[0] == 200


def test_listing_walks_a_projects_tasks_by_cursor(api: Api, clip_url: str) -> None:
    lister = api.as_project(new_key(api, "lister"))
    made = [lister.create({"kind": "video", "input": clip_url, "metadata": {"n": n}})["id"] for n in range(5)]
    for task_id in made:
        lister.wait(task_id)
    seen, path, pages = [], "/tasks?limit=2", 0
    while path:
        status, page = lister.request("GET", path)
        assert status == 200, page
        assert (page["object"], page["total"], page["pages"], page["limit"]) == ("list", 5, 3, 2)
        seen += [task["id"] for task in page["data"]]
        path, pages = page["links"]["next"], pages + 1
    assert seen == list(reversed(made))
    assert pages == 3
    status, succeeded = lister.request("GET", "/tasks?status=succeeded&order=asc&limit=100")
    assert [t["id"] for t in succeeded["data"]] == made
    assert api.request("GET", "/tasks?limit=100")[1]["data"] != succeeded["data"]


def test_keys_are_printed_once_and_differ(api: Api) -> None:
    first, second = new_key(api, "p1"), new_key(api, "p1")
    assert first != second
    assert first.startswith("mtk_")


def test_file_ids_reuse_a_stored_file_within_the_project_only(api: Api, other: Api, clip_url: str) -> None:
    stored = api.run({"kind": "ingest", "input": clip_url})
    file_id = stored["output"]["id"]
    reused = api.run({"kind": "video", "file_id": file_id, "options": {"width": 64}})
    assert reused["status"] == "succeeded", reused["error"]
    # the task shows the file id it was given, never where we store the file
    assert reused["input"] == file_id
    assert not reused["inputs"][0]["url"].startswith("s3://")
    status, error = other.request("POST", "/tasks", {"kind": "video", "file_id": file_id})
    assert (status, error["kind"], error["field"]) == (400, "invalid_input", "file_id")
    # nor can another project name the stored object directly
    stored_at = "s3://" + unquote(urlsplit(stored["output"]["url"]).path).lstrip("/")
    assert stored_at.startswith("s3://mediatasks-media/files/dev/")
    status, error = other.request("POST", "/tasks", {"kind": "video", "input": stored_at})
    assert (status, error["kind"]) == (400, "invalid_input")


def test_cancel_and_listing_are_scoped_to_the_project(api: Api, other: Api, clip_url: str) -> None:
    mine = api.create({"kind": "video", "input": clip_url})
    assert other.request("POST", f"/tasks/{mine['id']}/cancel")[0] == 404
    listed = [t["id"] for t in other.request("GET", "/tasks?limit=100")[1]["data"]]
    assert mine["id"] not in listed
    api.wait(mine["id"])


def test_a_burst_beyond_the_stage_limits_gets_rate_limited(api: Api) -> None:
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def hit(_: int) -> tuple[int, str | None, str]:
        try:
            with urllib.request.urlopen(f"{api.url}/tasks", timeout=10) as response:
                return response.status, None, ""
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Retry-After"), error.read().decode()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(hit, range(400)))
    limited = [a for a in answers if a[0] == 429]
    assert limited, "400 requests at once never met the stage's burst limit"
    _, retry_after, body = limited[0]
    assert int(retry_after or 0) >= 1
    assert json.loads(body)["kind"] == "rate_limited"
    assert {a[0] for a in answers} <= {401, 429}  # the rest reached the key check
    # leave the stage taking requests again for the tests that follow
    wait_until(lambda: hit(0)[0] != 429, 30, "the stage to admit requests again after the burst")


def test_each_key_has_its_own_rate_limit(api: Api) -> None:
    """The usage plan's per-key throttle: one key's burst is refused, another key is not slowed."""
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    busy, calm = new_key(api, "busy-team"), new_key(api, "calm-team")

    def hit(key: str) -> tuple[int, str | None]:
        request = urllib.request.Request(
            f"{api.url}/tasks?limit=1", headers={"Authorization": f"Bearer {key}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, None
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Retry-After")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(hit, [busy] * 60))
    assert {status for status, _ in answers} == {200, 429}
    assert all(int(retry or 0) >= 1 for status, retry in answers if status == 429)
    assert hit(calm) == (200, None)


def test_oversized_headers_path_or_query_are_refused_before_the_api(api: Api) -> None:
    status, error = api.request("GET", "/tasks", headers={"X-Padding": "x" * 9000})
    assert (status, error["kind"]) == (413, "payload_too_large")
    status, error = api.request("GET", "/tasks?" + "q=" + "x" * 3000)
    assert (status, error["kind"]) == (413, "payload_too_large")
    status, error = api.request("GET", "/tasks/" + "t" * 1100)
    assert (status, error["kind"]) == (413, "payload_too_large")
    status, _ = api.request("GET", "/tasks", headers={"X-Padding": "x" * 4000})
    assert status == 200
