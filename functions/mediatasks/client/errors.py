"""What can go wrong talking to the API, as exceptions a caller can tell apart."""

from __future__ import annotations


class ClientError(Exception):
    """Any failure of a client call."""


class ApiError(ClientError):
    """The API refused the request: its error body's `kind`, `message` and `field`, and the status."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{kind}: {message}" + (f" (field {field})" if field else ""))
        self.status = status
        self.kind = kind
        self.message = message
        self.field = field


class ApiUnreachable(ClientError):
    """No answer from the API: the address is wrong, the network is down, or it kept failing."""


class WaitTimedOut(ClientError):
    """The task had not ended when the wait's timeout passed."""

    def __init__(self, task_id: str, timeout: float) -> None:
        super().__init__(f"task {task_id} had not ended after {timeout:g} s")
        self.task_id = task_id
        self.timeout = timeout
