"""Security groups and the interfaces that carry them, read from a Cartography graph in the same database.

Cartography's EC2 model (cartography-cncf/cartography, `cartography/models/aws/ec2/security_groups.py`,
`security_group_rules.py`, `networkinterfaces.py`, `privateip_networkinterface.py`):

    (:AWSAccount)-[:RESOURCE]->(group)            group: {id = groupid, name}
    (:AWSVpc {id})-[:MEMBER_OF_EC2_SECURITY_GROUP]->(group)
    (rule)-[:MEMBER_OF_EC2_SECURITY_GROUP]->(group) rule: {ruleid = "{group}/{IpPermissions|IpPermissionsEgress}/
                                                          {from}{to}{protocol}", protocol, fromport, toport}
    (range)-[:MEMBER_OF_IP_RULE]->(rule)          range: {range = an IPv4 CIDR}
    (group)-[:ALLOWS_TRAFFIC_FROM]->(group)       a referenced group, from any rule of either direction
    (interface)-[:MEMBER_OF_EC2_SECURITY_GROUP]->(group)
    (interface)-[:PRIVATE_IP_ADDRESS]->(ip)       ip: {private_ip_address, public_ip}
    (interface)-[:IPV6_ADDRESS]->(ip)             ip: {ipv6_address}
    (interface)-[:PART_OF_SUBNET]->(subnet)       subnet: {vpc_id}, -[:MEMBER_OF_AWS_VPC]->(:AWSVpc)

Labels changed over Cartography's releases: groups are `EC2SecurityGroup` up to 0.139.0 and
`AWSEC2SecurityGroup` (keeping `EC2SecurityGroup` as an extra label until 1.0.0) from 0.139.1; interfaces
`NetworkInterface`, then `AWSNetworkInterface`; rule labels changed three times (IpPermissionInbound /
IpPermissionEgress, IpRule, AWSIpRule). So groups and interfaces are matched under each name in turn
and merged here, and rules are found by their `ruleid` and relationship, whatever their labels.

Cartography does not record which rule a referenced group belongs to, only the group-level
ALLOWS_TRAFFIC_FROM (from 0.108; not at all before), nor IPv6 ranges or prefix lists. A referenced group
is therefore taken as a source of each rule of its group that has no IPv4 range in the graph: such a rule
admits only sources Cartography leaves out.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from etl.errors import UsageError
from etl.graph.store import GraphStore
from etl.policy.groups import INBOUND, OUTBOUND, GroupedInterface, GroupInventory, GroupRule, Peer, SecurityGroup
from etl.policy.protocols import protocol_number

log = logging.getLogger(__name__)

GROUP_LABELS = ("AWSEC2SecurityGroup", "EC2SecurityGroup")  # current first, then the label before 0.139.1
INTERFACE_LABELS = ("AWSNetworkInterface", "NetworkInterface")
NO_GROUPS = (
    "no Cartography security groups were found in the graph: `cartography` must have synced EC2 "
    "(its ec2:security_group and ec2:network_interface modules) into this database"
)

# Each query names one label (from the constants above, never from input). Separate queries keep every
# row one fact, instead of OPTIONAL MATCH chains multiplying each other.
_GROUPS = """
MATCH (g:{label})
OPTIONAL MATCH (a:AWSAccount)-[:RESOURCE]->(g)
OPTIONAL MATCH (v:AWSVpc)-[:MEMBER_OF_EC2_SECURITY_GROUP]->(g)
RETURN g.id AS id, g.name AS name, collect(DISTINCT a.id) AS accounts, collect(DISTINCT v.id) AS vpcs
"""
_RULES = """
MATCH (g:{label})<-[:MEMBER_OF_EC2_SECURITY_GROUP]-(r)
WHERE r.ruleid IS NOT NULL
OPTIONAL MATCH (ip)-[:MEMBER_OF_IP_RULE]->(r)
RETURN g.id AS group, r.ruleid AS rule, labels(r) AS labels, r.protocol AS protocol, r.fromport AS from_port,
       r.toport AS to_port, collect(DISTINCT ip.range) AS ranges
"""
_REFERENCES = """
MATCH (g:{label})-[:ALLOWS_TRAFFIC_FROM]->(s)
RETURN g.id AS group, s.id AS source
"""
_INTERFACES = """
MATCH (n:{label})
OPTIONAL MATCH (a:AWSAccount)-[:RESOURCE]->(n)
OPTIONAL MATCH (n)-[:PART_OF_SUBNET]->(s)
OPTIONAL MATCH (s)-[:MEMBER_OF_AWS_VPC]->(v:AWSVpc)
RETURN n.id AS id, [n.private_ip_address, n.public_ip] AS addresses, collect(DISTINCT a.id) AS accounts,
       collect(DISTINCT coalesce(s.vpc_id, v.id)) AS vpcs
"""
_INTERFACE_GROUPS = """
MATCH (n:{label})-[:MEMBER_OF_EC2_SECURITY_GROUP]->(g)
RETURN n.id AS id, g.id AS group
"""
_INTERFACE_ADDRESSES = """
MATCH (n:{label})-[:PRIVATE_IP_ADDRESS|IPV6_ADDRESS]->(p)
RETURN n.id AS id, [p.private_ip_address, p.public_ip, p.ipv6_address] AS addresses
"""


def read_cartography(store: GraphStore) -> GroupInventory:
    """Every security group Cartography synced, with its rules, and every network interface with its
    addresses and groups. UsageError when the graph holds no Cartography security group."""
    groups = _read_groups(store)
    if not groups:
        raise UsageError(NO_GROUPS)
    interfaces = _read_interfaces(store, {group.id: group.vpc for group in groups})
    return GroupInventory(groups=tuple(groups), interfaces=tuple(interfaces))


def _rows(store: GraphStore, query: str, labels: Iterable[str]) -> Iterator[dict[str, Any]]:
    for label in labels:
        yield from store.query(query.format(label=label), {})[1]


def _read_groups(store: GraphStore) -> list[SecurityGroup]:
    found: dict[str, dict[str, Any]] = {}
    for row in _rows(store, _GROUPS, GROUP_LABELS):
        known = found.setdefault(row["id"], {"name": None, "accounts": set(), "vpcs": set()})
        known["name"] = known["name"] or row["name"]
        known["accounts"].update(row["accounts"])
        known["vpcs"].update(row["vpcs"])
    rules = _read_rules(store)
    return [
        SecurityGroup(
            id=group,
            name=known["name"],
            vpc=_one(known["vpcs"]),
            account=_one(known["accounts"]),
            rules=tuple(sorted(set(rules.get(group, ())), key=_rule_order)),
        )
        for group, known in sorted(found.items())
    ]


@dataclass
class _Rule:
    group: str
    direction: str
    protocol: int | None
    from_port: int | None
    to_port: int | None
    ranges: set[str] = field(default_factory=set)


def _read_rules(store: GraphStore) -> dict[str, list[GroupRule]]:
    """Group id -> its rules, one per (rule, source)."""
    rules: dict[str, _Rule] = {}  # by ruleid: a group under both labels returns its rules twice
    for row in _rows(store, _RULES, GROUP_LABELS):
        if row["rule"] in rules:
            rules[row["rule"]].ranges.update(row["ranges"])
        elif (rule := _rule(row)) is not None:
            rules[row["rule"]] = rule
    references: dict[str, set[str]] = defaultdict(set)
    for row in _rows(store, _REFERENCES, GROUP_LABELS):
        references[row["group"]].add(row["source"])
    found: dict[str, list[GroupRule]] = defaultdict(list)
    for rule in rules.values():
        peers = [Peer(cidr=cidr) for cidr in rule.ranges] or [Peer(group=g) for g in references[rule.group]]
        fields = (rule.group, rule.direction, rule.protocol, rule.from_port, rule.to_port)
        found[rule.group].extend(GroupRule(*fields, peer=peer) for peer in peers)
    return found


def _rule(row: dict[str, Any]) -> _Rule | None:
    try:
        protocol = protocol_number(row["protocol"] if row["protocol"] is not None else "-1")
    except ValueError:
        log.warning("skipped rule %s: its protocol %r is not an IP protocol", row["rule"], row["protocol"])
        return None
    every_port = protocol is None
    return _Rule(
        group=row["group"],
        direction=_direction(row["rule"], row["labels"]),
        protocol=protocol,
        from_port=None if every_port else _port(row["from_port"]),
        to_port=None if every_port else _port(row["to_port"]),
        ranges=set(row["ranges"]),
    )


def _direction(rule_id: str, labels: list[str]) -> str:
    """Every Cartography release writes ruleid as `{group}/{IpPermissions|IpPermissionsEgress}/...`; the
    labels telling inbound from egress changed (IpPermissionEgress until 0.108, none since)."""
    kind = rule_id.split("/")[1] if rule_id.count("/") >= 2 else ""
    if kind in ("IpPermissions", "IpPermissionsEgress"):
        return OUTBOUND if kind == "IpPermissionsEgress" else INBOUND
    return INBOUND if {"IpPermissionInbound", "AWSIpPermissionInbound"} & set(labels) else OUTBOUND


def _port(value: Any) -> int | None:
    """AWS's -1 (every port, or every ICMP type/code) and an absent port are both None."""
    if value is None or int(value) == -1:
        return None
    return int(value)


def _rule_order(rule: GroupRule) -> tuple[Any, ...]:
    numbers = (rule.protocol, rule.from_port, rule.to_port)
    return (rule.direction, *(-1 if n is None else n for n in numbers), str(rule.peer))


def _one(values: Iterable[str | None]) -> str | None:
    """The value, or the least of several (a node should have one account, one VPC)."""
    present = {value for value in values if value}
    return min(present) if present else None


def _read_interfaces(store: GraphStore, group_vpcs: dict[str, str | None]) -> list[GroupedInterface]:
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in _rows(store, _INTERFACES, INTERFACE_LABELS):
        known = found[row["id"]]
        known["addresses"].update(a for a in row["addresses"] if a)
        known["accounts"].update(row["accounts"])
        known["vpcs"].update(row["vpcs"])
    for row in _rows(store, _INTERFACE_GROUPS, INTERFACE_LABELS):
        found[row["id"]]["groups"].add(row["group"])
    for row in _rows(store, _INTERFACE_ADDRESSES, INTERFACE_LABELS):
        found[row["id"]]["addresses"].update(a for a in row["addresses"] if a)
    return [
        GroupedInterface(
            id=interface,
            # An interface's groups are in its own VPC: they tell it when its subnet was not synced.
            vpc=_one(known["vpcs"]) or _one(group_vpcs.get(group) for group in known["groups"]),
            account=_one(known["accounts"]),
            addresses=tuple(sorted(known["addresses"], key=_address_order)),
            groups=tuple(sorted(known["groups"])),
        )
        for interface, known in sorted(found.items())
    ]


def _address_order(text: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return (9, 0, text)
    return (address.version, int(address), text)
