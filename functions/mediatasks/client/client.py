"""The API over HTTP: each call returns the contract's response model or raises ApiError; 429 and 5xx
answers (and refused connections) are retried with backoff, honouring Retry-After."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from pydantic import ValidationError

from mediatasks.client.errors import ApiError, ApiUnreachable, WaitTimedOut
from mediatasks.contract.latest import (
    ErrorBody,
    FileResource,
    PartLinks,
    TaskList,
    TaskView,
    Upload,
    UploadProgress,
)
from mediatasks.domain.tasks import TERMINAL_STATUSES, StepStatus

Progress = Callable[[TaskView], None]
Sleep = Callable[[float], None]

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_RETRIES = 5
FIRST_BACKOFF_SECONDS = 0.5
LONGEST_BACKOFF_SECONDS = 20.0
POLL_SECONDS = 1.0
DOWNLOAD_CHUNK = 1024 * 1024


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (this API sends whole seconds; an HTTP date is not used)."""
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def current_step(task: TaskView) -> str | None:
    """The step the task is running, if one is."""
    return next((step.kind for step in task.steps if step.status == StepStatus.processing), None)


def _api_error(response: httpx.Response) -> ApiError:
    try:
        body = ErrorBody.model_validate_json(response.content)
    except ValidationError:
        return ApiError(response.status_code, "unexpected_response", f"HTTP {response.status_code}")
    return ApiError(response.status_code, body.kind.value, body.message, body.field)


class Client:
    """A project's view of the API, by its key.

    `base_url` is the API's root (the deployed stack's ApiUrl, or `mediatasks serve`'s address)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._retries = retries
        self._sleep = sleep
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "mediatasks-client"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> httpx.Response:
        """One call, retried on 429, 5xx and connections that could not be made."""
        for attempt in range(self._retries + 1):
            backoff = min(LONGEST_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2**attempt)
            try:
                response = self._http.request(method, self.base_url + path, json=body)
            except httpx.ConnectError as error:
                if attempt == self._retries:
                    raise ApiUnreachable(f"cannot reach the API at {self.base_url}: {error}") from None
                self._sleep(backoff)
                continue
            except httpx.HTTPError as error:
                raise ApiUnreachable(f"the call to {self.base_url} failed: {error}") from None
            if response.status_code not in RETRIED_STATUSES or attempt == self._retries:
                break
            self._sleep(_retry_after(response) or backoff)
        if response.is_error:
            raise _api_error(response)
        return response

    def create(self, request: Mapping[str, Any]) -> TaskView:
        """POST /tasks: `request` is the create-task body (kind, input, options, output, ...)."""
        return TaskView.model_validate_json(self._send("POST", "/tasks", request).content)

    def get(self, task_id: str) -> TaskView:
        return TaskView.model_validate_json(self._send("GET", f"/tasks/{task_id}").content)

    def cancel(self, task_id: str) -> TaskView:
        return TaskView.model_validate_json(self._send("POST", f"/tasks/{task_id}/cancel").content)

    def page(self, link: str) -> TaskList:
        """One page of tasks, by a `links` entry of another page (or `/tasks?...`)."""
        return TaskList.model_validate_json(self._send("GET", link).content)

    def list(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        sort: str | None = None,
        order: str | None = None,
    ) -> Iterator[TaskView]:
        """Every task of the project that matches, walking the pages by their `next` links."""
        query = {"kind": kind, "status": status, "limit": limit, "sort": sort, "order": order}
        params = httpx.QueryParams({name: str(value) for name, value in query.items() if value is not None})
        link: str | None = f"/tasks?{params}" if params else "/tasks"
        while link is not None:
            listed = self.page(link)
            yield from listed.data
            link = listed.links.next

    def wait(
        self,
        task_id: str,
        on_progress: Progress | None = None,
        timeout: float | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> TaskView:
        """Polls the task until it has ended and returns it; `on_progress` sees every change of its
        status, step or progress. Raises WaitTimedOut after `timeout` seconds (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: tuple[Any, ...] | None = None
        while True:
            task = self.get(task_id)
            running = current_step(task)
            state = (task.status, running, task.progress)
            if on_progress is not None and state != seen:
                on_progress(task)
            seen = state
            if task.status in TERMINAL_STATUSES:
                return task
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimedOut(task_id, timeout or 0)
            self._sleep(poll_seconds)

    def get_file(self, file_id: str) -> FileResource:
        return FileResource.model_validate_json(self._send("GET", f"/files/{file_id}").content)

    def start_upload(self, filename: str, size: int, folder: str | None = None) -> Upload:
        """POST /uploads: a multipart upload of `size` bytes."""
        body = {"filename": filename, "size": size} | ({"folder": folder} if folder else {})
        return Upload.model_validate_json(self._send("POST", "/uploads", body).content)

    def part_links(self, upload_id: str, part_numbers: Sequence[int]) -> PartLinks:
        body = {"part_numbers": [*part_numbers]}
        return PartLinks.model_validate_json(self._send("POST", f"/uploads/{upload_id}/parts", body).content)

    def upload_progress(self, upload_id: str) -> UploadProgress:
        return UploadProgress.model_validate_json(self._send("GET", f"/uploads/{upload_id}").content)

    def complete_upload(self, upload_id: str) -> FileResource:
        return FileResource.model_validate_json(self._send("POST", f"/uploads/{upload_id}/complete").content)

    def send_part(self, url: str, data: bytes) -> None:
        """PUTs one part to its link (a presigned link: the API key is not sent with it)."""
        try:
            response = httpx.put(url, content=data, timeout=self._http.timeout)
        except httpx.HTTPError as error:
            raise ApiUnreachable(f"a part could not be sent: {error}") from None
        if response.is_error:
            raise ApiUnreachable(f"storage refused a part: HTTP {response.status_code}")

    def download(self, url: str, target: Path) -> Path:
        """Fetches an output's `url` (a presigned link) into `target`, making its folder."""
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            # a presigned link carries its own authorization: the API key is not sent with it
            with httpx.stream("GET", url, timeout=self._http.timeout, follow_redirects=True) as response:
                if response.is_error:
                    raise ApiUnreachable(f"the output link answered HTTP {response.status_code}")
                with target.open("wb") as sink:
                    for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                        sink.write(chunk)
        except httpx.HTTPError as error:
            raise ApiUnreachable(f"the output could not be downloaded: {error}") from None
        return target
