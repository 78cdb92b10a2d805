"""The local API's own HTTP handling, before any function runs: request framing and the
authorizer's result cache. The emulator is not started: nothing here reaches it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from mediatasks.local.cloud import LocalCloud
from mediatasks.local.http_api import MAX_CACHED_AUTHORIZATIONS, LocalApi, LocalAuthorizer, _ApiServer

# a hung request thread shows as this timeout, not as a test that never ends
REPLY_SECONDS = 10


@pytest.fixture(scope="module")
def local_api(template: dict[str, Any]) -> Iterator[LocalApi]:
    api = LocalApi(LocalCloud(template), "127.0.0.1", 0)
    api.start()
    yield api
    api.stop()


def raw_request(api: LocalApi, request: bytes) -> tuple[int, dict[str, Any]]:
    with socket.create_connection(("127.0.0.1", api.port), timeout=REPLY_SECONDS) as connection:
        connection.sendall(request)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "+5", " -0"])
def test_a_content_length_that_is_no_number_is_refused_at_once(local_api: LocalApi, length: str) -> None:
    request = f"POST /tasks HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\n\r\n{{}}".encode()
    status, error = raw_request(local_api, request)
    assert (status, error["kind"]) == (400, "invalid_json")
    assert "Content-Length" in error["message"]


def test_the_authorizer_cache_is_bounded(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    authorizer = LocalAuthorizer(LocalCloud(template))
    calls: list[str] = []

    def refuse(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event["authorizationToken"])
        statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}
        return {"principalId": "invalid-key", "policyDocument": {"Statement": [statement]}, "context": {}}

    monkeypatch.setattr(authorizer, "_handler", refuse)
    for index in range(MAX_CACHED_AUTHORIZATIONS * 3):
        authorizer.authorize(f"Bearer random-{index}", "GET", "/tasks")
    assert authorizer.cached_tokens() == MAX_CACHED_AUTHORIZATIONS
    # the newest are kept: asking again for the last token is answered from the cache
    authorizer.authorize(f"Bearer random-{MAX_CACHED_AUTHORIZATIONS * 3 - 1}", "GET", "/tasks")
    assert len(calls) == MAX_CACHED_AUTHORIZATIONS * 3


def test_a_port_already_taken_is_reported_as_such() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use"):
            _ApiServer(taken.getsockname(), BaseHTTPRequestHandler)
