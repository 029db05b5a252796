"""Security groups as the audit reasons about them, whichever reader (EC2 or a Cartography graph) found them.

A group's permission in AWS lists several sources (CIDRs, IPv6 CIDRs, referenced groups, prefix lists);
here each (permission, source) pair is one `GroupRule`, as EC2's own security-group-rule API splits them.
"""

from __future__ import annotations

from dataclasses import dataclass

INBOUND, OUTBOUND = "inbound", "outbound"
ALL_PROTOCOLS = None  # IpProtocol "-1"


@dataclass(frozen=True)
class Peer:
    """The other end a rule admits: exactly one of a CIDR (IPv4 or IPv6), a referenced group, or a
    managed prefix list (whose ranges the audit does not resolve)."""

    cidr: str | None = None
    group: str | None = None
    prefix_list: str | None = None

    def __str__(self) -> str:
        return self.cidr or self.group or self.prefix_list or "?"


@dataclass(frozen=True)
class GroupRule:
    group: str  # the id of the group that holds the rule
    direction: str  # INBOUND or OUTBOUND
    protocol: int | None  # an IP protocol number; None for all (-1)
    from_port: int | None  # None: every port (all protocols, or AWS's -1)
    to_port: int | None
    peer: Peer
    description: str | None = None


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str | None
    vpc: str | None
    account: str | None
    rules: tuple[GroupRule, ...] = ()


@dataclass(frozen=True)
class GroupedInterface:
    """A network interface, the addresses it holds (private, public, IPv6) and the groups it carries."""

    id: str
    vpc: str | None
    account: str | None
    addresses: tuple[str, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class GroupInventory:
    groups: tuple[SecurityGroup, ...]
    interfaces: tuple[GroupedInterface, ...]
