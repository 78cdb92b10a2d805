"""Fetching a URL chosen by a stranger, without letting it reach our own network.

Every hop (the URL and each redirect) is resolved once, every address it resolves to must be public,
and the connection goes to the address that was checked, so a DNS answer that changes between the
check and the connect cannot steer us inside. Redirects are followed by hand, at most five.
"""

from __future__ import annotations

import io
import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3

from mediatasks.domain.addresses import is_allowed_address, literal_address
from mediatasks.domain.errors import InputInterrupted, InputTooLarge, InputUnreachable

Resolver = Callable[[str, int], list[str]]

_REDIRECTS = (301, 302, 303, 307, 308)


# One answer for a name that does not resolve and one that resolves inside: telling them apart
# would let a caller map the names of the network the functions run in.
NOT_PUBLIC = "the input URL's host does not resolve to a public address"


class BlockedAddress(InputUnreachable):
    """The URL leads to an address that is not on the public internet."""


@dataclass(frozen=True)
class FetchPolicy:
    allow_loopback: bool = False
    # loopback ports never fetched even with allow_loopback: the local stack's own services
    refused_loopback_ports: frozenset[int] = frozenset()
    max_redirects: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_bytes: int = 5 * 1024**3


def system_resolver(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BlockedAddress(NOT_PUBLIC) from None
    return [str(answer[4][0]) for answer in answers]


def checked_addresses(host: str, port: int, policy: FetchPolicy, resolver: Resolver) -> list[str]:
    literal = literal_address(host)
    answers = [str(literal)] if literal is not None else resolver(host, port)
    if not answers:
        raise BlockedAddress(NOT_PUBLIC)
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        if not is_allowed_address(address, allow_loopback=policy.allow_loopback):
            raise BlockedAddress(NOT_PUBLIC)
        if address.is_loopback and port in policy.refused_loopback_ports:
            raise BlockedAddress("the input URL points at one of the local stack's own services")
    return answers


def _declared_length(response: urllib3.BaseHTTPResponse) -> int | None:
    """The response's Content-Length, if it sent one; refused unless it is a plain number."""
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    if not value.strip().isdigit() or not value.strip().isascii():
        response.release_conn()
        raise InputUnreachable(f"the input server sent an invalid Content-Length: {value[:40]!r}")
    return int(value)


class BoundedStream(io.RawIOBase):
    """A response body that refuses to deliver more than `limit` bytes."""

    def __init__(self, response: urllib3.BaseHTTPResponse, limit: int) -> None:
        self._response = response
        self._limit = limit
        self.received = 0
        # the whole input's size, when this stream is one range of it (open_url's byte_range)
        self.whole_size: int | None = None
        self.length = _declared_length(response)
        if self.length is not None and self.length > limit:
            response.release_conn()
            raise InputTooLarge(f"the input is larger than the limit of {limit} bytes")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            chunk = self._response.read(len(buffer), decode_content=False)
        except (urllib3.exceptions.HTTPError, OSError):
            raise InputInterrupted("the connection to the input broke while reading it") from None
        self.received += len(chunk)
        if self.received > self._limit:
            raise InputTooLarge(f"the input is larger than the limit of {self._limit} bytes")
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._response.release_conn()
        super().close()


def _request(
    url: str,
    policy: FetchPolicy,
    resolver: Resolver,
    method: str = "GET",
    body: bytes | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> urllib3.BaseHTTPResponse:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputUnreachable("only http and https URLs can be fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = checked_addresses(parts.hostname, port, policy, resolver)[0]
    timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, server_hostname=parts.hostname, assert_hostname=parts.hostname
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "User-Agent": "mediatasks",
        "Accept-Encoding": "identity",
        **(extra_headers or {}),
    }
    try:
        return pool.urlopen(
            method, target, body=body, headers=headers, redirect=False, retries=False, preload_content=False
        )
    except urllib3.exceptions.HTTPError:
        raise InputUnreachable(f"the input host {parts.hostname!r} could not be reached") from None


def post_reading(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    policy: FetchPolicy,
    max_excerpt: int,
    resolver: Resolver = system_resolver,
) -> tuple[int, bytes]:
    """POSTs `body` to `url` under the policy: the HTTP status and at most `max_excerpt` bytes of the
    answer (the rest is never read). Redirects are not followed, as for webhooks."""
    response = _request(url, policy, resolver, "POST", body, headers)
    try:
        excerpt = response.read(max_excerpt, decode_content=False)
    except (urllib3.exceptions.HTTPError, OSError):
        excerpt = b""  # the status is the answer; a body cut short is only its excerpt
    finally:
        response.release_conn()
    return response.status, excerpt


def open_url(
    url: str,
    policy: FetchPolicy,
    resolver: Resolver = system_resolver,
    byte_range: tuple[int, int] | None = None,
) -> BoundedStream:
    """Opens `url` for streaming, following redirects under the policy. The caller closes the stream.

    With `byte_range` (first and last byte, inclusive) it asks for that range only: a server that
    honours it answers 206 and the stream's `whole_size` is the input's size (Content-Range); one
    that ignores it answers 200 with the whole input (`whole_size` None), which the caller may
    still read as a full download."""
    headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else None
    for _ in range(policy.max_redirects + 1):
        response = _request(url, policy, resolver, extra_headers=headers)
        if response.status in _REDIRECTS and response.headers.get("Location"):
            response.release_conn()
            url = urljoin(url, response.headers["Location"])
            continue
        if response.status == 206 and byte_range is not None:
            first, last, whole = _content_range(response, byte_range)
            stream = BoundedStream(response, last - first + 1)
            stream.whole_size = whole
            return stream
        if response.status != 200:
            response.release_conn()
            raise InputUnreachable(f"the input URL answered HTTP {response.status}")
        return BoundedStream(response, policy.max_bytes)
    raise InputUnreachable(f"the input URL redirected more than {policy.max_redirects} times")


_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19})", re.ASCII)


def _content_range(response: urllib3.BaseHTTPResponse, asked: tuple[int, int]) -> tuple[int, int, int]:
    """The (first, last, whole size) a 206 answer covers; refused unless it is the range asked for
    (the last byte may be earlier: the input ends there)."""
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if match is None:
        response.release_conn()
        raise InputUnreachable("the input server answered a range without a valid Content-Range")
    first, last, whole = (int(value) for value in match.groups())
    if first != asked[0] or last < first or last >= whole or last != min(asked[1], whole - 1):
        response.release_conn()
        raise InputUnreachable("the input server answered another range than the one asked for")
    return first, last, whole


def post_for_answer(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    policy: FetchPolicy,
    resolver: Resolver = system_resolver,
) -> tuple[int, bytes]:
    """POSTs `body` to `url` under the policy; the HTTP status and the answer's body, at most
    `policy.max_bytes` of it (InputTooLarge beyond). Redirects are not followed."""
    response = _request(url, policy, resolver, "POST", body, headers)
    with BoundedStream(response, policy.max_bytes) as stream:
        return response.status, stream.read()


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    policy: FetchPolicy,
    resolver: Resolver = system_resolver,
) -> int:
    """POSTs `body` to `url` under the policy and returns the HTTP status. Redirects are not
    followed: a 3xx is an answer like any other (webhooks)."""
    response = _request(url, policy, resolver, "POST", body, headers)
    response.release_conn()
    return response.status
