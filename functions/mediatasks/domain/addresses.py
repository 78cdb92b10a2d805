"""Which network addresses a fetched URL may lead to. Pure: no resolution, no sockets."""

from __future__ import annotations

import ipaddress
import re
import unicodedata

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# IPv6 ranges that are not public although Python's tables (3.11) call them global
_NOT_PUBLIC_V6 = tuple(
    ipaddress.ip_network(network)
    for network in (
        "fec0::/10",  # site-local, deprecated (RFC 3879): still routed inside some networks
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment identifiers (RFC 9602)
    )
)
# What IDNA maps to a label separator; NFKC turns the full-width stop into "." but not these
_IDEOGRAPHIC_STOPS = str.maketrans({"\u3002": ".", "\uff61": "."})
_INET_ATON_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
_MAX_PART_CHARACTERS = 12  # 0xffffffff and 037777777777 fit; longer overflows inet_aton


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, NAT64, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_allowed_address(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """Public unicast only (loopback too when the local stack opted in)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_allowed_address(embedded, allow_loopback=allow_loopback)
        if any(address in network for network in _NOT_PUBLIC_V6):
            return False
    if allow_loopback and address.is_loopback:
        return True
    return address.is_global and not address.is_multicast and not address.is_reserved


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names literally, in any spelling the resolver reads as one:
    `1.2.3.4`, `[::1]`, inet_aton's (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) and
    full-width digits or stops (normalised as IDNA does). None for a DNS name."""
    name = unicodedata.normalize("NFKC", host).translate(_IDEOGRAPHIC_STOPS).strip("[]").lower()
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return _inet_aton(name.removesuffix("."))


def _inet_aton(name: str) -> ipaddress.IPv4Address | None:
    """IPv4 as inet_aton (and so getaddrinfo) reads it: one to four parts, each decimal, octal
    (leading 0) or hex (0x), the last filling the bytes left."""
    parts = name.split(".")
    if not 1 <= len(parts) <= 4 or not all(
        len(part) <= _MAX_PART_CHARACTERS and _INET_ATON_PART.fullmatch(part) for part in parts
    ):
        return None
    numbers = [_number(part) for part in parts]
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if part.startswith("0"):
        return int(part, 8)
    return int(part)
