"""What a policy's `from`, `to` and `guard` name: a known address's name or group, a CIDR, a scope, or any."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from etl.policy.observed import End, IPNetwork

ANY = "any"
SCOPES = ("public", "private", "vpc", "aws-service", "special")


@dataclass(frozen=True)
class Selector:
    text: str  # as written
    cidr: IPNetwork | None = None

    @property
    def kind(self) -> str:
        if self.text == ANY:
            return ANY
        if self.text in SCOPES:
            return "scope"
        return "cidr" if self.cidr is not None else "name"

    def matches(self, end: End) -> bool:
        kind = self.kind
        if kind == ANY:
            return True
        if kind == "scope":
            return end.scope == self.text
        if self.cidr is not None:
            return end.net is not None and end.net.version == self.cidr.version and end.net.subnet_of(self.cidr)  # type: ignore[arg-type]
        return self.text in (end.name, end.group)


def selector(text: str) -> Selector:
    """The selector `text` writes. A word that is a scope or `any` means that, even where an address is
    named so; anything that parses as an address or CIDR is one (host bits are an error: see cidr_error)."""
    if text == ANY or text in SCOPES:
        return Selector(text)
    try:
        return Selector(text, ipaddress.ip_network(text))
    except ValueError:
        return Selector(text)


def cidr_error(text: str) -> str | None:
    """Why `text`, which reads as a CIDR with host bits set, is not one; None when it is no such thing."""
    try:
        ipaddress.ip_network(text)
    except ValueError:
        try:
            return f"{text!r} has host bits set (did you mean {ipaddress.ip_network(text, strict=False)}?)"
        except ValueError:
            return None
    return None
