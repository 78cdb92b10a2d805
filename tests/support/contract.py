"""Every response the end-to-end suites see is checked against the API's own OpenAPI document, so the
published contract cannot drift from what the API answers."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from mediatasks.handlers.api import OPENAPI_PATH, openapi_document


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(openapi_document())
    return document


def _operation(method: str, path: str) -> dict[str, Any] | None:
    """The documented operation serving `method path` (query string ignored), if any."""
    route = path.split("?", 1)[0]
    for template, operations in _document()["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, route) and method.lower() in operations:
            operation: dict[str, Any] = operations[method.lower()]
            return operation
    return None


def check_response(method: str, path: str, status: int, body: Any) -> None:
    """Fails unless the body is what the document says `method path` answers with `status`. A path
    no route serves is answered with the error body."""
    if path.split("?", 1)[0] == OPENAPI_PATH:
        return  # the document itself, which describes the API but is not part of it
    operation = _operation(method, path)
    if operation is None:
        schema: dict[str, Any] = {"$ref": "#/components/schemas/ErrorBody"}
    else:
        documented = operation["responses"]
        assert str(status) in documented, f"{method} {path} answered {status}, not in {sorted(documented)}"
        schema = documented[str(status)]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": _document()["components"]})
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    assert not errors, f"{method} {path} {status}: " + "; ".join(
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors[:5]
    )
