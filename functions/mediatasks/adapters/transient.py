"""Which AWS SDK errors are transient: throttling, a service's 5xx, a connection that broke. The SDK
has already retried each of them (its standard retry mode); one that still reaches a step is turned
into a TransientFailure, which the state machine retries as a whole step."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

# Error codes AWS documents as throttling or as the service's own momentary failure (S3's SlowDown
# and 503, DynamoDB's throughput and request limits, any service's internal error).
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "LimitExceededException",
    }
)
_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
_BROKEN_CONNECTIONS = (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ConnectionError,  # the built-in one: a reset or refused socket under the SDK's own retries
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in TRANSIENT_CODES or status in _TRANSIENT_STATUSES
    return isinstance(error, _BROKEN_CONNECTIONS)
