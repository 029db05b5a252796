"""Security groups held against the window's conversations: which rules carried traffic, which none,
which are far wider than what they carried, and what each group's interfaces refused.

An inbound rule of group G can have allowed a conversation whose server is an interface carrying G,
whose client its source admits (a CIDR holding the client's real address, or an interface carrying the
referenced group) on a port and protocol the rule covers. Several rules can cover one conversation: each
is credited, as AWS allows by any of them. Prefix-list sources are not resolved, so their rules carry
nothing here (and are listed as such). Outbound rules are not audited: most are AWS's default
allow-everything, which any traffic uses and which no finding here would narrow usefully.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from etl.policy.check import ACCEPT, REJECT
from etl.policy.groups import INBOUND, GroupedInterface, GroupInventory, GroupRule, SecurityGroup
from etl.policy.observed import Conversation, End
from etl.policy.protocols import NAMES, protocol_name

WIDE_ADDRESSES = 256  # a source range this large or larger is wide (a /24 of IPv4)
_ICMP = (NAMES["icmp"], NAMES["icmpv6"])


@dataclass(frozen=True)
class RuleUse:
    rule: GroupRule
    group: SecurityGroup
    carried: tuple[Conversation, ...]

    @property
    def peers(self) -> list[End]:
        """The distinct clients the rule admitted."""
        return list({c.client.key: c.client for c in self.carried}.values())

    def narrower(self, narrow: int) -> dict[str, Any] | None:
        """When the rule's source range is wide (a /24 or more) and at most `narrow` peers used it: the
        narrowest rule that would have carried all the traffic it carried (its peers, ports and protocol)."""
        peers = self.peers
        cidr = self.rule.peer.cidr
        if not (self.carried and cidr and _addresses(cidr) >= WIDE_ADDRESSES and len(peers) <= narrow):
            return None
        if any(p.net is None for p in peers):  # a pseudonym the key could not reveal: no rule can name it
            return None
        protocols = {c.protocol for c in self.carried}
        protocol = protocols.pop() if len(protocols) == 1 else self.rule.protocol
        ports = sorted({c.port for c in self.carried})
        return {
            "protocol": protocol_name(protocol),
            "ports": None if protocol is None or protocol in _ICMP else f"{ports[0]}-{ports[-1]}",
            "peers": sorted(str(p.net) for p in peers),
        }


@dataclass(frozen=True)
class GroupRefusals:
    group: SecurityGroup
    refused: tuple[Conversation, ...]


@dataclass(frozen=True)
class Audit:
    uses: tuple[RuleUse, ...]
    refusals: tuple[GroupRefusals, ...]
    narrow: int  # at most this many distinct peers make a wide rule one used narrowly

    @property
    def unused(self) -> list[RuleUse]:
        return [u for u in self.uses if not u.carried and u.rule.peer.prefix_list is None]

    @property
    def unresolved(self) -> list[RuleUse]:
        """Rules whose peer is a prefix list: what they carried cannot be told."""
        return [u for u in self.uses if u.rule.peer.prefix_list is not None]

    @property
    def wide(self) -> list[RuleUse]:
        return [u for u in self.uses if u.narrower(self.narrow) is not None]

    def failed(self, fail_on: Iterable[str]) -> bool:
        """What exit status 4 reports: the kinds of finding asked for (`unused`, `wide`) that occurred."""
        found = {"unused": bool(self.unused), "wide": bool(self.wide)}
        return any(found[kind] for kind in fail_on)

    def as_json(self) -> dict[str, Any]:
        return {
            "rules": [rule_entry(u) | _traffic(u.carried, len(u.peers)) for u in self.uses],
            "unused_rules": [rule_entry(u) for u in self.unused],
            "wide_rules": [
                rule_entry(u) | _traffic(u.carried, len(u.peers)) | {"narrower": u.narrower(self.narrow)}
                for u in self.wide
            ],
            "unresolved_rules": [rule_entry(u) for u in self.unresolved],
            "rejected": [
                {"group": r.group.id, "group_name": r.group.name}
                | _traffic(r.refused, len({c.client.key for c in r.refused}))
                | {"attempts": [c.entry() for c in r.refused]}
                for r in self.refusals
            ],
        }


FAIL_ON = ("unused", "wide")


def rule_entry(use: RuleUse) -> dict[str, Any]:
    rule = use.rule
    return {
        "group": rule.group,
        "group_name": use.group.name,
        "vpc": use.group.vpc,
        "protocol": protocol_name(rule.protocol),
        "ports": _ports(rule),
        "peer": str(rule.peer),
        "description": rule.description,
    }


def _ports(rule: GroupRule) -> str | None:
    """A TCP or UDP rule's port range; an ICMP rule's type and code (`8/any`); None for every port."""
    if rule.protocol in _ICMP:
        return (
            None
            if rule.from_port is None
            else f"type {rule.from_port}/code {'any' if rule.to_port is None else rule.to_port}"
        )
    if rule.from_port is None or rule.to_port is None:
        return None
    return f"{rule.from_port}-{rule.to_port}"


def describe_rule(use: RuleUse) -> str:
    entry = rule_entry(use)
    ports = f"/{entry['ports']}" if entry["ports"] else ""
    return f"{use.rule.group} {use.group.name or ''}: {entry['protocol']}{ports} from {entry['peer']}"


def _traffic(conversations: Iterable[Conversation], peers: int) -> dict[str, Any]:
    listed = list(conversations)
    return {
        "conversations": len(listed),
        "peers": peers,
        **{name: sum(getattr(c, name) for c in listed) for name in ("count", "packets", "bytes")},
    }


def audit(inventory: GroupInventory, ends: Iterable[End], conversations: list[Conversation], narrow: int) -> Audit:
    members = _members(inventory.interfaces, ends)
    # Into each group: the conversations whose server carries it, so a rule looks only at those.
    into: defaultdict[str, list[Conversation]] = defaultdict(list)
    for conversation in conversations:
        for group in members.get(conversation.server.key, ()):
            into[group].append(conversation)
    uses = tuple(
        RuleUse(rule, group, tuple(c for c in into[group.id] if c.action == ACCEPT and _allows(rule, c, members)))
        for group in inventory.groups
        for rule in group.rules
        if rule.direction == INBOUND
    )
    refusals = tuple(
        GroupRefusals(group, refused)
        for group in inventory.groups
        if (refused := tuple(c for c in into[group.id] if c.action == REJECT))
    )
    return Audit(uses, refusals, narrow)


def _members(interfaces: Iterable[GroupedInterface], ends: Iterable[End]) -> defaultdict[str, set[str]]:
    """Address key -> the groups of the interfaces that hold it."""
    holders: defaultdict[str, list[GroupedInterface]] = defaultdict(list)
    for interface in interfaces:
        for address in interface.addresses:
            holders[str(ipaddress.ip_address(address))].append(interface)
    groups: defaultdict[str, set[str]] = defaultdict(set)
    for end in ends:
        if end.net is None or end.net.num_addresses != 1:
            continue
        for interface in holders.get(str(end.net.network_address), ()):
            if _same_network(end, interface):
                groups[end.key].update(interface.groups)
    return groups


def _same_network(end: End, interface: GroupedInterface) -> bool:
    """Whether the graph's address can be the interface's: VPCs may reuse each other's private ranges."""
    if end.vpc is not None and interface.vpc is not None:
        return end.vpc == interface.vpc
    return end.network is None or end.network in (interface.vpc, interface.account)


def _allows(rule: GroupRule, conversation: Conversation, members: defaultdict[str, set[str]]) -> bool:
    """Whether the inbound rule admits the conversation's client, port and protocol."""
    if not _covers_port(rule, conversation):
        return False
    peer, client = rule.peer, conversation.client
    if peer.group is not None:
        return peer.group in members.get(client.key, ())
    if peer.cidr is not None and client.net is not None:
        cidr = ipaddress.ip_network(peer.cidr, strict=False)
        return client.net.version == cidr.version and client.net.subnet_of(cidr)  # type: ignore[arg-type]
    return False


def _covers_port(rule: GroupRule, conversation: Conversation) -> bool:
    if rule.protocol is None:
        return True
    if rule.protocol != conversation.protocol:
        return False
    # An ICMP rule's "ports" are a type and code, which flow logs do not carry.
    if rule.protocol in _ICMP or rule.from_port is None or rule.to_port is None:
        return True
    return rule.from_port <= conversation.port <= rule.to_port


def _addresses(cidr: str) -> int:
    return ipaddress.ip_network(cidr, strict=False).num_addresses
