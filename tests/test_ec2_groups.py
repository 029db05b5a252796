"""Security groups and their interfaces read from moto's EC2 over HTTP: web, db and admin groups in one VPC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from etl.errors import SourceError
from etl.policy.ec2_groups import _rules, read_security_groups
from etl.policy.groups import INBOUND, OUTBOUND, GroupedInterface, Peer

# The moto server and the bare environment of the discovery tests, and their client and auth switch.
from tests.test_discover import _client, _moto_checks_credentials
from tests.test_discover import endpoint as endpoint
from tests.test_discover import no_aws_config as no_aws_config

REGION = "ca-central-1"  # a region no other test module uses: moto's state is shared in-process
ACCOUNT = "123456789012"  # moto's default account
EVERYWHERE = Peer(cidr="0.0.0.0/0")


@dataclass(frozen=True)
class World:
    ec2: Any
    vpc: str
    web: str
    db: str
    admin: str
    default: str  # the VPC's default group, which moto makes with it
    default_vpc: str  # moto's default VPC of the region, and its default group
    default_vpc_group: str
    prefix_list: str
    front: str  # the interface carrying web and admin
    front_public: str  # its Elastic IP
    data: str  # the interface carrying db


def _groups(ec2: Any, vpc: str) -> dict[str, str]:
    """web, db and admin, by name; db admits web by reference, admin everything from the VPC and pings
    from a prefix list."""
    ids = {name: ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
           for name in ("web", "db", "admin")}  # fmt: skip
    prefix_list = ec2.create_managed_prefix_list(PrefixListName="offices", MaxEntries=5, AddressFamily="IPv4")
    ids["offices"] = prefix_list["PrefixList"]["PrefixListId"]
    permissions = {
        "web": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                 "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}]},
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                 "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": "ssh from the office"}]}],
        "db": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": ids["web"], "Description": "from web"}]}],
        "admin": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/16"}]},
                  {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
                   "PrefixListIds": [{"PrefixListId": ids["offices"], "Description": "echo from the offices"}]}],
    }  # fmt: skip
    for name, permission in permissions.items():
        ec2.authorize_security_group_ingress(GroupId=ids[name], IpPermissions=permission)
    return ids


def _default_group(ec2: Any, vpc: str) -> str:
    filters = [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    [group] = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    return str(group["GroupId"])


@pytest.fixture(scope="module")
def world(endpoint: str) -> World:
    ec2 = _client(endpoint, region=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ids = _groups(ec2, vpc)
    made = ec2.create_network_interface(
        SubnetId=subnet, PrivateIpAddress="10.0.1.10", Groups=[ids["web"], ids["admin"]]
    )
    front = made["NetworkInterface"]["NetworkInterfaceId"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=front, PrivateIpAddresses=["10.0.1.11"])
    elastic = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=elastic["AllocationId"], NetworkInterfaceId=front)
    made = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress="10.0.1.20", Groups=[ids["db"]])
    default_vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"])
    return World(ec2, vpc, ids["web"], ids["db"], ids["admin"], _default_group(ec2, vpc), default_vpc,
                 _default_group(ec2, default_vpc), ids["offices"], front, elastic["PublicIp"],
                 made["NetworkInterface"]["NetworkInterfaceId"])  # fmt: skip


def test_one_rule_per_source(world: World) -> None:
    inventory = read_security_groups(world.ec2)
    rules = {(r.group, r.direction, r.protocol, r.from_port, r.to_port, r.peer, r.description)
             for group in inventory.groups for r in group.rules}  # fmt: skip
    assert rules == {
        (world.web, INBOUND, 6, 443, 443, EVERYWHERE, "https"),
        (world.web, INBOUND, 6, 443, 443, Peer(cidr="::/0"), None),
        (world.web, INBOUND, 6, 22, 22, Peer(cidr="203.0.113.0/24"), "ssh from the office"),
        (world.db, INBOUND, 6, 5432, 5432, Peer(group=world.web), "from web"),
        (world.admin, INBOUND, None, None, None, Peer(cidr="10.0.0.0/16"), None),
        # ICMP's ports are type 8 (echo) and code -1 (any); moto drops a prefix list's description.
        (world.admin, INBOUND, 1, 8, None, Peer(prefix_list=world.prefix_list), None),
        # Every group moto makes allows all out to 0.0.0.0/0, as AWS does. Its default groups lack
        # AWS's inbound rule admitting the group itself.
        *((group, OUTBOUND, None, None, None, EVERYWHERE, None)
          for group in (world.web, world.db, world.admin, world.default, world.default_vpc_group)),
    }  # fmt: skip


def test_groups_by_id_their_rules_inbound_first_as_listed(world: World) -> None:
    inventory = read_security_groups(world.ec2)
    assert [(g.id, g.name, g.vpc, g.account) for g in inventory.groups] == sorted([
        (world.web, "web", world.vpc, ACCOUNT), (world.db, "db", world.vpc, ACCOUNT),
        (world.admin, "admin", world.vpc, ACCOUNT), (world.default, "default", world.vpc, ACCOUNT),
        (world.default_vpc_group, "default", world.default_vpc, ACCOUNT),
    ])  # fmt: skip
    [web] = [group for group in inventory.groups if group.name == "web"]
    assert [(r.direction, r.from_port, str(r.peer)) for r in web.rules] == [
        (INBOUND, 443, "0.0.0.0/0"), (INBOUND, 443, "::/0"), (INBOUND, 22, "203.0.113.0/24"),
        (OUTBOUND, None, "0.0.0.0/0"),
    ]  # fmt: skip


def test_interfaces_by_id_with_their_addresses_and_groups(world: World) -> None:
    expected = [
        GroupedInterface(world.front, world.vpc, ACCOUNT, ("10.0.1.10", "10.0.1.11", world.front_public),
                         (world.web, world.admin)),
        GroupedInterface(world.data, world.vpc, ACCOUNT, ("10.0.1.20",), (world.db,)),
    ]  # fmt: skip
    assert read_security_groups(world.ec2).interfaces == tuple(sorted(expected, key=lambda i: i.id))


def test_small_pages_give_the_same_inventory(world: World) -> None:
    # moto ignores MaxResults for these two calls, so this shows only that EC2 is asked with it.
    assert read_security_groups(world.ec2, page_size=5) == read_security_groups(world.ec2)


@pytest.mark.parametrize(
    ("permission", "ports"),
    [({"IpProtocol": "-1"}, (None, None)),
     ({"IpProtocol": "tcp", "FromPort": 1024, "ToPort": 65535}, (1024, 65535)),
     ({"IpProtocol": "udp", "FromPort": 53, "ToPort": 53}, (53, 53)),
     ({"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1}, (None, None)),  # ICMP: type and code, -1 for any
     ({"IpProtocol": "icmpv6", "FromPort": 128, "ToPort": 0}, (128, 0)),
     ({"IpProtocol": "50", "FromPort": -1, "ToPort": -1}, (None, None)),  # ESP has no ports
     ({"IpProtocol": "47"}, (None, None))],
)  # fmt: skip
def test_ports(permission: dict[str, Any], ports: tuple[int | None, int | None]) -> None:
    [rule] = _rules("sg-1", INBOUND, {**permission, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]})
    assert (rule.from_port, rule.to_port) == ports


def test_unknown_credentials(world: World, endpoint: str) -> None:
    with _moto_checks_credentials(endpoint), pytest.raises(SourceError) as caught:
        read_security_groups(_client(endpoint, key="AKIAUNKNOWN", secret="not-the-secret", region=REGION))
    assert str(caught.value) == (
        "EC2 in ca-central-1 does not accept the AWS credentials in use (AuthFailure); check --profile or AWS_PROFILE"
    )


def test_access_denied_names_the_permissions(world: World, endpoint: str) -> None:
    iam = _client(endpoint, "iam")
    iam.create_user(UserName="group-auditor")  # no policy: every action is denied
    key = iam.create_access_key(UserName="group-auditor")["AccessKey"]
    with _moto_checks_credentials(endpoint), pytest.raises(SourceError) as caught:
        read_security_groups(_client(endpoint, key=key["AccessKeyId"], secret=key["SecretAccessKey"], region=REGION))
    assert str(caught.value) == (
        "EC2 in ca-central-1 refused DescribeSecurityGroups (AccessDenied); "
        "the audit needs ec2:DescribeSecurityGroups and ec2:DescribeNetworkInterfaces"
    )


def test_no_credentials(endpoint: str, no_aws_config: None) -> None:
    ec2 = boto3.session.Session(region_name=REGION).client("ec2", endpoint_url=endpoint)
    with pytest.raises(SourceError, match=r"^no AWS credentials found to query EC2 in ca-central-1: use --profile"):
        read_security_groups(ec2)
