"""`Idempotency-Key` on POST /tasks, with Powertools idempotency on DynamoDB: per project, the same
key and the same request answer the first reply again for 24 hours (no second task), the same key
with another request is refused, and a repeat of a request still being made waits a little for its
answer before being told to retry."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mediatasks.config import settings
from mediatasks.domain.errors import ErrorKind, RequestRejected

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A repeat that arrives while the first request runs waits this long for its answer (creating a
# task takes well under a second), polling the record, then answers request_in_progress.
IN_FLIGHT_WAIT_SECONDS = 5.0
IN_FLIGHT_POLL_SECONDS = 0.1

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

Reply = dict[str, Any]

# Powertools' idempotency package imports boto3 (~130 ms) with its DynamoDB layer: it is imported on
# the first request, not during the API module's cold import.


@lru_cache(maxsize=1)
def idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="scope", payload_validation_jmespath="request", expires_after_seconds=24 * 3600
    )


def register(context: LambdaContext) -> None:
    """In-progress records expire with the invocation that wrote them, not after an hour."""
    idempotency_config().register_lambda_context(context)


@lru_cache(maxsize=1)
def answer_once() -> Callable[..., Reply]:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    @idempotent_function(
        data_keyword_argument="call",
        persistence_store=DynamoDBPersistenceLayer(table_name=settings().idempotency_table),
        config=idempotency_config(),
    )
    def answer(call: dict[str, Any], make: Callable[[], Reply]) -> Reply:
        return make()

    once: Callable[..., Reply] = answer
    return once


def checked_key(header: str | None) -> str | None:
    if header is None:
        return None
    if not header.strip() or len(header) > MAX_KEY_LENGTH:
        raise RequestRejected(
            ErrorKind.invalid_idempotency_key,
            f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_KEY_LENGTH} characters",
            IDEMPOTENCY_HEADER,
        )
    return header


def once_per_key(project_id: str, key: str, request: dict[str, Any], make: Callable[[], Reply]) -> Reply:
    """`make()`'s reply, made once per project and key; `request` is what must be the same."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    call = {"scope": f"{project_id}#{key}", "request": request}
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    while True:
        try:
            return answer_once()(call=call, make=make)
        except IdempotencyValidationError:
            raise RequestRejected(
                ErrorKind.idempotency_key_reused,
                f"this {IDEMPOTENCY_HEADER} was already used with a different request",
                IDEMPOTENCY_HEADER,
            ) from None
        except IdempotencyAlreadyInProgressError:
            if time.monotonic() >= deadline:
                raise RequestRejected(
                    ErrorKind.request_in_progress,
                    f"a request with this {IDEMPOTENCY_HEADER} is still being made; retry shortly",
                    IDEMPOTENCY_HEADER,
                ) from None
            time.sleep(IN_FLIGHT_POLL_SECONDS)
