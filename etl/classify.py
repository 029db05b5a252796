"""What kind of endpoint an address is, decided on the real address before any pseudonym."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Python's is_private also covers the documentation ranges, which are public as far as a VPC is
# concerned; these are the networks that are private by allocation.
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


def parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def scope_of(text: str) -> str | None:
    """`special`, `private` or `public`; None when `text` is not an IP address."""
    address = parse_address(text)
    if address is None:
        return None
    if address.is_link_local or address.is_loopback or address.is_multicast or address.is_unspecified:
        return "special"
    if any(address in network for network in _PRIVATE):
        return "private"
    return "public"
