"""Which addresses a fetched URL may reach, and that the check holds through DNS and redirects."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from mediatasks.adapters.fetch import BlockedAddress, FetchPolicy, open_url
from mediatasks.domain.addresses import is_allowed_address
from mediatasks.domain.errors import InputTooLarge, InputUnreachable

BLOCKED = [
    "127.0.0.1", "127.8.9.10", "0.0.0.0",  # noqa: S104 - data, nothing binds
    "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1",
    "100.64.0.1", "100.127.255.254", "169.254.169.254", "169.254.170.2", "224.0.0.1", "239.255.255.250",
    "255.255.255.255", "192.0.0.1", "198.18.0.1", "240.0.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1", "2002:7f00:1::", "2002:a9fe:a9fe::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
]  # fmt: skip
ALLOWED = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_allowed_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_allowed_address(ipaddress.ip_address(address))


def test_loopback_only_when_opted_in() -> None:
    assert is_allowed_address(ipaddress.ip_address("127.0.0.1"), allow_loopback=True)
    assert is_allowed_address(ipaddress.ip_address("::1"), allow_loopback=True)
    assert not is_allowed_address(ipaddress.ip_address("10.0.0.1"), allow_loopback=True)
    assert not is_allowed_address(ipaddress.ip_address("169.254.169.254"), allow_loopback=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/",
        "http://127.1/", "http://[::1]/", "http://[::ffff:7f00:1]/", "http://169.254.169.254/latest/meta-data/",
    ],
)  # fmt: skip
def test_literal_spellings_of_blocked_hosts_are_refused(url: str) -> None:
    def resolve_like_libc(host: str, port: int) -> list[str]:
        # inet_aton accepts decimal, hex and octal spellings: these are what getaddrinfo returns
        import socket

        return [socket.inet_ntoa(socket.inet_aton(host))]

    with pytest.raises(BlockedAddress):
        open_url(url, FetchPolicy(), resolver=resolve_like_libc)


def test_a_name_with_any_private_answer_is_refused() -> None:
    with pytest.raises(BlockedAddress):
        open_url(
            "http://mixed.example/", FetchPolicy(), resolver=lambda host, port: ["93.184.215.14", "10.0.0.5"]
        )


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


LOCAL = FetchPolicy(allow_loopback=True)


def test_follows_redirects_and_streams(origin: str) -> None:
    _Handler.routes = {
        "/a": (302, {"Location": "/b"}, b""),
        "/b": (301, {"Location": f"{origin}/file"}, b""),
        "/file": (200, {}, b"x" * 1000),
    }
    with open_url(f"{origin}/a", LOCAL) as stream:
        assert stream.read() == b"x" * 1000


def test_redirect_to_a_blocked_address_is_refused(origin: str) -> None:
    _Handler.routes = {"/a": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")}
    with pytest.raises(BlockedAddress):
        open_url(f"{origin}/a", LOCAL)


def test_redirect_loops_stop(origin: str) -> None:
    _Handler.routes = {"/a": (302, {"Location": "/a"}, b"")}
    with pytest.raises(InputUnreachable, match="redirected more than 5"):
        open_url(f"{origin}/a", LOCAL)


def test_redirect_to_another_scheme_is_refused(origin: str) -> None:
    _Handler.routes = {"/a": (302, {"Location": "file:///etc/passwd"}, b"")}
    with pytest.raises(InputUnreachable):
        open_url(f"{origin}/a", LOCAL)


def test_http_errors_are_unreachable(origin: str) -> None:
    _Handler.routes = {}
    with pytest.raises(InputUnreachable, match="HTTP 404"):
        open_url(f"{origin}/missing", LOCAL)


def test_loopback_is_refused_by_default(origin: str) -> None:
    with pytest.raises(BlockedAddress):
        open_url(f"{origin}/file", FetchPolicy())


def test_declared_size_over_the_limit_is_refused_before_reading(origin: str) -> None:
    _Handler.routes = {"/big": (200, {}, b"x" * 5000)}
    with pytest.raises(InputTooLarge):
        open_url(f"{origin}/big", FetchPolicy(allow_loopback=True, max_bytes=4000))


def test_connects_to_the_checked_address_not_a_second_lookup(origin: str) -> None:
    port = int(origin.rsplit(":", 1)[1])
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])  # a rebinding resolver: safe first, then not
    _Handler.routes = {"/file": (200, {}, b"ok")}
    with open_url(f"http://rebind.test:{port}/file", LOCAL, resolver=lambda host, p: next(answers)) as stream:
        assert stream.read() == b"ok"
