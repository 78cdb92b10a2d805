"""Webhook deliveries, purely: which event a terminal status is, when to try again, which secrets
sign. No storage and no HTTP here."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from pydantic import BaseModel

from mediatasks.domain.tasks import Status, new_id

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of generated secrets, not a secret
EVENT_OF_STATUS: dict[Status, str] = {
    Status.succeeded: "task.succeeded",
    Status.failed: "task.failed",
    Status.cancelled: "task.cancelled",
}
Outcome = Literal["pending", "delivered", "retrying", "failed"]


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_delivery_id() -> str:
    return new_id("dlv")


class Delivery(BaseModel):
    """One event on its way to one URL: the delivery state machine's state between tries."""

    task_id: str
    delivery_id: str
    event: str
    attempt: int = 0  # tries made so far
    first_attempt_at: int | None = None
    outcome: Outcome = "pending"
    wait_seconds: int = 0  # before the next try, when retrying


class DeliveryAttempt(BaseModel):
    """One try, as the delivery log keeps it."""

    task_id: str
    delivery_id: str
    event: str
    attempt: int
    attempted_at: int
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    outcome: Outcome


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: about `first_wait` seconds, doubling up to `max_wait`,
    for at least `retry_for` seconds after the first try."""

    first_wait_seconds: int = 1
    max_wait_seconds: int = 3600
    retry_for_seconds: int = 24 * 3600
    jitter: float = 0.2

    def next_wait(
        self, attempt: int, first_attempt_at_ms: int, now_ms: int, draw: Callable[[], float] = random.random
    ) -> int | None:
        """Whole seconds (Step Functions waits in seconds) before try `attempt + 1`, or None once
        the delivery has been retried for long enough."""
        if now_ms - first_attempt_at_ms >= self.retry_for_seconds * 1000:
            return None
        base = min(self.max_wait_seconds, self.first_wait_seconds << min(attempt - 1, 32))
        jittered = base * (1 + self.jitter * (2 * draw() - 1))
        return max(1, min(self.max_wait_seconds, round(jittered)))


class SecretPeriod(BaseModel):
    """When a signing secret was made and, once a newer one replaced it, until when it signs."""

    created_at: int
    expires_at: int | None = None

    def valid_at(self, now_ms: int) -> bool:
        return self.expires_at is None or now_ms < self.expires_at


Kept = TypeVar("Kept", bound=SecretPeriod)


def signing_order(kept: list[Kept], now_ms: int) -> list[Kept]:
    """The secrets that sign now, newest first."""
    valid = [secret for secret in kept if secret.valid_at(now_ms)]
    return sorted(valid, key=lambda secret: secret.created_at, reverse=True)


def rotated(kept: list[Kept], new: Kept, grace_ms: int, now_ms: int) -> list[Kept]:
    """The secrets after a rotation: the new one, and every still valid one signing beside it
    until the grace period ends (or its own earlier end)."""
    deadline = now_ms + grace_ms
    older = [
        secret.model_copy(update={"expires_at": min(secret.expires_at or deadline, deadline)})
        for secret in kept
        if secret.valid_at(now_ms)
    ]
    return [new, *older]


def newly_ended(old_status: str | None, new_status: str | None) -> Status | None:
    """The terminal status a task has just reached, from its status before and after a write
    (None when the write did not end it)."""
    if new_status is None or old_status == new_status:
        return None
    status = Status(new_status)
    return status if status in EVENT_OF_STATUS else None
