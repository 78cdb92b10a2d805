"""API keys: parsing the header, hashing, and the authorizer's answer."""

from __future__ import annotations

from typing import Any

import pytest

from mediatasks.domain.keys import KEY_PREFIX, bearer_token, key_hash, new_api_key
from mediatasks.handlers import authorizer
from mediatasks.local.cloud import LocalLambdaContext


def test_keys_are_random_and_prefixed() -> None:
    keys = {new_api_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(k.startswith(KEY_PREFIX) and len(k) >= 40 for k in keys)


def test_only_the_hash_is_kept() -> None:
    key = new_api_key()
    assert key not in key_hash(key)
    assert key_hash(key) == key_hash(key)
    assert len(key_hash(key)) == 64


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("  Bearer   abc  ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("abc", None),
        ("Bearer a b", None),
        ("", None),
        (None, None),
        ("Bearer " + "x" * 300, None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


class FakeKeys:
    def project_of(self, key: str) -> str | None:
        return {"mtk_good": "prj_a"}.get(key)


def authorize(header: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(authorizer, "keys", lambda: FakeKeys())
    event = {
        "type": "TOKEN",
        "authorizationToken": header,
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1/GET/tasks/task_1",
    }
    context = LocalLambdaContext(
        function_name="AuthorizerFunction", memory_limit_in_mb=256, timeout_seconds=10
    )
    result: dict[str, Any] = authorizer.handler(event, context)
    return result


def test_a_valid_key_carries_its_project(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = authorize("Bearer mtk_good", monkeypatch)
    assert policy["context"] == {"project_id": "prj_a"}
    assert policy["principalId"] == "prj_a"
    (statement,) = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1/*/*"]


@pytest.mark.parametrize("header", ["Bearer mtk_bad", "Basic mtk_good", "mtk_good"])
def test_an_invalid_key_is_marked_for_the_api_to_refuse(header: str, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = authorize(header, monkeypatch)
    assert policy["context"] == {"auth_error": "token_invalid"}
    assert "project_id" not in policy["context"]
