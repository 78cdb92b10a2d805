"""Which addresses a fetched URL may reach, and that the check holds through DNS and redirects."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import urllib3

from mediatasks.adapters.fetch import BlockedAddress, FetchPolicy, open_url, system_resolver
from mediatasks.domain.addresses import is_allowed_address, literal_address
from mediatasks.domain.errors import InputTooLarge, InputUnreachable

BLOCKED = [
    "127.0.0.1", "127.8.9.10", "0.0.0.0",  # noqa: S104 - data, nothing binds
    "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1",
    "100.64.0.1", "100.127.255.254", "169.254.169.254", "169.254.170.2", "224.0.0.1", "239.255.255.250",
    "255.255.255.255", "192.0.0.1", "198.18.0.1", "240.0.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1", "2002:7f00:1::", "2002:a9fe:a9fe::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "fec0::1", "feff::1", "3fff::1", "3fff:fff::1", "5f00::1", "2001:db8::1", "100::1",
]  # fmt: skip
PRIVATE_RANGES = [
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.255.254",
]
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


@pytest.fixture
def no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test: a refusal must come before one."""

    def connect(*_: Any, **__: Any) -> Any:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", connect)
    monkeypatch.setattr(socket, "create_connection", connect)


@pytest.mark.parametrize("address", PRIVATE_RANGES)
@pytest.mark.usefixtures("no_connection")
def test_private_ranges_are_refused_before_any_connection(address: str) -> None:
    assert not is_allowed_address(ipaddress.ip_address(address))
    assert not is_allowed_address(ipaddress.ip_address(address), allow_loopback=True)
    for policy in (FetchPolicy(), LOCAL):
        with pytest.raises(BlockedAddress):
            open_url(f"http://{address}/a.mp4", policy)
        with pytest.raises(BlockedAddress):
            open_url("http://internal.example/a.mp4", policy, resolver=lambda host, port: [address])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("012.0.0.1", "10.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 - data, nothing binds
        ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127.0.0.1"),  # full-width digits
        ("\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11", "127.0.0.1"),  # and stops
        ("127\u30020\u30020\u30021", "127.0.0.1"),  # ideographic full stops
        ("\uff10\uff58\uff17\uff46.\uff11", "127.0.0.1"),  # full-width hex
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    ],
)
def test_every_spelling_the_resolver_reads_is_a_literal_address(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host", ["example.com", "1e1", "08.1.1.1", "256.1.1.1", "1.2.3.4.5", "4294967296", "0x1g"]
)
def test_names_that_are_no_address_are_left_to_dns(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/a.mp4",
        "http://0x7f.1/a.mp4",
        "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/a.mp4",
    ],
)
@pytest.mark.usefixtures("no_connection")
def test_inet_aton_spellings_are_refused_without_a_lookup(url: str) -> None:
    def no_lookup(host: str, port: int) -> list[str]:
        raise AssertionError(f"{host} was looked up")

    with pytest.raises(BlockedAddress):
        open_url(url, FetchPolicy(), resolver=no_lookup)


@pytest.mark.usefixtures("no_connection")
def test_an_unresolvable_name_and_a_private_one_read_the_same() -> None:
    def unresolvable(host: str, port: int) -> list[str]:
        return system_resolver("name.invalid", port)

    with pytest.raises(BlockedAddress) as missing:
        open_url("http://missing.internal/a.mp4", FetchPolicy(), resolver=unresolvable)
    with pytest.raises(BlockedAddress) as private:
        open_url("http://db.internal/a.mp4", FetchPolicy(), resolver=lambda host, port: ["10.0.0.5"])
    with pytest.raises(BlockedAddress) as empty:
        open_url("http://empty.internal/a.mp4", FetchPolicy(), resolver=lambda host, port: [])
    assert str(missing.value) == str(private.value) == str(empty.value)
    assert "internal" not in str(missing.value)


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
        if "Content-Length" not in headers:
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


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "12 34", "\u00b2"])
def test_a_content_length_that_is_no_number_is_unreachable(origin: str, length: str) -> None:
    _Handler.routes = {"/odd": (200, {"Content-Length": length}, b"x" * 10)}
    with pytest.raises(InputUnreachable, match="invalid Content-Length") as raised:
        open_url(f"{origin}/odd", LOCAL)
    assert not isinstance(raised.value, (BlockedAddress, InputTooLarge))


def test_the_local_stacks_own_ports_are_refused_even_with_local_inputs(origin: str) -> None:
    port = int(origin.rsplit(":", 1)[1])
    own = FetchPolicy(allow_loopback=True, refused_loopback_ports=frozenset({port}))
    _Handler.routes = {"/file": (200, {}, b"ok")}
    for url in (
        f"http://127.0.0.1:{port}/file",
        f"http://[::1]:{port}/file",
        f"http://2130706433:{port}/file",
    ):
        with pytest.raises(BlockedAddress, match="local stack"):
            open_url(url, own)
    with pytest.raises(BlockedAddress, match="local stack"):
        open_url(f"http://localhost:{port}/file", own, resolver=lambda host, p: ["127.0.0.1"])


def test_a_redirect_to_the_local_stacks_own_port_is_refused(origin: str) -> None:
    emulator = int(origin.rsplit(":", 1)[1]) + 1  # refused before any connection: nothing listens
    policy = FetchPolicy(allow_loopback=True, refused_loopback_ports=frozenset({emulator}))
    _Handler.routes = {
        "/file": (200, {}, b"ok"),
        "/hop": (302, {"Location": f"http://127.0.0.1:{emulator}/"}, b""),
    }
    with open_url(f"{origin}/file", policy) as stream:  # another loopback server is still an input
        assert stream.read() == b"ok"
    with pytest.raises(BlockedAddress, match="local stack"):
        open_url(f"{origin}/hop", policy)
