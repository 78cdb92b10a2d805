"""The API Lambda: routes, validation and error shapes. Logic lives in the task service."""

from __future__ import annotations

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
from mediatasks.contract.common import Exchange
from mediatasks.contract.versions import ApiVersion, Shape, latest_query, render, requested_version
from mediatasks.contract.versions import openapi_parameter as version_parameter
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
VERSION_CONTEXT = "api_version"
ASKED_CONTEXT = "api_exchange"  # the request as the caller sent it, before its query was translated


def openapi_document() -> str:
    """The API's OpenAPI document, generated from the routes and their pydantic models; every
    operation takes the Accept-Version header, which is read before routing."""
    document = json.loads(
        app.get_openapi_json_schema(
            title="mediatasks",
            version="0.1.0",
            summary="Self-hosted media processing Tasks API",
            security_schemes={"bearer": HTTPBearer(description="an API key: Authorization: Bearer <key>")},
            security=[{"bearer": []}],
        )
    )
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.setdefault("parameters", []).append(version_parameter())
    return json.dumps(document, indent=2)


@lru_cache(maxsize=1)
def service() -> TaskService:
    return TaskService.from_settings(settings())


def _exchange(event: dict[str, Any]) -> Exchange:
    return Exchange(
        method=event.get("httpMethod") or "",
        path=event.get("path") or "",
        query=event.get("queryStringParameters") or {},
        request_id=(event.get("requestContext") or {}).get("requestId") or "",
    )


def _in_version(
    version: ApiVersion, shape: Shape, status: int, latest: Any, asked: Exchange
) -> Response[str]:
    """The one place a latest body becomes the caller's version of it."""
    rendered = render(version, shape, latest, status, asked)
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(rendered.body),
        headers=rendered.headers,
    )


def _answer(shape: Shape, status: int, latest: Any) -> Response[str]:
    """A route's reply, in the version the caller asked for (read before routing)."""
    return _in_version(app.context[VERSION_CONTEXT], shape, status, latest, app.context[ASKED_CONTEXT])


def _error_response(error: ApiError) -> Response[str]:
    return _answer("error", error.status, error.body())


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
    a bounded body, and bounded nesting (Python's JSON decoder recurses)."""
    refusal = None if event.get("path") == OPENAPI_PATH else _refusal(event)
    body = event.get("body") or ""
    if refusal is None and len(body) > MAX_BODY_BYTES:
        refusal = ApiError(
            413, "payload_too_large", f"the request body is larger than {MAX_BODY_BYTES} bytes"
        )
    if refusal is None and json_depth(body) > MAX_JSON_DEPTH:
        refusal = ApiError(400, "invalid_json", f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    return refusal


def caller_project() -> str:
    return str(app.current_event.request_context.authorizer.raw_event["project_id"])


@app.post("/tasks")
def create_task(request: Annotated[CreateTaskRequest, Body(embed=False)]) -> Response[str]:
    tasks = service()
    task = tasks.create(caller_project(), request)
    return _answer("task", 201, tasks.present(task))


@app.get("/tasks")
def list_tasks(params: Annotated[ListQuery, Query()]) -> Response[str]:
    return _answer("list", 200, service().list(caller_project(), params))


@app.get(OPENAPI_PATH, include_in_schema=False)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@app.get("/tasks/<task_id>")
def get_task(task_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    tasks = service()
    return _answer("task", 200, tasks.present(tasks.get(caller_project(), task_id)))


@app.post("/tasks/<task_id>/cancel")
def cancel_task(task_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    tasks = service()
    return _answer("task", 200, tasks.present(tasks.cancel(caller_project(), task_id)))


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


def _in_latest_terms(event: dict[str, Any]) -> tuple[dict[str, Any], ApiVersion, ApiError | None]:
    """The caller's version, the event with its query in the latest's terms, and why the request is
    refused before routing (None: it is not)."""
    try:
        version = requested_version(event.get("headers"))
    except ApiError as unknown_version:
        return event, ApiVersion.latest, _refused_before_routing(event) or unknown_version
    refusal = _refused_before_routing(event)
    if refusal is not None:
        return event, version, refusal
    try:
        query = latest_query(version, _exchange(event))
    except ApiError as unsupported:
        return event, version, unsupported
    if query == (event.get("queryStringParameters") or {}):
        return event, version, None
    multi = {name: [value] for name, value in query.items()}
    return event | {"queryStringParameters": query, "multiValueQueryStringParameters": multi}, version, None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = _as_json(event)
    asked = _exchange(event)
    event, version, refusal = _in_latest_terms(event)
    if refusal is not None:
        # before routing: an unauthenticated caller learns nothing, not even whether its body is valid
        reply = _in_version(version, "error", refusal.status, refusal.body(), asked)
        return {
            "statusCode": reply.status_code,
            "headers": reply.headers,
            "body": reply.body,
            "isBase64Encoded": False,
        }
    app.context.update({VERSION_CONTEXT: version, ASKED_CONTEXT: asked})  # resolve() clears it when done
    return app.resolve(event, context)
