"""The API Lambda: routes, validation and error shapes. Logic lives in the task service."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediatasks.config import settings
from mediatasks.constants import MAX_BODY_BYTES
from mediatasks.domain.errors import ApiError
from mediatasks.domain.listing import ListQuery
from mediatasks.domain.requests import (
    MAX_JSON_DEPTH,
    CreateTaskRequest,
    api_error_from_validation,
    json_depth,
)
from mediatasks.handlers.authorizer import INVALID
from mediatasks.service.tasks import TaskService

logger = Logger(service="mediatasks-api")
tracer = Tracer(service="mediatasks-api")
app = APIGatewayRestResolver(enable_validation=True)
OPENAPI_PATH = "/openapi.json"


def openapi_document() -> str:
    """The API's OpenAPI document, generated from the routes and their pydantic models."""
    return app.get_openapi_json_schema(
        title="mediatasks",
        version="0.1.0",
        summary="Self-hosted media processing Tasks API",
        security_schemes={"bearer": HTTPBearer(description="an API key: Authorization: Bearer <key>")},
        security=[{"bearer": []}],
    )


@lru_cache(maxsize=1)
def service() -> TaskService:
    return TaskService.from_settings(settings())


def _error_response(error: ApiError) -> Response[str]:
    return Response(
        status_code=error.status, content_type=content_types.APPLICATION_JSON, body=json.dumps(error.body())
    )


def _refusal(event: dict[str, Any]) -> ApiError | None:
    """Why the caller is not authenticated, from what the authorizer attached (None: they are)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if authorizer.get("project_id"):
        return None
    if authorizer.get("auth_error") == INVALID:
        return ApiError(401, "token_invalid", "the API key is not valid")
    return ApiError(401, "token_missing", "send your API key as `Authorization: Bearer <key>`")


def _refused_before_routing(event: dict[str, Any]) -> ApiError | None:
    """The checks API Gateway and the parser rely on: a key (except for the API's description),
    a bounded body of UTF-8 text, bounded nesting (Python's JSON decoder recurses) and numbers
    Python will convert (it refuses integers of more than sys.get_int_max_str_digits() digits)."""
    refusal = None if event.get("path") == OPENAPI_PATH else _refusal(event)
    body = event.get("body") or ""
    if refusal is None and len(body) > MAX_BODY_BYTES:
        refusal = ApiError(
            413, "payload_too_large", f"the request body is larger than {MAX_BODY_BYTES} bytes"
        )
    text = _body_text(body, encoded=bool(event.get("isBase64Encoded")))
    if refusal is None and text is None:
        refusal = ApiError(400, "invalid_json", "the request body is not UTF-8 text")
    if refusal is None and json_depth(text or "") > MAX_JSON_DEPTH:
        refusal = ApiError(400, "invalid_json", f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    if refusal is None and text and _has_unreadable_number(text):
        refusal = ApiError(400, "invalid_json", "the request body has a number too long to read")
    return refusal


def _body_text(body: str, *, encoded: bool) -> str | None:
    """The body as text (API Gateway base64-encodes a body that is not UTF-8), or None if it is not."""
    if not encoded:
        return body
    try:
        return base64.b64decode(body).decode("utf-8")
    except ValueError:  # not base64, or not UTF-8 (UnicodeDecodeError)
        return None


def _has_unreadable_number(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False  # malformed JSON: the request validation says so
    except ValueError:  # an integer longer than Python converts
        return True
    return False


def caller_project() -> str:
    return str(app.current_event.request_context.authorizer.raw_event["project_id"])


@app.post("/tasks")
def create_task(request: Annotated[CreateTaskRequest, Body(embed=False)]) -> Response[str]:
    tasks = service()
    task = tasks.create(caller_project(), request)
    return Response(
        status_code=201, content_type=content_types.APPLICATION_JSON, body=json.dumps(tasks.present(task))
    )


@app.get("/tasks")
def list_tasks(params: Annotated[ListQuery, Query()]) -> dict[str, Any]:
    return service().list(caller_project(), params)


@app.get(OPENAPI_PATH, include_in_schema=False)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@app.get("/tasks/<task_id>")
def get_task(task_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    tasks = service()
    return tasks.present(tasks.get(caller_project(), task_id))


@app.post("/tasks/<task_id>/cancel")
def cancel_task(task_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    tasks = service()
    return tasks.present(tasks.cancel(caller_project(), task_id))


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[str]:
    return _error_response(api_error_from_validation(list(error.errors())))


@app.exception_handler(ApiError)
def _api_error(error: ApiError) -> Response[str]:
    return _error_response(error)


@app.not_found
def _no_route(_: Exception) -> Response[str]:
    return _error_response(ApiError(404, "not_found", "no such route"))


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return _error_response(ApiError(500, "internal_error", "something went wrong on our side; please retry"))


def _as_json(event: dict[str, Any]) -> dict[str, Any]:
    """This API only speaks JSON: a body is JSON whatever Content-Type the client sent (Powertools
    would otherwise read a form-encoded body, as curl -d sends, as form fields)."""
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    return event | {
        "headers": headers | {"Content-Type": "application/json"},
        "multiValueHeaders": multi | {"Content-Type": ["application/json"]},
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = _as_json(event)
    refusal = _refused_before_routing(event)
    if refusal is not None:
        # before routing: an unauthenticated caller learns nothing, not even whether its body is valid
        return {
            "statusCode": refusal.status,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps(refusal.body()),
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)
