"""Bad requests -> the SPEC's HTTP status, error kind and field, through the real API handler.

Validation happens before any AWS call, so these need no emulator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mediatasks.domain.errors import RequestRejected
from mediatasks.handlers.api import handler
from mediatasks.kinds.registry import parse_request
from mediatasks.local.cloud import LocalLambdaContext
from mediatasks.local.http_api import proxy_event

GOOD = {"kind": "video", "input": "https://example.com/a.mp4"}


def call(
    method: str,
    path: str,
    body: Any = None,
    raw: str | None = None,
    authorizer: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    sent = {"Content-Type": "application/json", **(headers or {})}
    event = proxy_event(method, path, sent, data.encode(), "127.0.0.1")
    event["requestContext"]["authorizer"] = {"project_id": "prj_test"} if authorizer is None else authorizer
    context = LocalLambdaContext(function_name="ApiFunction", memory_limit_in_mb=512, timeout_seconds=29)
    reply = handler(event, context)
    return reply["statusCode"], json.loads(reply["body"])


def with_options(**options: Any) -> dict[str, Any]:
    return {**GOOD, "options": options}


def with_kind(kind: str, **options: Any) -> dict[str, Any]:
    return {**GOOD, "kind": kind, "options": options}


BAD_REQUESTS = [
    # (request body, error kind, field)
    ({"kind": "video"}, "input_required", "input"),
    ({"kind": "video", "input": ""}, "input_required", "input"),
    ({"kind": "video", "input": None}, "input_required", "input"),
    ({**GOOD, "input": "ftp://example.com/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "file:///etc/passwd"}, "invalid_input", "input"),
    ({**GOOD, "input": "example.com/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "https://user:pw@example.com/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "https://example.com:99999/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "s3://bucket-only"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://169.254.169.254/latest/meta-data/"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://127.0.0.1/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://[::ffff:10.0.0.1]/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "s3://someone-elses-bucket/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": 42}, "invalid_input", "input"),
    ({**GOOD, "url": "https://example.com/b.mp4"}, "invalid_input", "input"),
    ({**GOOD, "file_id": "file_abc"}, "invalid_input", "input"),
    ({**GOOD, "input": {"object": "file"}}, "invalid_input", "input"),
    ({**GOOD, "input": {"url": "gopher://example.com/a"}}, "invalid_input", "input"),
    ({"kind": "video", "url": ""}, "input_required", "input"),
    ({**GOOD, "kind": "http"}, "kind_unsupported", "kind"),
    (with_kind("adaptive_video", format="dash"), "invalid_format", "options.format"),
    (with_kind("adaptive_video", fps=30), "invalid_option", "options.fps"),
    (with_kind("animation", format="mp4"), "invalid_format", "options.format"),
    ({**GOOD, "kind": "export"}, "invalid_option", "options"),
    (with_kind("export", url="https://example.com/x.mp4"), "invalid_option", "options.url"),
    (with_kind("export", url="s3://not-allowed/x.mp4"), "invalid_option", "options.url"),
    (
        with_kind("export", url="s3://bucket-b/x.mp4", connection_id="conn_abc123"),
        "invalid_option",
        "options.connection_id",
    ),
    (
        {**with_kind("export", url="s3://bucket-b/x.mp4"), "output": "s3://bucket-b/y.mp4"},
        "invalid_option",
        "output",
    ),
    (with_kind("animation", start=0, end=45), "invalid_option", "options.end"),
    (with_kind("animation", fps=60), "invalid_option", "options.fps"),
    (with_kind("animation", fit="cover"), "invalid_option", "options.fit"),
    (with_kind("image", format="tiff"), "invalid_format", "options.format"),
    (with_kind("image", end=3), "invalid_option", "options.end"),
    (
        with_kind("image", width=10, height=10, fit="fill", background="#fff"),
        "invalid_option",
        "options.background",
    ),
    ({**GOOD, "kind": "audio", "options": {"format": "mp4"}}, "invalid_format", "options.format"),
    (
        {**GOOD, "kind": "audio", "options": {"format": "wav", "bitrate": 128000}},
        "invalid_option",
        "options.bitrate",
    ),
    ({**GOOD, "kind": "audio", "options": {"bitrate": 8000}}, "invalid_option", "options.bitrate"),
    (with_kind("audio", format="ogg", bitrate=128000), "invalid_option", "options.bitrate"),
    ({**GOOD, "kind": "probe", "output": "s3://bucket-b/k.mp4"}, "invalid_option", "output"),
    (with_kind("import", width=10), "invalid_option", "options.width"),
    ({**GOOD, "kind": "audio", "options": {"width": 640}}, "invalid_option", "options.width"),
    ({**GOOD, "kind": "audio", "options": {"start": 3, "end": 1}}, "invalid_option", "options.end"),
    ({**GOOD, "kind": "http"}, "kind_unsupported", "kind"),
    ({**GOOD, "kind": "teleport"}, "kind_unsupported", "kind"),
    ({"input": "https://example.com/a.mp4"}, "invalid_option", "kind"),
    (with_options(format="avi"), "invalid_format", "options.format"),
    (with_options(format="gif"), "invalid_format", "options.format"),
    (with_options(format="webm", codec="h264"), "invalid_codec", "options.codec"),
    (with_options(format="mov", codec="av1"), "invalid_codec", "options.codec"),
    (with_options(codec="mpeg2"), "invalid_option", "options.codec"),
    (with_options(width=0), "invalid_option", "options.width"),
    (with_options(width=1281), "invalid_option", "options.width"),
    (with_options(width=99999), "invalid_option", "options.width"),
    (with_options(width="150%"), "invalid_option", "options.width"),
    (with_options(height="tall"), "invalid_option", "options.height"),
    (with_options(fit="stretch"), "invalid_option", "options.fit"),
    (with_options(position="middle"), "invalid_option", "options.position"),
    (with_options(background="red"), "invalid_option", "options.background"),
    (
        with_options(width=640, height=480, fit="cover", background="#000000"),
        "invalid_option",
        "options.background",
    ),
    (with_options(fps=0), "invalid_option", "options.fps"),
    (with_options(fps=61), "invalid_option", "options.fps"),
    (with_options(bitrate=1000), "invalid_option", "options.bitrate"),
    (with_options(bitrate=100_000_000), "invalid_option", "options.bitrate"),
    (with_options(quality="ultra"), "invalid_option", "options.quality"),
    (with_options(start=-1), "invalid_option", "options.start"),
    (with_options(start=5, end=2), "invalid_option", "options.end"),
    (with_options(volume=3), "invalid_option", "options.volume"),
    ({**GOOD, "colour": "blue"}, "invalid_option", "colour"),
    ({**GOOD, "output": "https://example.com/out.mp4"}, "invalid_option", "output"),
    ({**GOOD, "output": "s3://not-allowed-bucket/out.mp4"}, "invalid_option", "output"),
    ({**GOOD, "webhook_url": "http://example.com/hook"}, "invalid_option", "webhook_url"),
    ({**GOOD, "webhook_url": "https://10.0.0.1/hook"}, "invalid_option", "webhook_url"),
    ({**GOOD, "webhook_url": "hook"}, "invalid_option", "webhook_url"),
    # a webhook to a blocked address is refused at create without the local flag
    ({**GOOD, "webhook_url": "http://127.0.0.1:8080/hook"}, "invalid_option", "webhook_url"),
    ({**GOOD, "webhook_url": "https://127.0.0.1/hook"}, "invalid_option", "webhook_url"),
    ({**GOOD, "webhook_url": "https://[::1]/hook"}, "invalid_option", "webhook_url"),
    ({**GOOD, "webhook_url": "https://169.254.169.254/latest"}, "invalid_option", "webhook_url"),
    ({**GOOD, "webhook_url": "https://192.168.1.10/hook"}, "invalid_option", "webhook_url"),
    ({**GOOD, "webhook_url": "http://localhost:8080/hook"}, "invalid_option", "webhook_url"),
    ({**GOOD, "filename": "../../etc/passwd"}, "invalid_option", "filename"),
    ({**GOOD, "filename": ".hidden"}, "invalid_option", "filename"),
    ({**GOOD, "folder": "a/../b"}, "invalid_option", "folder"),
    ({**GOOD, "folder": "/abs"}, "invalid_option", "folder"),
    ({**GOOD, "ref": "has space"}, "invalid_option", "ref"),
    ({**GOOD, "metadata": {"k" * 65: "v"}}, "invalid_option", "metadata." + "k" * 65),
    ({**GOOD, "metadata": {"k": "v" * 1025}}, "invalid_option", "metadata.k"),
    ({**GOOD, "metadata": {"k": {"nested": True}}}, "invalid_option", "metadata.k"),
    # every spelling of a non-public address the resolver would read, refused at create
    ({**GOOD, "webhook_url": "https://2130706433/"}, "invalid_option", "webhook_url"),
    ({**GOOD, "webhook_url": "https://0251.0376.0251.0376/hook"}, "invalid_option", "webhook_url"),
    (
        {**GOOD, "webhook_url": "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/hook"},
        "invalid_option",
        "webhook_url",
    ),
    ({**GOOD, "input": "http://0x7f.1/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://0177.0.0.1/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://127.1/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://2852039166/latest/meta-data/"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://012.1/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://[fec0::1]/a.mp4"}, "invalid_input", "input"),
    ({**GOOD, "input": "http://[3fff::1]/a.mp4"}, "invalid_input", "input"),
    # control characters in what names stored objects and labels them
    ({**GOOD, "output": "s3://bucket-b/out\u0000.mp4"}, "invalid_option", "output"),
    ({**GOOD, "output": "s3://bucket-b/a\nb.mp4"}, "invalid_option", "output"),
    (with_kind("export", url="s3://bucket-b/x\u0000.mp4"), "invalid_option", "options.url"),
    ({**GOOD, "filename": "out\u0000.mp4"}, "invalid_option", "filename"),
    ({**GOOD, "filename": "out.mp4\n"}, "invalid_option", "filename"),
    ({**GOOD, "folder": "a\u0000/b"}, "invalid_option", "folder"),
    ({**GOOD, "ref": "r\u0007"}, "invalid_option", "ref"),
    ({**GOOD, "metadata": {"k\u0000": "v"}}, "invalid_option", "metadata"),
    ({**GOOD, "metadata": {"line\r\nbreak": "v"}}, "invalid_option", "metadata"),
    ({**GOOD, "metadata": {"c1\u0085": "v"}}, "invalid_option", "metadata"),
]


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from mediatasks import config
    from mediatasks.handlers import api

    monkeypatch.setenv("MEDIATASKS_TASKS_TABLE", "tasks")
    monkeypatch.setenv("MEDIATASKS_MEDIA_BUCKET", "media")
    monkeypatch.setenv("MEDIATASKS_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config.settings.cache_clear()
    api.service.cache_clear()


@pytest.mark.parametrize(("body", "kind", "field"), BAD_REQUESTS)
def test_bad_request_gets_a_specific_error(body: dict[str, Any], kind: str, field: str) -> None:
    status, error = call("POST", "/tasks", body)
    assert (status, error["kind"], error.get("field")) == (400, kind, field)
    assert error["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("page=0", "page"),
        ("sort=filesize", "sort"),
        ("order=up", "order"),
        ("status=ready", "status"),
        ("kind=VIDEO;drop", "kind"),
        ("cursor=abc", "cursor"),
    ],
)
def test_bad_list_query(query: str, field: str) -> None:
    status, error = call("GET", f"/tasks?{query}")
    assert (status, error["kind"], error.get("field")) == (400, "invalid_option", field)


@pytest.mark.parametrize("raw", ["{", "not json", '{"kind": "video",}'])
def test_malformed_json(raw: str) -> None:
    status, error = call("POST", "/tasks", raw=raw)
    assert (status, error["kind"]) == (400, "invalid_json")


def call_bytes(body: bytes) -> tuple[int, dict[str, Any]]:
    """POST /tasks with a body as the client sent it (base64-encoded by API Gateway if not UTF-8)."""
    event = proxy_event("POST", "/tasks", {"Content-Type": "application/json"}, body, "127.0.0.1")
    event["requestContext"]["authorizer"] = {"project_id": "prj_test"}
    context = LocalLambdaContext(function_name="ApiFunction", memory_limit_in_mb=512, timeout_seconds=29)
    reply = handler(event, context)
    return reply["statusCode"], json.loads(reply["body"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind": "video", "input": "https://example.com/\xff.mp4"}', "UTF-8"),
        (b'{"kind": "video", "input": "https://example.com/a.mp4", "ref": "\xc3\x28"}', "UTF-8"),
        (
            b'{"kind": "video", "input": "https://example.com/a.mp4", "metadata": {"n": '
            + b"9" * 5000
            + b"}}",
            "number",
        ),
        (
            b'{"kind": "image", "input": "https://example.com/a.png", "options": {"width": -'
            + b"1" * 4301
            + b"}}",
            "number",
        ),
    ],
    ids=["invalid-utf8", "invalid-utf8-sequence", "5000-digit-integer", "4301-digit-negative"],
)
def test_unreadable_bodies_are_invalid_json(body: bytes, message: str) -> None:
    status, error = call_bytes(body)
    assert (status, error["kind"]) == (400, "invalid_json")
    assert message in error["message"]


def test_a_long_number_in_a_string_is_only_text() -> None:
    status, error = call_bytes(
        b'{"kind": "video", "input": "https://example.com/a.mp4", "ref": "' + b"9" * 5000 + b'"}'
    )
    assert (status, error["kind"], error["field"]) == (400, "invalid_option", "ref")


@pytest.mark.parametrize("raw", ["[]", '"text"', "42"])
def test_body_must_be_an_object(raw: str) -> None:
    status, error = call("POST", "/tasks", raw=raw)
    assert (status, error["kind"]) == (400, "invalid_json")


@pytest.mark.parametrize(
    ("authorizer", "kind"),
    [
        ({}, "token_missing"),
        ({"auth_error": "token_invalid"}, "token_invalid"),
        ({"project_id": ""}, "token_missing"),
    ],
)
def test_unauthenticated_calls_are_refused_before_anything_else(
    authorizer: dict[str, str], kind: str
) -> None:
    for method, path, body in (
        ("POST", "/tasks", {"kind": "nope"}),
        ("GET", "/tasks/task_x", None),
        ("GET", "/x", None),
    ):
        status, error = call(method, path, body, authorizer=authorizer)
        assert (status, error["kind"]) == (401, kind)


@pytest.mark.parametrize("depth", [33, 5000, 10000])  # 10000 levels still fit in 64 KiB
def test_deep_nesting_is_refused_before_parsing(depth: int) -> None:
    for opening, closing in (("[", "]"), ('{"a":', "}")):
        status, error = call("POST", "/tasks", raw=opening * depth + "1" + closing * depth)
        assert (status, error["kind"]) == (400, "invalid_json")


def test_json_depth_counts_only_structure() -> None:
    from mediatasks.domain.requests import json_depth

    assert json_depth('{"a": [1, {"b": "[[[{{{"}], "c": "\\"[["}') == 3
    assert json_depth("[]") == 1
    assert json_depth('"plain"') == 0


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", ""])
def test_a_body_is_json_whatever_content_type_was_sent(content_type: str) -> None:
    event = proxy_event("POST", "/tasks", {"Content-Type": content_type}, b'{"kind": "video"}', "127.0.0.1")
    event["requestContext"]["authorizer"] = {"project_id": "prj_test"}
    context = LocalLambdaContext(function_name="ApiFunction", memory_limit_in_mb=512, timeout_seconds=29)
    error = json.loads(handler(event, context)["body"])
    assert (error["kind"], error["field"]) == ("input_required", "input")


def test_body_size_is_bounded() -> None:
    status, error = call("POST", "/tasks", {**GOOD, "metadata": {"k": "v" * 70_000}})
    assert (status, error["kind"]) == (413, "payload_too_large")


def test_unknown_route() -> None:
    status, error = call("GET", "/nothing")
    assert (status, error["kind"]) == (404, "not_found")


def test_error_bodies_carry_no_internals() -> None:
    for body, _, _ in BAD_REQUESTS:
        _, error = call("POST", "/tasks", body)
        text = json.dumps(error)
        for leak in ("Traceback", "/work/", "site-packages", "pydantic"):
            assert leak.lower() not in text.lower()


def test_an_idempotency_key_longer_than_255_characters_is_refused() -> None:
    status, error = call("POST", "/tasks", GOOD, headers={"Idempotency-Key": "k" * 256})
    assert (status, error["kind"], error["field"]) == (400, "invalid_idempotency_key", "Idempotency-Key")


@pytest.mark.parametrize(
    ("body", "kind", "field"),
    [
        ({**GOOD, "kind": "thumbnails", "options": {"format": "png"}}, "invalid_format", "options.format"),
        ({**GOOD, "kind": "thumbnails", "options": {"width": 15}}, "invalid_option", "options.width"),
        (
            {**GOOD, "kind": "thumbnails", "options": {"width": 640, "columns": 10}},
            "invalid_option",
            "options.columns",
        ),
        ({**GOOD, "kind": "subtitles", "options": {"format": "ass"}}, "invalid_format", "options.format"),
        ({**GOOD, "kind": "speech", "options": {"language": "EN"}}, "invalid_option", "options.language"),
        ({**GOOD, "kind": "chapters", "options": {"threshold": 2}}, "invalid_option", "options.threshold"),
        (
            {**GOOD, "kind": "chapters", "options": {"max_chapters": 0}},
            "invalid_option",
            "options.max_chapters",
        ),
    ],
)
def test_track_kind_options_are_checked(body: dict[str, Any], kind: str, field: str) -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_request(body)
    assert (refused.value.kind, refused.value.field) == (kind, field)
