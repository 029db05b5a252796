"""Security groups and the interfaces that carry them, read from one region's EC2 API.

As in `etl.discover`, whose paging and error handling this shares, `get_all` (through paginators) is the only
thing talking to EC2, and pure functions turn what it returns into `etl.policy.groups` values. Each source of
a permission (an IPv4 or IPv6 CIDR, a referenced group, a prefix list) becomes one rule, as EC2's own
DescribeSecurityGroupRules splits them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from etl.discover import EC2Client, Resource, ec2_errors, get_all, interface_addresses
from etl.policy.groups import (
    ALL_PROTOCOLS,
    INBOUND,
    OUTBOUND,
    GroupedInterface,
    GroupInventory,
    GroupRule,
    Peer,
    SecurityGroup,
)
from etl.policy.protocols import protocol_number

_PERMISSIONS = "ec2:DescribeSecurityGroups and ec2:DescribeNetworkInterfaces"
_DIRECTIONS = (("IpPermissions", INBOUND), ("IpPermissionsEgress", OUTBOUND))
# A permission's list of sources -> the key naming each source, and the Peer field it fills.
_SOURCES = (("IpRanges", "CidrIp", "cidr"), ("Ipv6Ranges", "CidrIpv6", "cidr"),
            ("UserIdGroupPairs", "GroupId", "group"), ("PrefixListIds", "PrefixListId", "prefix_list"))  # fmt: skip
_ANY_PORT = -1


def read_security_groups(ec2: EC2Client, *, page_size: int | None = None) -> GroupInventory:
    """Every security group of the client's region with its rules, and every network interface with its
    addresses and groups; both sorted by id."""
    with ec2_errors(ec2.meta.region_name, f"the audit needs {_PERMISSIONS}"):
        return _read(ec2, {"PageSize": page_size} if page_size else {})


def _read(ec2: EC2Client, paging: Mapping[str, int]) -> GroupInventory:
    groups = [_group(group) for group in get_all(ec2, "describe_security_groups", "SecurityGroups", paging)]
    interfaces = [
        _interface(interface) for interface in get_all(ec2, "describe_network_interfaces", "NetworkInterfaces", paging)
    ]
    return GroupInventory(
        tuple(sorted(groups, key=lambda group: group.id)),
        tuple(sorted(interfaces, key=lambda interface: interface.id)),
    )


def _group(group: Resource) -> SecurityGroup:
    rules = tuple(
        rule
        for key, direction in _DIRECTIONS
        for permission in group.get(key, [])
        for rule in _rules(group["GroupId"], direction, permission)
    )
    return SecurityGroup(group["GroupId"], group.get("GroupName"), group.get("VpcId"), group.get("OwnerId"), rules)


def _rules(group: str, direction: str, permission: Resource) -> list[GroupRule]:
    """One rule per source of the permission, in the order EC2 lists them."""
    protocol = protocol_number(permission["IpProtocol"])
    from_port, to_port = _ports(permission, protocol)
    return [
        GroupRule(group, direction, protocol, from_port, to_port, peer, source.get("Description"))
        for source, peer in _peers(permission)
    ]


def _peers(permission: Resource) -> Iterator[tuple[Resource, Peer]]:
    for sources, key, field in _SOURCES:
        for source in permission.get(sources, []):
            # A group pair from EC2-Classic's days could name its group only by name: nothing to match on.
            if source.get(key):
                yield source, Peer(**{field: source[key]})


def _ports(permission: Resource, protocol: int | None) -> tuple[int | None, int | None]:
    """(from, to); None for every port. EC2 writes -1 for the ports of protocols that have none (ESP, GRE,
    ...) or when they are not limited, and for any ICMP type or code (ICMP's "ports" are type and code)."""
    if protocol is ALL_PROTOCOLS:
        return None, None
    from_port, to_port = (
        None if port == _ANY_PORT else port for port in (permission.get("FromPort"), permission.get("ToPort"))
    )
    return from_port, to_port


def _interface(interface: Resource) -> GroupedInterface:
    return GroupedInterface(
        interface["NetworkInterfaceId"],
        interface.get("VpcId"),
        interface.get("OwnerId"),
        tuple(interface_addresses(interface)),
        tuple(group["GroupId"] for group in interface.get("Groups", [])),
    )
