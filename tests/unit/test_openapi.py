"""The OpenAPI document: generated from the same models, served without a key, committed and current."""

from __future__ import annotations

import json
from pathlib import Path

from mediatasks.handlers.api import handler, openapi_document
from mediatasks.local.cloud import LocalLambdaContext
from mediatasks.local.http_api import proxy_event

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_document_is_current() -> None:
    assert json.loads(COMMITTED.read_text()) == json.loads(openapi_document()), "run `make openapi`"


def test_served_without_a_key() -> None:
    event = proxy_event("GET", "/openapi.json", {}, b"", "127.0.0.1")
    context = LocalLambdaContext(function_name="ApiFunction", memory_limit_in_mb=512, timeout_seconds=29)
    reply = handler(event, context)
    assert reply["statusCode"] == 200
    assert json.loads(reply["body"]) == json.loads(openapi_document())


def test_documents_every_route_and_the_option_models() -> None:
    document = json.loads(openapi_document())
    assert set(document["paths"]) == {
        "/tasks",
        "/tasks/{task_id}",
        "/tasks/{task_id}/cancel",
        "/tasks/{task_id}/webhooks",
        "/tasks/{task_id}/webhooks/replay",
        "/webhooks/secret",
        "/files",
        "/files/{file_id}",
        "/media",
        "/media/{media_id}",
        "/automations",
        "/automations/{automation_id}",
        "/signatures",
        "/signed",
        "/uploads",
        "/uploads/{upload_id}",
        "/uploads/{upload_id}/parts",
        "/uploads/{upload_id}/complete",
        "/playback/{task_id}/{name}",
        "/playback/{task_id}/{folder}/{name}",
    }
    assert set(document["paths"]["/tasks"]) == {"get", "post"}
    assert set(document["paths"]["/files/{file_id}"]) == {"get", "patch", "delete"}
    assert set(document["paths"]["/signed"]) == {"get", "put"}
    schemas = document["components"]["schemas"]
    assert {"VideoTaskRequest", "AudioTaskRequest", "VideoOptions", "AudioOptions"} <= set(schemas)
    assert schemas["AudioOptions"]["properties"]["format"]["enum"] == [
        "mp3",
        "aac",
        "ogg",
        "opus",
        "wav",
        "flac",
    ]
    assert schemas["VideoOptions"]["properties"]["format"]["enum"] == ["mp4", "webm", "mov"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
