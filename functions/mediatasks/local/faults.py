"""Faults injected into the local stack, for the fault-injection suite (tests/faults) only.

Off unless the environment variable MEDIATASKS_FAULTS names a plan file (JSON); only the test harness
sets it, and this module is part of the local stack alone (the Lambda code asset leaves out
mediatasks/local). The file is read again whenever it changes (counts start again), so one running
stack serves a suite of faults, one test after another. A plan:

    {"aws": [{"service": "s3", "operation": "*", "every": 3, "status": 503, "code": "SlowDown"},
             {"service": "dynamodb", "operation": "UpdateItem", "table": "mediatasks-tasks",
              "sends": [1, 2, 3], "status": 400, "code": "ProvisionedThroughputExceededException"}],
     "lambda": [{"function": "IngestFunction", "calls": [1, 2], "code": "TooManyRequestsException"}]}

`aws` rules answer an SDK request, as sent (before-send, so the SDK's own retries see it as AWS's
reply), with an error: the listed sends of that service (botocore's service id: s3, dynamodb, sfn)
and operation, on that table if one is named (1-based, counted per rule), or every `every`-th.
`lambda` rules make the emulator's Lambda service refuse an invocation of that function (the state
machine sees `Lambda.<code>`). Each fault injected is written as a line to the plan file's path with
`.log` added, so a test sees that its faults happened.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from moto.core.exceptions import JsonRESTError
from pydantic import BaseModel, Field

ENV_FAULTS = "MEDIATASKS_FAULTS"


class AwsFault(BaseModel):
    service: str
    operation: str = "*"
    table: str | None = None
    sends: list[int] = Field(default_factory=list)
    every: int | None = Field(default=None, ge=1)
    status: int = 503
    code: str = "ServiceUnavailable"

    def hits(self, count: int) -> bool:
        return count in self.sends or (self.every is not None and count % self.every == 0)


class LambdaFault(BaseModel):
    function: str
    calls: list[int]
    code: str = "TooManyRequestsException"
    status: int = 429


class FaultPlan(BaseModel):
    aws: list[AwsFault] = Field(default_factory=list)
    lambda_: list[LambdaFault] = Field(default_factory=list, alias="lambda")


class _RawBody:
    """What AWSResponse reads a body from (urllib3's response, in a real reply)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _error_body(service: str, code: str) -> bytes:
    if service == "s3":  # S3's REST-XML error document
        return f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return json.dumps({"__type": code, "message": "injected"}).encode()  # the JSON protocols


@dataclass
class Injector:
    """Counts the sends and calls each rule of the plan file matches and answers the planned ones
    with an error."""

    path: Path
    _plan: FaultPlan = field(default_factory=FaultPlan)
    _version: tuple[int, int] | None = None
    _counts: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def plan(self) -> FaultPlan:
        with self._lock:
            try:
                stat = self.path.stat()
                version = (stat.st_mtime_ns, stat.st_size)
            except FileNotFoundError:
                version = None
            if version != self._version:
                text = self.path.read_text() if version else ""
                self._plan = FaultPlan.model_validate_json(text) if text.strip() else FaultPlan()
                self._version = version
                self._counts.clear()
            return self._plan

    def _injected(self, what: str) -> None:
        with self._lock, self.path.with_name(self.path.name + ".log").open("a") as log:
            log.write(what + "\n")

    def _count(self, rule: object) -> int:
        with self._lock:
            self._counts[id(rule)] = self._counts.get(id(rule), 0) + 1
            return self._counts[id(rule)]

    def before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        # event_name: before-send.<service id>.<operation>
        service, operation = event_name.split(".", 2)[1:]
        for rule in self.plan.aws:
            if (
                rule.service == service
                and rule.operation in ("*", operation)
                and (rule.table is None or rule.table == _table_of(request))
                and rule.hits(self._count(rule))
            ):
                self._injected(f"{service}.{operation} {rule.code}")
                body = _RawBody(_error_body(service, rule.code))
                return AWSResponse(request.url, rule.status, HTTPHeaders(), body)
        return None

    def before_invoke(self, function: str) -> None:
        for rule in self.plan.lambda_:
            if rule.function == function and self._count(rule) in rule.calls:
                self._injected(f"lambda.{function} {rule.code}")
                refusal = JsonRESTError(rule.code, "injected")
                refusal.code = rule.status  # the HTTP status moto answers with
                raise refusal

    def install(self) -> None:
        """Hooks every SDK client this process makes from now on (the default session's)."""
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        if session is None:
            raise RuntimeError("boto3 made no default session")
        # a handler that returns a response stands in for the request (botocore's documented use)
        session.events.register("before-send", cast(Callable[..., None], self.before_send))


def _table_of(request: Any) -> str | None:
    try:
        return str(json.loads(request.body or b"{}").get("TableName"))
    except (ValueError, AttributeError):
        return None


def injector() -> Injector | None:
    path = os.environ.get(ENV_FAULTS)
    return Injector(Path(path)) if path else None
