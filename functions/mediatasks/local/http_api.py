"""Serves the API Lambda over HTTP on the local machine, the way API Gateway's REST proxy
integration calls it: each request becomes a proxy event, the handler's reply becomes the response."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mediatasks import constants as c
from mediatasks.domain.throttle import TokenBucket
from mediatasks.local.cloud import LocalCloud, LocalFunction
from mediatasks.local.template import public_routes, resources_of_type, route_matches

# API Gateway's own limit on a request payload (the web ACL's is lower).
API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_CACHED_AUTHORIZATIONS = 1024
# How long a kept-alive connection may sit idle before the server closes it.
IDLE_SECONDS = 60


def proxy_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    parts = urlsplit(raw_path)
    query = parse_qs(parts.query, keep_blank_values=True)
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": parts.path,
            "httpMethod": method,
            "path": parts.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip},
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


@dataclass(frozen=True)
class Refusal:
    status: int
    headers: dict[str, str]
    body: bytes


def _gateway_response(template: dict[str, Any], response_type: str) -> Refusal:
    responses = resources_of_type(template, "AWS::ApiGateway::GatewayResponse").values()
    response = next(r for r in responses if r["ResponseType"] == response_type)
    headers = {
        name.removeprefix("gatewayresponse.header."): value.strip("'")
        for name, value in response.get("ResponseParameters", {}).items()
    }
    return Refusal(
        int(response["StatusCode"]),
        {"Content-Type": "application/json", **headers},
        response["ResponseTemplates"]["application/json"].encode(),
    )


class LocalWebAcl:
    """The web ACL's size rules from the template: each field measured, the rule's own response."""

    def __init__(self, template: dict[str, Any]) -> None:
        (acl,) = resources_of_type(template, "AWS::WAFv2::WebACL").values()
        bodies = acl["CustomResponseBodies"]
        # (field, limit, path suffix the rule spares, refusal)
        self._rules: list[tuple[str, int, str | None, Refusal]] = []
        for rule in acl["Rules"]:
            statement, spared = _size_statement(rule["Statement"])
            if statement is None:
                continue  # the per-address rate rule and AWS's managed rules run in the cloud only
            (field,) = statement["FieldToMatch"]
            response = rule["Action"]["Block"]["CustomResponse"]
            body = bodies[response["CustomResponseBodyKey"]]["Content"].encode()
            refusal = Refusal(int(response["ResponseCode"]), {"Content-Type": "application/json"}, body)
            self._rules.append((field, int(statement["Size"]), spared, refusal))

    def refusal(self, raw_path: str, headers: dict[str, str], body_bytes: int) -> Refusal | None:
        parts = urlsplit(raw_path)
        sizes = {
            "Headers": sum(len(name) + len(value) for name, value in headers.items()),
            "Body": body_bytes,
            "UriPath": len(parts.path),
            "QueryString": len(parts.query),
        }
        return next(
            (
                refusal
                for field, limit, spared, refusal in self._rules
                if sizes[field] > limit and not (spared and parts.path.endswith(spared))
            ),
            None,
        )


def _size_statement(statement: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """A rule's size constraint, and the path suffix it spares when it is `size AND NOT path
    ends with` (the body rule, which spares signed uploads)."""
    if "SizeConstraintStatement" in statement:
        return statement["SizeConstraintStatement"], None
    parts = statement.get("AndStatement", {}).get("Statements", [])
    sizes = [part["SizeConstraintStatement"] for part in parts if "SizeConstraintStatement" in part]
    spared = [
        part["NotStatement"]["Statement"]["ByteMatchStatement"]["SearchString"]
        for part in parts
        if "ByteMatchStatement" in part.get("NotStatement", {}).get("Statement", {})
    ]
    if len(sizes) == 1 and len(spared) == 1 and len(parts) == 2:
        return sizes[0], spared[0]
    return None, None


@dataclass(frozen=True)
class Authorization:
    context: dict[str, Any] | None  # None: the policy denies the call
    usage_key: str | None


class LocalAuthorizer:
    """API Gateway's TOKEN authorizer step: the template's authorizer function, results cached per
    token, its gateway responses, the stage's throttle and the usage plan's throttle per key."""

    def __init__(self, cloud: LocalCloud) -> None:
        self._function = cloud.functions[c.AUTHORIZER_FUNCTION_ID]
        self._handler = self._function.handler()
        self._ttl = cloud.authorizer_cache_seconds()
        # API Gateway's result cache is its own and bounded; this one is too, or random tokens
        # would grow it without end: least recently used first out
        self._cache: OrderedDict[str, tuple[float, Authorization]] = OrderedDict()
        self._lock = threading.Lock()
        template = cloud.template
        self.missing = _gateway_response(template, "UNAUTHORIZED")
        self.invalid = _gateway_response(template, "INVALID_API_KEY")
        self.throttled = _gateway_response(template, "THROTTLED")
        self.public = public_routes(template)
        (stage,) = resources_of_type(template, "AWS::ApiGateway::Stage").values()
        (limits,) = stage["MethodSettings"]
        self.throttle = TokenBucket(
            float(limits["ThrottlingRateLimit"]), int(limits["ThrottlingBurstLimit"]), time.monotonic
        )
        (plan,) = resources_of_type(template, "AWS::ApiGateway::UsagePlan").values()
        self._key_limits = (float(plan["Throttle"]["RateLimit"]), int(plan["Throttle"]["BurstLimit"]))
        self._key_throttles: dict[str, TokenBucket] = {}

    def key_throttle(self, usage_key: str) -> TokenBucket:
        with self._lock:
            bucket = self._key_throttles.get(usage_key)
            if bucket is None:
                bucket = TokenBucket(*self._key_limits, time.monotonic)
                self._key_throttles[usage_key] = bucket
            return bucket

    def authorize(self, token: str, method: str, path: str) -> Authorization:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(token)
            if cached is not None:
                self._cache.move_to_end(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        event = {
            "type": "TOKEN",
            "authorizationToken": token,
            "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:local/local/{method}{path}",
        }
        policy = self._handler(event, self._function.context())
        allowed = all(s["Effect"] == "Allow" for s in policy["policyDocument"]["Statement"])
        context = {**policy.get("context", {}), "principalId": policy["principalId"]} if allowed else None
        authorization = Authorization(context, policy.get("usageIdentifierKey"))
        with self._lock:
            self._cache[token] = (now + self._ttl, authorization)
            self._cache.move_to_end(token)
            while len(self._cache) > MAX_CACHED_AUTHORIZATIONS:
                self._cache.popitem(last=False)
        return authorization

    def cached_tokens(self) -> int:
        with self._lock:
            return len(self._cache)


def _handler_class(
    function: LocalFunction, authorizer: LocalAuthorizer, web_acl: LocalWebAcl
) -> type[BaseHTTPRequestHandler]:
    handler = function.handler()
    # Lambda hands an execution environment one event at a time, and the API handler relies on it
    # (Powertools keeps the current event and its context in shared state): so does this server.
    one_event_at_a_time = threading.Lock()

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        with one_event_at_a_time:
            reply: dict[str, Any] = handler(event, function.context())
            return reply

    class ApiRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "mediatasks-local"
        timeout = IDLE_SECONDS  # the socket's: an idle kept-alive connection ends, freeing its worker

        def _respond(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, kind: str, message: str) -> None:
            body = json.dumps({"kind": kind, "message": message}).encode()
            self._respond(status, {"Content-Type": "application/json"}, body)

        def _refuse(self, refusal: Refusal, extra_headers: dict[str, str] | None = None) -> None:
            self._respond(refusal.status, refusal.headers | (extra_headers or {}), refusal.body)

        def _serve(self) -> None:
            declared = (self.headers.get("Content-Length") or "0").strip()
            if not (declared.isascii() and declared.isdigit()):
                # API Gateway refuses it too; reading "-1" bytes would wait for the client forever
                self.close_connection = True
                self._error(400, "invalid_json", "Content-Length must be a number of bytes")
                return
            length = int(declared)
            if length > API_GATEWAY_MAX_BODY_BYTES:
                self.close_connection = True
                self._error(413, "payload_too_large", "the request body is larger than 10 MB")
                return
            body = self.rfile.read(length) if length else b""
            # every header as sent, as API Gateway passes them: names in their own case, and names
            # with underscores too (the vendor SDK's ACCEPT_VERSION), which nginx would drop
            headers = {name: value for name, value in self.headers.items()}
            refusal = web_acl.refusal(self.path, headers, len(body))
            if refusal is not None:  # the web ACL runs before API Gateway
                self._refuse(refusal)
                return
            wait = authorizer.throttle.take()
            if wait is not None:  # API Gateway's stage throttling, before anything else runs
                self._refuse(authorizer.throttled, {"Retry-After": str(wait)})
                return
            event = proxy_event(self.command, self.path, headers, body, self.client_address[0])
            if any(
                method == self.command and route_matches(route, event["path"])
                for method, route in authorizer.public
            ):
                self._reply(invoke(event))
                return
            token = self.headers.get("Authorization")
            if not token:
                self._refuse(authorizer.missing)
                return
            authorization = authorizer.authorize(token, self.command, urlsplit(self.path).path)
            if authorization.context is None:
                self._error(403, "forbidden", "this key may not call this route")
                return
            if authorization.usage_key is None:  # every private route requires a usage-plan key
                self._refuse(authorizer.invalid)
                return
            wait = authorizer.key_throttle(authorization.usage_key).take()
            if wait is not None:
                self._refuse(authorizer.throttled, {"Retry-After": str(wait)})
                return
            event["requestContext"]["authorizer"] = authorization.context
            self._reply(invoke(event))

        def _reply(self, reply: dict[str, Any]) -> None:
            out = reply.get("body") or ""
            payload = base64.b64decode(out) if reply.get("isBase64Encoded") else out.encode()
            reply_headers = dict(reply.get("headers") or {})
            for name, values in (reply.get("multiValueHeaders") or {}).items():
                reply_headers[name] = ", ".join(values)
            self._respond(int(reply["statusCode"]), reply_headers, payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ApiRequestHandler


class _ApiServer(HTTPServer):
    """http.server with a bounded pool of workers (the standard library's ThreadingHTTPServer starts
    a thread per connection, without bound) and a listen backlog that holds a burst of clients:
    socketserver's default of 5 reset the connections of 20 concurrent clients. A connection waits
    in the pool's queue for a worker rather than being refused; a kept-alive connection left idle
    frees its worker after IDLE_SECONDS."""

    request_queue_size = 1024
    workers = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        # made before binding: a port already taken makes the base class call server_close(), which
        # must find the pool rather than hide the "address already in use" behind an AttributeError
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="local-api")
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self._serve_one, request, client_address)

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


class LocalApi:
    """The API on http://host:port, served from a background thread."""

    def __init__(self, cloud: LocalCloud, host: str, port: int) -> None:
        handler = _handler_class(
            cloud.functions[c.API_FUNCTION_ID], LocalAuthorizer(cloud), LocalWebAcl(cloud.template)
        )
        self._server = _ApiServer((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True)
        bound_host, bound_port = self._server.server_address[:2]
        self.port = int(bound_port)
        self.url = f"http://{bound_host!s}:{bound_port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve_forever that never began
            self._server.shutdown()
        self._server.server_close()
