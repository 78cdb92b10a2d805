"""The web console's files, as the API function serves them: public, under a strict CSP, only the
files the package holds."""

from __future__ import annotations

from typing import Any

import pytest

from mediatasks.constants import ENV_MEDIA_BUCKET
from mediatasks.handlers.api import handler
from mediatasks.local.cloud import LocalLambdaContext
from mediatasks.local.http_api import proxy_event
from mediatasks.local.template import route_matches


@pytest.fixture(autouse=True)
def storage(monkeypatch: pytest.MonkeyPatch) -> None:
    """A presigned link is signed offline; these are the credentials it is signed with."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv(ENV_MEDIA_BUCKET, "media-bucket")


def get(path: str) -> dict[str, Any]:
    """GET `path` with no key at all, as a browser first opens the console; the reply's headers
    by lower-case name."""
    event = proxy_event("GET", path, {}, b"", "127.0.0.1")
    context = LocalLambdaContext(function_name="ApiFunction", memory_limit_in_mb=512, timeout_seconds=29)
    reply: dict[str, Any] = handler(event, context)
    headers = {name.lower(): value for name, value in (reply.get("headers") or {}).items()}
    for name, values in (reply.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(values)
    return reply | {"headers": headers}


def test_the_page_is_served_without_a_key_under_a_policy_allowing_no_inline_code() -> None:
    reply = get("/console/index.html")
    assert reply["statusCode"] == 200
    assert '<script type="module" src="app.js"></script>' in reply["body"]
    headers = reply["headers"]
    assert headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(part.split(" ", 1) for part in headers["content-security-policy"].split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    # the API, and the storage its links name
    assert policy["connect-src"] == "'self' https://media-bucket.s3.amazonaws.com"
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "location"), [("/console", "console/index.html"), ("/console/", "index.html")]
)
def test_the_console_is_sent_to_its_page_relatively(path: str, location: str) -> None:
    reply = get(path)
    assert reply["statusCode"] == 308
    assert reply["headers"]["location"] == location  # relative: a deployed stage's prefix is kept


def test_modules_are_served_as_javascript() -> None:
    reply = get("/console/app.js")
    assert reply["statusCode"] == 200
    assert reply["headers"]["content-type"] == "text/javascript; charset=utf-8"


@pytest.mark.parametrize(
    "path",
    ["/console/nothing.js", "/console/..%2Fhandlers%2Fapi.py", "/console/vendor/..", "/console/api.py"],
)
def test_only_the_consoles_own_files_are_served(path: str) -> None:
    reply = get(path)
    assert reply["statusCode"] == 404
    assert "def " not in reply["body"]


def test_the_local_gateway_matches_the_consoles_public_resources_as_api_gateway_does() -> None:
    assert route_matches("/console", "/console")
    assert route_matches("/console/{path+}", "/console/index.html")
    assert route_matches("/console/{path+}", "/console/vendor/hls.min.mjs")
    assert not route_matches("/console/{path+}", "/console/")
    assert not route_matches("/console", "/consoles")
