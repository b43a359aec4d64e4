"""Hosts as web-download sees them: every spelling of an IP literal reduced to one address, names
reduced to lower-case ASCII, DNS answers parsed, and the verdict on an address.

Numeric hosts come in more forms than ``ipaddress`` reads. The resolver (``inet_aton``) also
takes ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` and ``127.1``, all of them 127.0.0.1; a
deny-list compared to the URI's text misses them (OSSA-2026-004). So any host made only of
numeric labels is read the way the resolver reads it, and IPv4-mapped IPv6 literals are read as
their IPv4 address, before a host list or a verdict sees them.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")
_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\Z")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_KINDS = (
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)


class Refused(ValueError):
    """The URI (or its host) may not be fetched; ``str()`` is the reason, safe to show."""


def normalise_host(host: str) -> str | IPAddress:
    """The address an IP literal spells, in any form, or the host as a lower-case ASCII name.

    ``host`` is a URI's host without brackets (``urlsplit(...).hostname``). Refuses IPv6 zone
    ids (``fe80::1%25eth0``): they pick a local interface, which no remote URI has a say in.
    """
    host = host.strip().lower().removesuffix(".")
    if not host:
        raise Refused("it has no host")
    if ":" in host:
        if "%" in host:
            raise Refused("IPv6 zone ids are not allowed")
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            raise Refused(f"host {host} is not a valid address") from None
        return address.ipv4_mapped or address
    labels = host.split(".")
    if all(_NUMERIC_LABEL.match(label) for label in labels):
        try:
            if len(labels) > 4:
                raise OSError
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise Refused(f"host {host} is not a valid address") from None
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused("host is not a valid name") from None
    if not _NAME.match(name):
        raise Refused("host is not a valid name")
    return name


def resolve(name: str, port: int) -> list[IPAddress]:
    """Every address ``name`` resolves to, in the resolver's order, without duplicates."""
    try:
        answers = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(f"host {name} does not resolve") from None
    found: list[IPAddress] = []
    for family, _, _, _, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address not in found:
            found.append(address)
    if not found:
        raise Refused(f"host {name} does not resolve")
    return found


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why ``address`` may not be connected to ("a loopback address"), or None.

    Unspecified and multicast addresses are always refused; with ``allow_private`` false, so is
    every address that is not global. IPv6 addresses embedding an IPv4 one (NAT64, 6to4,
    Teredo) are refused when the embedded address is.
    """
    for candidate in _with_embedded(address):
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_multicast:
            return "a multicast address"
        if allow_private:
            continue
        for attribute, kind in _KINDS:
            if getattr(candidate, attribute):
                return kind
        if not candidate.is_global:
            return "not a global address"
    return None


def _with_embedded(address: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses ``address`` embeds, then ``address`` itself."""
    found: list[IPAddress] = []
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour:
            found.append(address.sixtofour)
        if address.teredo:
            found.extend(address.teredo)
    return [*found, address]
