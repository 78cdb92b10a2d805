"""Files, media and signed URLs through the vendor's SDK (ittybit 1.0.0) unchanged, against the local
product. Every raw response body is validated strictly with the SDK's own models, and what a user
would see (the stored objects, the bytes behind a link, ffprobe of an upload) is checked too."""

from __future__ import annotations

import hashlib
import json
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from ittybit import Ittybit
from ittybit.core.api_error import ApiError
from ittybit.files.types.files_create_response import FilesCreateResponse
from ittybit.files.types.files_delete_response import FilesDeleteResponse
from ittybit.files.types.files_get_response import FilesGetResponse
from ittybit.files.types.files_list_response_item import FilesListResponseItem
from ittybit.files.types.files_update_response import FilesUpdateResponse
from ittybit.media.types.media_create_response import MediaCreateResponse
from ittybit.media.types.media_delete_response import MediaDeleteResponse
from ittybit.media.types.media_get_response import MediaGetResponse
from ittybit.media.types.media_update_response import MediaUpdateResponse
from ittybit.signatures.types.signatures_create_response import SignaturesCreateResponse
from ittybit.tasks.types.tasks_create_response import TasksCreateResponse
from ittybit.types.file import File as SdkFile
from ittybit.types.media_list_response_item import MediaListResponseItem

from mediatasks.adapters.ffmpeg import binaries
from tests.e2e.test_vendor_sdk import RETRY_RATE_LIMITS, Recorder
from tests.local_product import TASK_SECONDS, Api, new_key
from tests.support.media import MakeClip
from tests.support.servers import FileServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
MEDIA_BUCKET = "mediatasks-media"


class Sdk:
    """The SDK client, and the raw JSON of the last response it received."""

    def __init__(self, client: Ittybit, recorder: Recorder) -> None:
        self.client = client
        self.recorder = recorder

    def last(self, status: int) -> Any:
        response = self.recorder.last
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture(scope="module")
def sdk(api: Api) -> Iterator[Sdk]:
    recorder = Recorder()
    with httpx.Client(event_hooks={"response": [recorder]}, timeout=30) as http:
        yield Sdk(Ittybit(base_url=api.url, api_key=api.key, httpx_client=http), recorder)


@pytest.fixture(scope="module")
def other_sdk(api: Api) -> Iterator[Sdk]:
    recorder = Recorder()
    with httpx.Client(event_hooks={"response": [recorder]}, timeout=30) as http:
        key = new_key(api, "files-other-team")
        yield Sdk(Ittybit(base_url=api.url, api_key=key, httpx_client=http), recorder)


@pytest.fixture(scope="module")
def clip_url(make_clip: MakeClip, file_server: FileServer) -> str:
    make_clip("files.mp4", size="160x120", seconds=1)
    return file_server.url_of("files.mp4")


@pytest.fixture(scope="module")
def s3(api: Api) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=api.emulator_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def stored_keys(s3: Any, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=MEDIA_BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def ready_file(sdk: Sdk, file_id: str) -> dict[str, Any]:
    """Polls files.get until the file is ready (or failed); returns its raw JSON."""

    def ended() -> dict[str, Any] | None:
        sdk.client.files.get(file_id, request_options=RETRY_RATE_LIMITS)
        body: dict[str, Any] = sdk.last(200)
        FilesGetResponse.model_validate(body)
        return body if body["status"] in ("ready", "failed") else None

    return wait_until(ended, TASK_SECONDS, f"file {file_id} to be ready")


def probe(data: bytes) -> dict[str, Any]:
    """ffprobe's description of a file's bytes."""
    report = subprocess.run(
        [binaries().ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", "-"],
        input=data,
        capture_output=True,
        check=True,
        timeout=30,
    )
    described: dict[str, Any] = json.loads(report.stdout)
    return described


def test_a_file_from_a_url_lives_and_dies_through_the_sdk(sdk: Sdk, clip_url: str, s3: Any) -> None:
    sdk.client.files.create(url=clip_url, folder="clips", filename="first.mp4", ref="raw", metadata={"a": 1})
    created = sdk.last(201)
    FilesCreateResponse.model_validate(created)
    assert created["status"] in ("waiting", "processing")
    assert (created["object"], created["original"], created["media_id"][:4]) == ("source", True, "med_")

    ready = ready_file(sdk, created["id"])
    assert ready["status"] == "ready"
    file = SdkFile.model_validate(ready)
    assert (file.kind, file.type, file.width, file.height, file.orientation) == (
        "video",
        "video/mp4",
        160,
        120,
        "landscape",
    )
    assert (file.folder, file.filename, file.ref, file.metadata) == ("clips", "first.mp4", "raw", {"a": 1})
    assert len(httpx.get(file.url).content) == file.filesize

    sdk.client.files.list(page=1, limit=50)
    listed = sdk.last(200)
    assert isinstance(listed, list)
    for item in listed:
        FilesListResponseItem.model_validate(item)
    assert created["id"] in [item["id"] for item in listed]

    sdk.client.files.update(created["id"], filename="renamed.mp4", ref=None)
    updated = sdk.last(200)
    FilesUpdateResponse.model_validate(updated)
    assert (updated["filename"], updated["ref"], updated["folder"]) == ("renamed.mp4", None, "clips")

    stored = [key for key in stored_keys(s3, "files/") if f"/{created['id']}/" in key]
    assert stored, "the file's object is in the bucket"
    sdk.client.files.delete(created["id"])
    deleted = sdk.last(200)
    FilesDeleteResponse.model_validate(deleted)
    assert created["id"] in deleted["message"]
    assert [key for key in stored_keys(s3, "files/") if f"/{created['id']}/" in key] == []
    with pytest.raises(ApiError) as gone:
        sdk.client.files.get(created["id"])
    assert gone.value.status_code == 404


def test_deleting_an_hls_file_removes_every_rendition_and_segment(sdk: Sdk, clip_url: str, s3: Any) -> None:
    sdk.client.tasks.create(request={"url": clip_url, "kind": "adaptive_video", "options": {"height": 120}})
    task = sdk.last(201)
    TasksCreateResponse.model_validate(task)
    file_id = task["output"]["id"] if task["output"] else None
    assert file_id is None  # the output shows once it is made; the file exists from the start
    media_id = task["media_id"]
    sdk.client.media.get(media_id)
    (pending,) = sdk.last(200)["files"]
    ready = ready_file(sdk, pending["id"])
    assert ready["status"] == "ready", ready
    keys = [key for key in stored_keys(s3, "files/") if f"/{pending['id']}/" in key]
    assert len(keys) >= 3  # the master playlist, a rendition's playlist, its segments
    assert any(key.endswith(".ts") for key in keys)
    sdk.client.files.delete(pending["id"])
    assert [key for key in stored_keys(s3, "files/") if f"/{pending['id']}/" in key] == []


def test_media_groups_an_original_and_what_is_made_from_it(sdk: Sdk, clip_url: str, s3: Any) -> None:
    sdk.client.media.create(title="Launch", alt="a test clip", metadata={"team": "web"})
    media = sdk.last(201)
    MediaCreateResponse.model_validate(media)
    assert (media["files"], media["urls"], media["title"]) == ([], {}, "Launch")

    sdk.client.files.create(url=clip_url, media_id=media["id"])
    original = sdk.last(201)
    assert (original["media_id"], original["original"]) == (media["id"], True)
    assert ready_file(sdk, original["id"])["status"] == "ready"

    sdk.client.tasks.create(
        request={"media_id": media["id"], "kind": "image", "width": 80, "format": "jpeg", "ref": "thumbnail"}
    )
    task = sdk.last(201)
    TasksCreateResponse.model_validate(task)
    assert task["input"]["id"] == original["id"]
    assert task["media_id"] == media["id"]

    def media_with_thumbnail() -> dict[str, Any] | None:
        sdk.client.media.get(media["id"])
        body: dict[str, Any] = sdk.last(200)
        MediaGetResponse.model_validate(body)
        return body if "thumbnail" in body["urls"] else None

    grouped = wait_until(media_with_thumbnail, TASK_SECONDS, "the media's thumbnail")
    assert [file["original"] for file in grouped["files"]] == [True, False]
    assert grouped["files"][1]["ref"] == "thumbnail"
    assert (grouped["kind"], grouped["width"], grouped["height"]) == ("video", 160, 120)
    assert set(grouped["urls"]) == {"original", "thumbnail"}
    assert httpx.get(grouped["urls"]["thumbnail"]).content[:2] == b"\xff\xd8"  # a JPEG

    sdk.client.media.list(page=1, limit=100)
    listed = sdk.last(200)
    for item in listed:
        MediaListResponseItem.model_validate(item)
    assert media["id"] in [item["id"] for item in listed]

    sdk.client.media.update(media["id"], title=None, alt="still a test clip")
    updated = sdk.last(200)
    MediaUpdateResponse.model_validate(updated)
    assert (updated["title"], updated["alt"]) == (None, "still a test clip")
    assert updated["metadata"] == {"team": "web"}

    sdk.client.media.delete(media["id"])
    MediaDeleteResponse.model_validate(sdk.last(200))
    for file in grouped["files"]:
        assert [key for key in stored_keys(s3, "files/") if f"/{file['id']}/" in key] == []
        with pytest.raises(ApiError) as gone:
            sdk.client.files.get(file["id"])
        assert gone.value.status_code == 404
    with pytest.raises(ApiError) as missing:
        sdk.client.media.get(media["id"])
    assert missing.value.status_code == 404


def test_a_file_a_running_task_reads_cannot_be_deleted(sdk: Sdk, api: Api, clip_url: str) -> None:
    sdk.client.files.create(url=clip_url)
    file = ready_file(sdk, sdk.last(201)["id"])
    reading = api.create({"file_id": file["id"], "kind": "video", "options": {"width": 80}})
    status, refused = api.request("DELETE", f"/files/{file['id']}")
    if api.wait(reading["id"])["status"] == "succeeded" and status == 200:
        pytest.fail("the file was deleted while a task read it")
    assert (status, refused["kind"]) == (409, "file_in_use")


def test_a_browser_uploads_with_a_put_signature_and_reads_with_a_get_one(
    sdk: Sdk, make_clip: MakeClip
) -> None:
    clip = make_clip("upload.mp4", size="160x120", seconds=1).read_bytes()
    expiry = int(time.time()) + 600
    sdk.client.signatures.create(filename="upload.mp4", folder="phone", expiry=expiry, method="put")
    signature = sdk.last(201)
    SignaturesCreateResponse.model_validate(signature)
    assert (signature["method"], signature["expiry"], signature["folder"]) == ("put", expiry, "phone")
    assert signature["url"].startswith(f"http://{signature['domain']}/")

    # a browser-like client: no API key, only the signed URL
    uploaded = httpx.put(signature["url"], content=clip, headers={"Content-Type": "video/mp4"})
    assert uploaded.status_code == 201, uploaded.text
    original = ready_file(sdk, uploaded.json()["id"])
    assert (original["status"], original["original"], original["filename"]) == ("ready", True, "upload.mp4")
    streams = probe(httpx.get(original["url"]).content)["streams"]
    (video,) = [stream for stream in streams if stream["codec_type"] == "video"]
    assert (video["width"], video["height"]) == (160, 120)

    sdk.client.signatures.create(filename="upload.mp4", folder="phone", method="get")
    reading = sdk.last(201)
    SignaturesCreateResponse.model_validate(reading)
    read = httpx.get(reading["url"], follow_redirects=True)
    assert read.status_code == 200
    assert read.content == httpx.get(original["url"]).content

    # a GET signature does not upload, and a PUT one does not read
    assert httpx.put(reading["url"], content=clip).status_code == 403
    assert httpx.get(signature["url"]).status_code == 403


def test_signatures_end_at_their_expiry(sdk: Sdk, make_clip: MakeClip) -> None:
    clip = make_clip("upload.mp4", size="160x120", seconds=1).read_bytes()
    soon = int(time.time()) + 2
    sdk.client.signatures.create(filename="late.mp4", expiry=soon, method="put")
    put_url = sdk.last(201)["url"]
    sdk.client.signatures.create(filename="upload.mp4", folder="phone", expiry=soon, method="get")
    get_url = sdk.last(201)["url"]
    wait_until(lambda: time.time() > soon + 1, 10, "the signatures' expiry")
    for refused in (httpx.put(put_url, content=clip), httpx.get(get_url)):
        assert (refused.status_code, refused.json()["kind"]) == (403, "signature_expired"), refused.text


def test_an_expiry_the_design_cannot_honour_is_refused(sdk: Sdk) -> None:
    for expiry in (int(time.time()) - 1, int(time.time()) + 8 * 86400):
        with pytest.raises(ApiError) as refused:
            sdk.client.signatures.create(filename="x.mp4", expiry=expiry, method="put")
        assert refused.value.status_code == 400
        assert refused.value.body["field"] == "expiry"


def test_a_put_signature_writes_only_its_own_key(sdk: Sdk, other_sdk: Sdk, make_clip: MakeClip) -> None:
    clip = make_clip("upload.mp4", size="160x120", seconds=1).read_bytes()
    sdk.client.signatures.create(filename="mine.mp4", folder="a", method="put")
    url = httpx.URL(sdk.last(201)["url"])
    other_sdk.client.files.list()
    for name, value in (("filename", "theirs.mp4"), ("folder", "b"), ("project", "files-other-team")):
        tampered = url.copy_set_param(name, value)
        refused = httpx.put(tampered, content=clip)
        assert (refused.status_code, refused.json()["kind"]) == (403, "signature_invalid"), name
    unsigned = url.copy_remove_param("signature")
    assert httpx.put(unsigned, content=clip).status_code == 403


def test_another_projects_files_and_media_are_not_found_on_every_route(
    sdk: Sdk, other_sdk: Sdk, clip_url: str
) -> None:
    sdk.client.files.create(url=clip_url)
    file = sdk.last(201)
    sdk.client.media.create(title="private")
    media = sdk.last(201)
    calls = (
        lambda client: client.files.get(file["id"]),
        lambda client: client.files.update(file["id"], filename="x.mp4"),
        lambda client: client.files.delete(file["id"]),
        lambda client: client.media.get(media["id"]),
        lambda client: client.media.update(media["id"], title="x"),
        lambda client: client.media.delete(media["id"]),
    )
    for call in calls:
        with pytest.raises(ApiError) as refused:
            call(other_sdk.client)
        assert refused.value.status_code == 404
    with pytest.raises(ApiError) as foreign_media:
        other_sdk.client.files.create(url=clip_url, media_id=media["id"])
    assert foreign_media.value.status_code == 400
    with pytest.raises(ApiError) as foreign_input:
        other_sdk.client.tasks.create(request={"media_id": media["id"], "kind": "image"})
    assert foreign_input.value.status_code == 400
    other_sdk.client.files.list(limit=100)
    assert file["id"] not in [item["id"] for item in other_sdk.last(200)]
    other_sdk.client.media.list(limit=100)
    assert media["id"] not in [item["id"] for item in other_sdk.last(200)]
    ready_file(sdk, file["id"])  # still the owner's


def _part_bytes(number: int, size: int) -> bytes:
    """Part `number` of a generated file: reproducible, incompressible."""
    return random.Random(number).randbytes(size)  # noqa: S311 - test data, not a secret


def _cut_off(url: str, data: bytes) -> None:
    """Starts sending a part and drops the connection halfway, as a phone losing its network does."""
    parts = urlsplit(url)
    head = (
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30) as connection:
        connection.sendall(head.encode() + data[: len(data) // 2])


@pytest.mark.parametrize(
    "size",
    [pytest.param(17 * 1024**2, id="17MiB"), pytest.param(1024**3, id="1GiB", marks=pytest.mark.slow)],
)
def test_a_multipart_upload_survives_a_repeated_part_and_a_cut_connection(
    api: Api, s3: Any, size: int
) -> None:
    name = f"big-{size}.bin"
    status, upload = api.request("POST", "/uploads", {"filename": name, "folder": "phone", "size": size})
    assert status == 201, upload
    count, part_size = upload["parts"], upload["part_size"]
    assert count == -(-size // part_size) >= 3
    status, progress = api.request("GET", f"/uploads/{upload['id']}")
    assert (status, progress["missing"]) == (200, list(range(1, count + 1)))

    checksum = hashlib.sha256()
    sizes = [part_size] * (count - 1) + [size - part_size * (count - 1)]
    for start in range(1, count + 1, 100):
        numbers = list(range(start, min(start + 100, count + 1)))
        status, links = api.request("POST", f"/uploads/{upload['id']}/parts", {"part_numbers": numbers})
        assert status == 200, links
        with httpx.Client(timeout=120) as http:
            for link in links["data"]:
                number = link["part_number"]
                data = _part_bytes(number, sizes[number - 1])
                checksum.update(data)
                if number == 1:
                    _cut_off(link["url"], data)  # sent again below, whole
                    continue
                if number == 2:  # sent twice: first with the wrong bytes
                    assert http.put(link["url"], content=data[::-1]).status_code == 200
                assert http.put(link["url"], content=data).status_code == 200

    status, progress = api.request("GET", f"/uploads/{upload['id']}")
    assert progress["missing"] == [1]
    status, refused = api.request("POST", f"/uploads/{upload['id']}/complete")
    assert (status, refused["kind"]) == (409, "upload_incomplete")
    status, links = api.request("POST", f"/uploads/{upload['id']}/parts", {"part_numbers": [1]})
    assert (
        httpx.put(links["data"][0]["url"], content=_part_bytes(1, sizes[0]), timeout=120).status_code == 200
    )

    status, file = api.request("POST", f"/uploads/{upload['id']}/complete")
    assert status == 201, file
    assert (file["filename"], file["folder"], file["original"]) == (name, "phone", True)
    (key,) = [key for key in stored_keys(s3, "uploads/") if key.endswith(f"/phone/{name}")]
    stored = hashlib.sha256()
    for chunk in s3.get_object(Bucket=MEDIA_BUCKET, Key=key)["Body"].iter_chunks(8 * 1024**2):
        stored.update(chunk)
    assert stored.hexdigest() == checksum.hexdigest()


def test_an_upload_is_its_projects_only(api: Api) -> None:
    status, upload = api.request("POST", "/uploads", {"filename": "mine.bin", "size": 10})
    assert status == 201
    other = api.as_project(new_key(api, "uploads-other-team"))
    for method, path, body in (
        ("GET", f"/uploads/{upload['id']}", None),
        ("POST", f"/uploads/{upload['id']}/parts", {"part_numbers": [1]}),
        ("POST", f"/uploads/{upload['id']}/complete", None),
    ):
        status, refused = other.request(method, path, body)
        assert (status, refused["kind"]) == (404, "not_found"), path
    status, too_big = api.request("POST", "/uploads", {"filename": "huge.bin", "size": 6 * 1024**4})
    assert (status, too_big["kind"]) == (413, "payload_too_large")


def test_files_and_media_are_listed_by_cursor_as_tasks_are(api: Api, sdk: Sdk, clip_url: str) -> None:
    for _ in range(3):
        sdk.client.files.create(url=clip_url)
    for route in ("/files", "/media"):
        status, everything = api.request("GET", f"{route}?limit=100")
        assert status == 200
        walked, link = [], f"{route}?limit=2"
        while link is not None:
            status, page = api.request("GET", link)
            assert status == 200, page
            assert len(page["data"]) <= 2
            walked += [item["id"] for item in page["data"]]
            link = page["links"]["next"]
        # the module's stack may hold more than one page of 100 (a client's retry makes another
        # media): the walk starts with that page, in its order, and sees each item once
        first_page = [item["id"] for item in everything["data"]]
        assert walked[: len(first_page)] == first_page
        assert len(set(walked)) == len(walked)
        assert len(walked) >= 3
        status, refused = api.request("GET", f"{route}?cursor=not-one-of-ours")
        assert (status, refused["kind"]) == (400, "invalid_option")
