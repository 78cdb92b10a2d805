"""The API Lambda: routes, validation and error shapes. Logic lives in the task service."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from mediatasks.config import settings
from mediatasks.constants import AUTH_ERROR_INVALID_KEY, CONSOLE_ROUTE, MAX_BODY_BYTES, SIGNED_ROUTE
from mediatasks.contract.common import Exchange
from mediatasks.contract.latest import (
    AutomationList,
    AutomationResource,
    Confirmation,
    ErrorBody,
    FileList,
    FileResource,
    MediaList,
    MediaResource,
    PartLinks,
    Signature,
    TaskList,
    TaskView,
    Upload,
    UploadProgress,
)
from mediatasks.contract.versions import ApiVersion, Shape, latest_query, render, requested_version
from mediatasks.contract.versions import openapi_parameter as version_parameter
from mediatasks.contract.webhooks import WebhookAttemptList, WebhookReplay, WebhookSecret
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.files import FileCreate, FileUpdate, MediaCreate, MediaUpdate
from mediatasks.domain.listing import ListQuery, PageQuery
from mediatasks.domain.playback import PLAYBACK_ROUTE, PLAYLIST_CONTENT_TYPE, TRACK_CONTENT_TYPE
from mediatasks.domain.requests import MAX_JSON_DEPTH, TaskRequest, json_depth
from mediatasks.domain.signatures import SignatureRequest
from mediatasks.domain.uploads import PartRequest, UploadCreate
from mediatasks.handlers import console, idempotency
from mediatasks.kinds.registry import rejection_from, request_union
from mediatasks.service.automation_requests import AutomationCreate, AutomationUpdate

# The services (and the boto3 their adapters import, ~130 ms) are imported when a request first
# needs one, not during the module's cold import.
if TYPE_CHECKING:
    from mediatasks.service.automations import AutomationService
    from mediatasks.service.files import FileService
    from mediatasks.service.playback import PlaybackService
    from mediatasks.service.signatures import Endpoint, SignatureService
    from mediatasks.service.tasks import TaskService
    from mediatasks.service.uploads import UploadService
    from mediatasks.service.webhooks import WebhookService

if TYPE_CHECKING:
    # Statically every member of the union is a TaskRequest; at run time it is built from the registry.
    CreateTaskRequest = TaskRequest
else:
    CreateTaskRequest = request_union()

logger = Logger(service="mediatasks-api")
app = APIGatewayRestResolver(enable_validation=True)
OPENAPI_PATH = "/openapi.json"
VERSION_CONTEXT = "api_version"
ASKED_CONTEXT = "api_exchange"  # the request as the caller sent it, before its query was translated

# The HTTP status of each refusal (SPEC.md, Errors).
HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.input_required: 400,
    ErrorKind.invalid_input: 400,
    ErrorKind.invalid_format: 400,
    ErrorKind.invalid_codec: 400,
    ErrorKind.invalid_option: 400,
    ErrorKind.invalid_json: 400,
    ErrorKind.invalid_version: 400,
    ErrorKind.kind_unsupported: 400,
    ErrorKind.invalid_idempotency_key: 400,
    ErrorKind.token_missing: 401,
    ErrorKind.token_invalid: 401,
    ErrorKind.signature_invalid: 403,
    ErrorKind.signature_expired: 403,
    ErrorKind.not_found: 404,
    ErrorKind.task_not_found: 404,
    ErrorKind.task_not_cancellable: 409,
    ErrorKind.webhook_unavailable: 409,
    ErrorKind.file_in_use: 409,
    ErrorKind.upload_incomplete: 409,
    ErrorKind.request_in_progress: 409,
    ErrorKind.payload_too_large: 413,
    ErrorKind.idempotency_key_reused: 422,
    ErrorKind.rate_limited: 429,
    ErrorKind.internal_error: 500,
}


def _error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """The OpenAPI entries of the refusals a route can answer, each naming its possible kinds."""
    return {
        status: {
            "description": "Refused: "
            + ", ".join(kind.value for kind, kind_status in HTTP_STATUS.items() if kind_status == status),
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
        for status in statuses
    }


def _body_response(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}


# Every route may be refused for its key, its rate, an oversized request (headers, path, query) or
# on our side.
_ANY_ROUTE = (401, 413, 429, 500)


# Powertools builds a route's validation model on first use, and its document generator fails
# (KeyError) when another thread builds one while it runs: one document at a time, made once.
_DOCUMENT_LOCK = threading.Lock()


def openapi_document() -> str:
    with _DOCUMENT_LOCK:
        return _openapi_document()


@lru_cache(maxsize=1)
def _openapi_document() -> str:
    """The API's OpenAPI document, generated from the routes and their pydantic models.

    Powertools documents a 422 for every validated route; this API answers validation errors
    with 400 and the error body instead (`_invalid_request`), so those entries are removed (a
    route's own 422, such as idempotency_key_reused, stays). Signed URLs need no key. Every
    operation takes the Accept-Version header, which is read before routing; the bodies documented
    are the latest version's."""
    # Powertools' OpenAPI models cost a cold start ~150 ms to import: only this document needs them.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    schema = app.get_openapi_schema(
        title="mediatasks",
        version="0.1.0",
        summary="Self-hosted media processing Tasks API",
        security_schemes={"bearer": HTTPBearer(description="an API key: Authorization: Bearer <key>")},
        security=[{"bearer": []}],
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if path == SIGNED_ROUTE:
                operation["security"] = []  # no key: the signature in the query is the credential
            if "HTTPValidationError" in json.dumps(operation["responses"].get("422", {})):
                operation["responses"].pop("422")
            operation.setdefault("parameters", []).append(version_parameter())
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schema["components"]["schemas"].pop(unused, None)
    return json.dumps(schema, indent=2)


@lru_cache(maxsize=1)
def service() -> TaskService:
    from mediatasks.service.tasks import TaskService

    return TaskService.from_settings(settings())


def presenting() -> TaskService:
    """The task service showing HLS outputs by playback URLs at the address the caller reached."""
    return replace(service(), playback_base_url=_endpoint().base_url)


@lru_cache(maxsize=1)
def webhooks() -> WebhookService:
    from mediatasks.service.webhooks import WebhookService

    return WebhookService.from_settings(settings(), service())


def _exchange(event: dict[str, Any]) -> Exchange:
    return Exchange(
        method=event.get("httpMethod") or "",
        path=event.get("path") or "",
        query=event.get("queryStringParameters") or {},
        request_id=(event.get("requestContext") or {}).get("requestId") or "",
    )


def _in_version(
    version: ApiVersion, shape: Shape, status: int, latest: BaseModel, asked: Exchange
) -> Response[str]:
    """The one place a latest body becomes the caller's version of it."""
    body = latest.model_dump(mode="json", exclude_none=isinstance(latest, ErrorBody))
    rendered = render(version, shape, body, status, asked)
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(rendered.body),
        headers=rendered.headers,
    )


def _answer(shape: Shape, status: int, latest: BaseModel) -> Response[str]:
    """A route's reply, in the version the caller asked for (read before routing)."""
    return _in_version(app.context[VERSION_CONTEXT], shape, status, latest, app.context[ASKED_CONTEXT])


def _reply(status: int, body: BaseModel) -> Response[str]:
    """A body with one shape in every version: the webhook resources, newer than the dated versions."""
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json()
    )


def _error_body(error: RequestRejected) -> ErrorBody:
    return ErrorBody(kind=error.kind, message=error.message, field=error.field)


def _error_response(error: RequestRejected) -> Response[str]:
    return _answer("error", HTTP_STATUS[error.kind], _error_body(error))


def _refusal(event: dict[str, Any]) -> RequestRejected | None:
    """Why the caller is not authenticated, from what the authorizer attached (None: they are)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if authorizer.get("project_id"):
        return None
    if authorizer.get("auth_error") == AUTH_ERROR_INVALID_KEY:
        return RequestRejected(ErrorKind.token_invalid, "the API key is not valid")
    return RequestRejected(ErrorKind.token_missing, "send your API key as `Authorization: Bearer <key>`")


def _refused_before_routing(event: dict[str, Any]) -> RequestRejected | None:
    """The checks API Gateway and the parser rely on: a key (except for the API's description and
    signed URLs), a bounded body of UTF-8 text, bounded nesting (Python's JSON decoder recurses) and
    numbers Python will convert (it refuses integers of more than sys.get_int_max_str_digits() digits)."""
    if event.get("path") == SIGNED_ROUTE or str(event.get("path")).startswith(f"{PLAYBACK_ROUTE}/"):
        return None  # the signature is the credential, and the body is the file being uploaded
    refusal = None if _is_public(event.get("path") or "") else _refusal(event)
    body = event.get("body") or ""
    if refusal is None and len(body) > MAX_BODY_BYTES:
        refusal = RequestRejected(
            ErrorKind.payload_too_large, f"the request body is larger than {MAX_BODY_BYTES} bytes"
        )
    text = _body_text(body, encoded=bool(event.get("isBase64Encoded")))
    if refusal is None and text is None:
        refusal = RequestRejected(ErrorKind.invalid_json, "the request body is not UTF-8 text")
    if refusal is None and json_depth(text or "") > MAX_JSON_DEPTH:
        refusal = RequestRejected(
            ErrorKind.invalid_json, f"the request body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    if refusal is None and text and _has_unreadable_number(text):
        refusal = RequestRejected(ErrorKind.invalid_json, "the request body has a number too long to read")
    return refusal


def _is_public(path: str) -> bool:
    """The API's description and the console's files need no key (the console asks for one)."""
    return path in (OPENAPI_PATH, CONSOLE_ROUTE) or path.startswith(CONSOLE_ROUTE + "/")


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


@app.post(
    "/tasks",
    summary="Create a task",
    responses={
        201: _body_response(
            "The task, created and started (or, for a repeated Idempotency-Key, the first reply again)",
            TaskView,
        ),
        **_error_responses(400, 409, 422, *_ANY_ROUTE),
    },
)
def create_task(request: Annotated[CreateTaskRequest, Body(embed=False)]) -> Response[str]:
    tasks, project, version = presenting(), caller_project(), app.context[VERSION_CONTEXT]
    key = idempotency.checked_key(app.current_event.headers.get(idempotency.IDEMPOTENCY_HEADER))

    def make() -> dict[str, Any]:
        return tasks.present(tasks.create(project, request, version.value)).model_dump(mode="json")

    if key is None:
        return _answer("task", 201, TaskView.model_validate(make()))
    same_request = {"body": app.current_event.json_body, "version": version.value}
    return _answer(
        "task", 201, TaskView.model_validate(idempotency.once_per_key(project, key, same_request, make))
    )


@app.get(
    "/tasks",
    summary="List the project's tasks",
    responses={200: _body_response("A page of tasks", TaskList), **_error_responses(400, *_ANY_ROUTE)},
)
def list_tasks(params: Annotated[ListQuery, Query()]) -> Response[str]:
    return _answer("list", 200, presenting().list(caller_project(), params))


@app.get(OPENAPI_PATH, include_in_schema=False)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@app.get(CONSOLE_ROUTE, include_in_schema=False)
def console_page() -> Response[str]:
    """/console is sent to the page, /console/index.html: the page names its files relative to it."""
    # relative, so a deployed stage's prefix (/prod/console) is kept; /console/ is the same resource
    location = console.INDEX if app.current_event.path.endswith("/") else f"console/{console.INDEX}"
    return Response(status_code=308, body="", headers={"Location": location})


@app.get(CONSOLE_ROUTE + "/<name>", include_in_schema=False)
def console_file(name: str) -> Response[str]:
    return _console_file(name)


@app.get(CONSOLE_ROUTE + "/vendor/<name>", include_in_schema=False)
def console_vendor_file(name: str) -> Response[str]:
    return _console_file(f"vendor/{name}")


def _console_file(name: str) -> Response[str]:
    path = console.console_files().get(name)
    if path is None:
        raise RequestRejected(ErrorKind.not_found, "no such console file")
    return Response(
        status_code=200,
        content_type=console.content_type(name),
        body=path.read_text(encoding="utf-8"),
        headers=console.console_headers(_storage_origin()),
    )


@lru_cache(maxsize=1)
def _storage_origin() -> str:
    """Where the API's links into managed storage point (a presigned link is made without a call)."""
    from mediatasks.adapters.storage import Storage
    from mediatasks.domain.tasks import StoredObject

    link = Storage().presigned_url(StoredObject(bucket=settings().media_bucket, key=console.INDEX), 60)
    return console.origin_of(link)


@app.get(
    "/tasks/<task_id>",
    summary="Get a task",
    responses={200: _body_response("The task", TaskView), **_error_responses(404, *_ANY_ROUTE)},
)
def get_task(task_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    tasks = presenting()
    return _answer("task", 200, tasks.present(tasks.get(caller_project(), task_id)))


@app.post(
    "/tasks/<task_id>/cancel",
    summary="Cancel a task that has not ended",
    responses={
        200: _body_response("The task, cancelled", TaskView),
        **_error_responses(404, 409, *_ANY_ROUTE),
    },
)
def cancel_task(task_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    tasks = presenting()
    return _answer("task", 200, tasks.present(tasks.cancel(caller_project(), task_id)))


@app.get(
    "/tasks/<task_id>/webhooks",
    summary="List the task's webhook attempts",
    responses={
        200: _body_response("Every attempt at delivering the task's webhooks", WebhookAttemptList),
        **_error_responses(404, *_ANY_ROUTE),
    },
)
def list_webhook_attempts(task_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    return _reply(200, webhooks().attempts(caller_project(), task_id))


@app.post(
    "/tasks/<task_id>/webhooks/replay",
    summary="Send the task's terminal event again, as a new delivery",
    responses={
        202: _body_response("The new delivery, started", WebhookReplay),
        **_error_responses(404, 409, *_ANY_ROUTE),
    },
)
def replay_webhook(task_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    return _reply(202, webhooks().replay(caller_project(), task_id))


@app.post(
    "/webhooks/secret",
    summary="Rotate the project's webhook signing secret",
    responses={
        201: _body_response(
            "The new secret, shown once; the previous one signs beside it until previous_expires_at",
            WebhookSecret,
        ),
        **_error_responses(409, *_ANY_ROUTE),
    },
)
def rotate_webhook_secret() -> Response[str]:
    return _reply(201, webhooks().rotate(caller_project()))


def files() -> FileService:
    from mediatasks.service.files import FileService

    return FileService(presenting())  # a view of the cached task service: nothing of its own to cache


def signatures() -> SignatureService:
    from mediatasks.service.signatures import SignatureService

    return SignatureService(files())


def uploads() -> UploadService:
    from mediatasks.service.uploads import UploadService

    return UploadService(files())


def _endpoint() -> Endpoint:
    """The API's host and base URL as the caller reached it: API Gateway's request path carries
    the stage (`/prod/signatures` for `/signatures`), and its proxy tells the scheme."""
    from mediatasks.service.signatures import Endpoint

    event = app.current_event
    host = event.headers.get("Host") or event.headers.get("host") or ""
    scheme = event.headers.get("X-Forwarded-Proto") or event.headers.get("x-forwarded-proto") or "http"
    full_path = str(event.request_context.path or event.path)
    prefix = full_path[: len(full_path) - len(event.path)] if full_path.endswith(event.path) else ""
    return Endpoint(domain=host, base_url=f"{scheme}://{host}{prefix}")


_FILE_ID = Annotated[str, Path(max_length=80)]
_PLAYLIST_NAME = Annotated[str, Path(max_length=128)]
_UPLOAD_ID = Annotated[str, Path(max_length=1536)]


@app.post(
    "/files",
    summary="Ingest the file at a URL into managed storage",
    responses={
        201: _body_response("The file, waiting for its ingest task", FileResource),
        **_error_responses(400, *_ANY_ROUTE),
    },
)
def create_file(request: Annotated[FileCreate, Body(embed=False)]) -> Response[str]:
    return _answer("file", 201, files().create_file(caller_project(), request))


@app.get(
    "/files",
    summary="List the project's files",
    responses={
        200: _body_response("A page of files, newest first", FileList),
        **_error_responses(400, *_ANY_ROUTE),
    },
)
def list_files(params: Annotated[PageQuery, Query()]) -> Response[str]:
    return _answer("file_list", 200, files().list_files(caller_project(), params))


@app.get(
    "/files/<file_id>",
    summary="Get a file",
    responses={200: _body_response("The file", FileResource), **_error_responses(404, *_ANY_ROUTE)},
)
def get_file(file_id: _FILE_ID) -> Response[str]:
    return _answer("file", 200, files().file(caller_project(), file_id))


@app.patch(
    "/files/<file_id>",
    summary="Rename or relabel a file (keys left out are unchanged, null clears)",
    responses={200: _body_response("The file", FileResource), **_error_responses(400, 404, *_ANY_ROUTE)},
)
def update_file(file_id: _FILE_ID, update: Annotated[FileUpdate, Body(embed=False)]) -> Response[str]:
    return _answer("file", 200, files().update_file(caller_project(), file_id, update))


@app.delete(
    "/files/<file_id>",
    summary="Delete a file and every stored object of it",
    responses={200: _body_response("Deleted", Confirmation), **_error_responses(404, 409, *_ANY_ROUTE)},
)
def delete_file(file_id: _FILE_ID) -> Response[str]:
    return _reply(200, files().delete_file(caller_project(), file_id))


@app.post(
    "/media",
    summary="Create a media item",
    responses={201: _body_response("The media", MediaResource), **_error_responses(400, *_ANY_ROUTE)},
)
def create_media(request: Annotated[MediaCreate, Body(embed=False)]) -> Response[str]:
    return _answer("media", 201, files().create_media(caller_project(), request))


@app.get(
    "/media",
    summary="List the project's media",
    responses={
        200: _body_response("A page of media, newest first", MediaList),
        **_error_responses(400, *_ANY_ROUTE),
    },
)
def list_media(params: Annotated[PageQuery, Query()]) -> Response[str]:
    return _answer("media_list", 200, files().list_media(caller_project(), params))


@app.get(
    "/media/<media_id>",
    summary="Get a media item with its files",
    responses={200: _body_response("The media", MediaResource), **_error_responses(404, *_ANY_ROUTE)},
)
def get_media(media_id: _FILE_ID) -> Response[str]:
    return _answer("media", 200, files().media_item(caller_project(), media_id))


@app.patch(
    "/media/<media_id>",
    summary="Update a media item (keys left out are unchanged, null clears)",
    responses={200: _body_response("The media", MediaResource), **_error_responses(400, 404, *_ANY_ROUTE)},
)
def update_media(media_id: _FILE_ID, update: Annotated[MediaUpdate, Body(embed=False)]) -> Response[str]:
    return _answer("media", 200, files().update_media(caller_project(), media_id, update))


@app.delete(
    "/media/<media_id>",
    summary="Delete a media item and all its files",
    responses={200: _body_response("Deleted", Confirmation), **_error_responses(404, 409, *_ANY_ROUTE)},
)
def delete_media(media_id: _FILE_ID) -> Response[str]:
    return _reply(200, files().delete_media(caller_project(), media_id))


def automations() -> AutomationService:
    from mediatasks.service.automations import AutomationService

    return AutomationService(service())


_AUTOMATION_ID = Annotated[str, Path(max_length=64)]


@app.post(
    "/automations",
    summary="Create an automation: a workflow run on every new media of the project",
    responses={
        201: _body_response("The automation", AutomationResource),
        **_error_responses(400, *_ANY_ROUTE),
    },
)
def create_automation(request: Annotated[AutomationCreate, Body(embed=False)]) -> Response[str]:
    return _reply(201, automations().create(caller_project(), request))


@app.get(
    "/automations",
    summary="List the project's automations",
    responses={
        200: _body_response("A page of automations, newest first", AutomationList),
        **_error_responses(400, *_ANY_ROUTE),
    },
)
def list_automations(params: Annotated[PageQuery, Query()]) -> Response[str]:
    return _answer("automation_list", 200, automations().page(caller_project(), params))


@app.get(
    "/automations/<automation_id>",
    summary="Get an automation",
    responses={
        200: _body_response("The automation", AutomationResource),
        **_error_responses(404, *_ANY_ROUTE),
    },
)
def get_automation(automation_id: _AUTOMATION_ID) -> Response[str]:
    return _reply(200, automations().get(caller_project(), automation_id))


@app.patch(
    "/automations/<automation_id>",
    summary="Change an automation: pause or resume it, or give it another workflow "
    "(keys left out are unchanged, null clears name and description)",
    responses={
        200: _body_response("The automation", AutomationResource),
        **_error_responses(400, 404, *_ANY_ROUTE),
    },
)
def update_automation(
    automation_id: _AUTOMATION_ID, update: Annotated[AutomationUpdate, Body(embed=False)]
) -> Response[str]:
    return _reply(200, automations().update(caller_project(), automation_id, update))


@app.delete(
    "/automations/<automation_id>",
    summary="Delete an automation (the tasks it started go on)",
    responses={200: _body_response("Deleted", Confirmation), **_error_responses(404, *_ANY_ROUTE)},
)
def delete_automation(automation_id: _AUTOMATION_ID) -> Response[str]:
    return _reply(200, automations().delete(caller_project(), automation_id))


@app.post(
    "/signatures",
    summary="Sign a URL that reads one file (get) or uploads one (put) without the API key",
    responses={201: _body_response("The signed URL", Signature), **_error_responses(400, *_ANY_ROUTE)},
)
def create_signature(request: Annotated[SignatureRequest, Body(embed=False)]) -> Response[str]:
    return _reply(201, signatures().create(caller_project(), request, _endpoint()))


def _signed_query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


@app.get(
    SIGNED_ROUTE,
    summary="Read the file a get signature names (no API key: the signature is the credential)",
    responses={
        302: _body_response(
            "Redirected (Location) to a link to the file valid for a few minutes", Confirmation
        ),
        **_error_responses(403, 404, 500),
    },
)
def read_signed() -> Response[str]:
    location = signatures().read(_signed_query())
    body = Confirmation(message="the file is at Location, for a few minutes")
    return Response(
        status_code=302,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers={"Location": location},
    )


@app.put(
    SIGNED_ROUTE,
    summary="Upload the file a put signature names (the body is the file): it becomes a new media's original",
    responses={
        201: _body_response("The file, waiting for its ingest task", FileResource),
        **_error_responses(400, 403, 413, 500),
    },
)
def upload_signed() -> Response[str]:
    event = app.current_event
    body = _raw_body(event.raw_event)
    return _reply(201, signatures().upload(_signed_query(), body))


def playback() -> PlaybackService:
    from mediatasks.service.playback import PlaybackService

    return PlaybackService(service(), _endpoint().base_url)


_PLAYBACK_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The playlist (or thumbnails track), rewritten: playlists it names by playback "
        "URLs, media (segments, sprites) by links valid for the stream's duration and a margin",
        "content": {PLAYLIST_CONTENT_TYPE: {}, TRACK_CONTENT_TYPE: {}},
    },
    **_error_responses(403, 404, 500),
}


def _playlist(task_id: str, path: str) -> Response[str]:
    text, content_type = playback().served(task_id, path, _signed_query())
    # the body holds links that are credentials: no cache keeps it; any page may play it (CORS)
    headers = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}
    return Response(status_code=200, content_type=content_type, body=text, headers=headers)


@app.get(
    f"{PLAYBACK_ROUTE}/<task_id>/<name>",
    summary="An HLS output's master playlist, or a thumbnails track with its sprites linked "
    "(the output's url; no API key: the signature is the credential)",
    responses=_PLAYBACK_RESPONSES,
)
def play_master(task_id: Annotated[str, Path(max_length=64)], name: _PLAYLIST_NAME) -> Response[str]:
    return _playlist(task_id, name)


@app.get(
    f"{PLAYBACK_ROUTE}/<task_id>/<folder>/<name>",
    summary="A rendition's media playlist, as a master playlist served by playback names it",
    responses=_PLAYBACK_RESPONSES,
)
def play_rendition(
    task_id: Annotated[str, Path(max_length=64)], folder: _PLAYLIST_NAME, name: _PLAYLIST_NAME
) -> Response[str]:
    return _playlist(task_id, f"{folder}/{name}")


def _raw_body(event: dict[str, Any]) -> bytes:
    """The request's bytes: API Gateway hands a binary body (binaryMediaTypes) base64-encoded."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


@app.post(
    "/uploads",
    summary="Start a resumable multipart upload",
    responses={
        201: _body_response("The upload: send its parts, then complete it", Upload),
        **_error_responses(400, *_ANY_ROUTE),
    },
)
def create_upload(request: Annotated[UploadCreate, Body(embed=False)]) -> Response[str]:
    return _reply(201, uploads().create(caller_project(), request))


@app.post(
    "/uploads/<upload_id>/parts",
    summary="Links to send parts to",
    responses={
        200: _body_response("One link per part asked for", PartLinks),
        **_error_responses(400, 404, *_ANY_ROUTE),
    },
)
def upload_part_links(
    upload_id: _UPLOAD_ID, request: Annotated[PartRequest, Body(embed=False)]
) -> Response[str]:
    return _reply(200, uploads().part_links(caller_project(), upload_id, request))


@app.get(
    "/uploads/<upload_id>",
    summary="The parts received so far (what a resumed upload need not send again)",
    responses={
        200: _body_response("The upload's progress", UploadProgress),
        **_error_responses(404, *_ANY_ROUTE),
    },
)
def upload_progress(upload_id: _UPLOAD_ID) -> Response[str]:
    return _reply(200, uploads().progress(caller_project(), upload_id))


@app.post(
    "/uploads/<upload_id>/complete",
    summary="Join the parts into the file; it becomes a new media's original",
    responses={
        201: _body_response("The file, waiting for its ingest task", FileResource),
        **_error_responses(404, 409, *_ANY_ROUTE),
    },
)
def complete_upload(upload_id: _UPLOAD_ID) -> Response[str]:
    return _reply(201, uploads().complete(caller_project(), upload_id))


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[str]:
    return _error_response(rejection_from(list(error.errors())))


@app.exception_handler(RequestRejected)
def _rejected(error: RequestRejected) -> Response[str]:
    return _error_response(error)


@app.not_found
def _no_route(_: Exception) -> Response[str]:
    return _error_response(RequestRejected(ErrorKind.not_found, "no such route"))


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return _error_response(
        RequestRejected(ErrorKind.internal_error, "something went wrong on our side; please retry")
    )


def _as_json(event: dict[str, Any]) -> dict[str, Any]:
    """This API only speaks JSON: a body is JSON whatever Content-Type the client sent (Powertools
    would otherwise read a form-encoded body, as curl -d sends, as form fields)."""
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    return event | {
        "headers": headers | {"Content-Type": "application/json"},
        "multiValueHeaders": multi | {"Content-Type": ["application/json"]},
    }


def _in_latest_terms(event: dict[str, Any]) -> tuple[dict[str, Any], ApiVersion, RequestRejected | None]:
    """The caller's version, the event with its query in the latest's terms, and why the request is
    refused before routing (None: it is not)."""
    try:
        version = requested_version(event.get("headers"))
    except RequestRejected as unknown_version:
        return event, ApiVersion.latest, _refused_before_routing(event) or unknown_version
    refusal = _refused_before_routing(event)
    if refusal is not None:
        return event, version, refusal
    try:
        query = latest_query(version, _exchange(event))
    except RequestRejected as unsupported:
        return event, version, unsupported
    if query == (event.get("queryStringParameters") or {}):
        return event, version, None
    multi = {name: [value] for name, value in query.items()}
    return event | {"queryStringParameters": query, "multiValueQueryStringParameters": multi}, version, None


LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@lru_cache(maxsize=1)
def _traced() -> LambdaHandler:
    """`_handle` traced by Powertools' Tracer, made on the first request: the Tracer imports the X-Ray
    SDK (~100 ms) even when tracing is disabled, which the module's cold import should not pay."""
    from aws_lambda_powertools import Tracer

    traced: LambdaHandler = Tracer(service="mediatasks-api").capture_lambda_handler(_handle)
    return traced


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _traced()(event, context)


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register(context)
    event = _as_json(event)
    asked = _exchange(event)
    event, version, refusal = _in_latest_terms(event)
    if refusal is not None:
        # before routing: an unauthenticated caller learns nothing, not even whether its body is valid
        reply = _in_version(version, "error", HTTP_STATUS[refusal.kind], _error_body(refusal), asked)
        return {
            "statusCode": reply.status_code,
            "headers": reply.headers,
            "body": reply.body,
            "isBase64Encoded": False,
        }
    app.context.update({VERSION_CONTEXT: version, ASKED_CONTEXT: asked})  # resolve() clears it when done
    return app.resolve(event, context)
