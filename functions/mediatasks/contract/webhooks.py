"""Webhooks on the wire: the signature scheme, the headers, the body of an event, and the bodies of
the webhook routes. Pure (no AWS SDK), so a receiver can import `verify_signature` on its own:
`from mediatasks.contract.webhooks import verify_signature`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from mediatasks.contract.common import Exchange
from mediatasks.contract.latest import TaskView
from mediatasks.contract.versions import KNOWN_VERSIONS, ApiVersion, render

SIGNATURE_HEADER = "Mediatasks-Signature"
EVENT_HEADER = "Mediatasks-Event"
DELIVERY_HEADER = "Mediatasks-Delivery"
DEFAULT_TOLERANCE_SECONDS = 300

WebhookEvent = Literal["task.succeeded", "task.failed", "task.cancelled"]


def _digest(secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secrets: list[str], timestamp: int) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`, one v1 per secret."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    return ",".join([f"t={timestamp}", *(f"v1={_digest(secret, timestamp, payload)}" for secret in secrets)])


def verify_signature(
    payload: bytes,
    header: str,
    secrets: list[str],
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: Callable[[], float] = time.time,
) -> bool:
    """True when `header` (the Mediatasks-Signature value) signs exactly `payload` (the raw body,
    before any JSON parsing) with one of `secrets`, at a time no further than `tolerance_seconds`
    from now (which refuses replays of an old delivery)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures or abs(now() - timestamp) > tolerance_seconds:
        return False
    expected = [_digest(secret, timestamp, payload) for secret in secrets]
    # every pair is compared, in constant time, so the answer's timing tells nothing
    matches = [hmac.compare_digest(mine, theirs) for mine in expected for theirs in signatures]
    return any(matches)


def webhook_body(view: TaskView, version: str) -> bytes:
    """The body of a task's webhook: the task as `GET /tasks/{id}` shows it in the version the task
    was created with (the latest one if that is not a version this API knows)."""
    known = ApiVersion(version) if version in KNOWN_VERSIONS else ApiVersion.latest
    asked = Exchange(method="GET", path=f"/tasks/{view.id}", query={}, request_id=view.id)
    rendered = render(known, "task", view.model_dump(mode="json"), 200, asked)
    return json.dumps(rendered.body).encode()


class WebhookAttemptView(BaseModel):
    """One try at delivering one event to the task's webhook_url."""

    object: Literal["webhook_attempt"] = "webhook_attempt"
    delivery_id: str = Field(description="The Mediatasks-Delivery header: the same on every retry")
    event: WebhookEvent
    attempt: int = Field(ge=1, description="1 for a delivery's first try, then 2, 3...")
    attempted_at: int = Field(description="When it was sent, epoch milliseconds")
    duration_ms: int
    status_code: int | None = Field(description="The receiver's HTTP status; null when none came")
    error: str | None = Field(description="Why no 2xx came back (a status, a timeout, a refusal)")
    outcome: Literal["delivered", "retrying", "failed"]


class WebhookAttemptList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WebhookAttemptView] = Field(description="Every attempt, oldest first")


class WebhookReplay(BaseModel):
    """A new delivery of the task's terminal event, started."""

    object: Literal["webhook_delivery"] = "webhook_delivery"
    delivery_id: str
    event: WebhookEvent
    task_id: str


class WebhookSecret(BaseModel):
    """The project's new signing secret: shown once."""

    object: Literal["webhook_secret"] = "webhook_secret"
    secret: str
    created_at: int
    previous_expires_at: int | None = Field(
        description="Until when the previous secret still signs beside this one (epoch ms); "
        "null when there was none"
    )
