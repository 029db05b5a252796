"""Discovery against moto's EC2 over HTTP: a VPC with instances, a load balancer, a NAT gateway and more."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
from botocore.config import Config

from etl.discover import _identify, discover_known_ips, make_ec2_client
from etl.errors import SourceError, UsageError
from etl.known_ips import PLACES, Known, KnownIPs, entry_order, write_yaml
from etl.sources.timewindow import iso_time
from tests.aws import moto_server

REGION = "eu-north-1"  # a region no other test module uses: moto's state is shared in-process
ACCOUNT = "123456789012"  # moto's default account
OTHER_ACCOUNT = "210987654321"
ZONES = {"a": "eun1-az1", "b": "eun1-az2", "c": "eun1-az3"}  # the zone ids moto gives eu-north-1's zones
IMAGE = "ami-12c6146b"  # one of the images moto ships (listing them all takes seconds)
LAMBDA_ENI = "AWS Lambda VPC ENI-checkout-3f2a1b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b"
ECS_ENI = "arn:aws:ecs:eu-north-1:123456789012:attachment/{}-5d6e-4f80-9a1b-2c3d4e5f6a7b"  # {}: each task's own


class Row(NamedTuple):
    """An entry, for comparing sets of them: what it names, and where that is."""

    kind: str  # ip or cidr
    value: str
    name: str
    group: str | None
    role: str
    vpc: str | None = None
    account: str | None = None
    subnet: str | None = None
    az: str | None = None
    eni: str | None = None


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc: str
    group: str  # its addresses' group: its Name tag, else its VPC's
    az: str  # its zone's id

    def row(self, address: str, name: str, role: str, eni: str) -> Row:
        return Row("ip", address, name, self.group, role, self.vpc, ACCOUNT, self.id, self.az, eni)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def no_aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the machine's AWS credentials, profiles or region."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _client(
    endpoint: str,
    service: str = "ec2",
    key: str = "testing",
    secret: str = "testing",
    region: str = REGION,
    **more: Any,
) -> Any:
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region, **more)
    return session.client(service, endpoint_url=endpoint)


def _tags(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


@dataclass
class Account:
    ec2: Any
    expected: set[Row]
    web_1: str  # web-1's public address
    default_vpc: str
    shop_vpc: str
    lab_vpc: str  # the same 10.0.0.0/16 as shop-vpc


def _interface(ec2: Any, subnet: Subnet, address: str, **params: Any) -> dict[str, Any]:
    """An interface at a fixed address, from .200 up: moto gives instances addresses in order from the
    bottom of the subnet but an interface one at random anywhere in it, so web-4 and the load balancer
    once shared 10.0.1.7; AWS never gives an address twice in a VPC."""
    return ec2.create_network_interface(SubnetId=subnet.id, PrivateIpAddress=address, **params)["NetworkInterface"]


def _described(ec2: Any, subnet: Subnet, expected: set[Row], kinds: list[tuple[str, str, str, str]]) -> None:
    """Interfaces made as AWS makes them for a service, which says so only in their description:
    (description, name, role, address); {eni} in a name is the interface's id."""
    for description, name, role, address in kinds:
        eni = _interface(ec2, subnet, address, Description=description)["NetworkInterfaceId"]
        expected.add(subnet.row(address, name.format(eni=eni), role, eni))


def _instances(ec2: Any, subnet: Subnet, expected: set[Row], names: list[str | None]) -> list[dict[str, Any]]:
    """One reservation per instance, so describe_instances has as many items to page through."""
    made = []
    for name in names:
        tags = _tags("instance", name) if name else []
        instance = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet.id, TagSpecifications=tags)
        made.append(instance["Instances"][0])
        eni = made[-1]["NetworkInterfaces"][0]["NetworkInterfaceId"]
        expected.add(subnet.row(made[-1]["PrivateIpAddress"], name or made[-1]["InstanceId"], "instance", eni))
    return made


def _nat_gateway(ec2: Any, subnet: Subnet, expected: set[Row]) -> None:
    nat_ip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=subnet.id, AllocationId=nat_ip["AllocationId"])["NatGateway"]
    for address in nat["NatGatewayAddresses"]:
        for ip in (address["PrivateIp"], address["PublicIp"]):
            expected.add(
                subnet.row(ip, f"nat-gateway {nat['NatGatewayId']}", "nat-gateway", address["NetworkInterfaceId"])
            )


def _endpoint(ec2: Any, subnet: Subnet, service: str, expected: set[Row]) -> None:
    endpoint = ec2.create_vpc_endpoint(VpcId=subnet.vpc, ServiceName=f"com.amazonaws.{REGION}.{service}",
                                       VpcEndpointType="Interface", SubnetIds=[subnet.id])  # fmt: skip
    ids = endpoint["VpcEndpoint"]["NetworkInterfaceIds"]
    for interface in ec2.describe_network_interfaces(NetworkInterfaceIds=ids)["NetworkInterfaces"]:
        row = subnet.row(
            interface["PrivateIpAddress"], f"vpc-endpoint {service}", "vpc-endpoint", interface["NetworkInterfaceId"]
        )
        expected.add(row)


def _vpc(ec2: Any, expected: set[Row]) -> tuple[str, dict[str | None, Subnet]]:
    """shop-vpc with two IPv4 CIDRs and an IPv6 one, and its subnets by Name tag (None: untagged)."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags("vpc", "shop-vpc"))["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock="10.1.0.0/16")
    ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)
    v6 = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    v6_web = str(next(ipaddress.ip_network(v6).subnets(new_prefix=64)))
    expected |= {Row("cidr", c, "shop-vpc", None, "vpc", vpc, ACCOUNT) for c in ("10.0.0.0/16", "10.1.0.0/16", v6)}
    subnets = {}
    for name, cidr, zone, extra in (("web", "10.0.1.0/24", "a", {"Ipv6CidrBlock": v6_web}),
                                    ("web-b", "10.0.2.0/24", "b", {}), ("data", "10.0.3.0/24", "a", {}),
                                    (None, "10.1.0.0/24", "c", {})):  # fmt: skip
        tags = _tags("subnet", name) if name else []
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=REGION + zone, TagSpecifications=tags,
                                   **extra)["Subnet"]["SubnetId"]  # fmt: skip
        subnets[name] = Subnet(subnet, vpc, name or "shop-vpc", ZONES[zone])
        expected.add(Row("cidr", cidr, name or subnet, "shop-vpc", "subnet", vpc, ACCOUNT, subnet, ZONES[zone]))
    expected.add(Row("cidr", v6_web, "web", "shop-vpc", "subnet", vpc, ACCOUNT, subnets["web"].id, ZONES["a"]))
    return vpc, subnets


def _web_servers(ec2: Any, subnets: dict[str | None, Subnet], expected: set[Row]) -> str:
    """Seven named web servers (web-1 with a second address and an Elastic IP), one unnamed; web-1's EIP."""
    web = _instances(ec2, subnets["web"], expected, [f"web-{i}" for i in range(1, 8)])
    _instances(ec2, subnets["data"], expected, [None])
    web_1_interface = web[0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=web_1_interface, PrivateIpAddresses=["10.0.1.200"])
    interface = ec2.describe_network_interfaces(NetworkInterfaceIds=[web_1_interface])["NetworkInterfaces"][0]
    assert len(interface["PrivateIpAddresses"]) == 2
    for address in interface["PrivateIpAddresses"]:
        expected.add(subnets["web"].row(address["PrivateIpAddress"], "web-1", "instance", web_1_interface))
    elastic = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=elastic["AllocationId"], InstanceId=web[0]["InstanceId"])
    expected.add(subnets["web"].row(elastic["PublicIp"], "web-1", "instance", web_1_interface))
    return elastic["PublicIp"]


def _managed_interfaces(ec2: Any, elbv2: Any, subnets: dict[str | None, Subnet], expected: set[Row]) -> None:
    """A NAT gateway, a load balancer, RDS, Lambda, an S3 endpoint, a tagged and an untagged interface."""
    _nat_gateway(ec2, subnets["web"], expected)
    # Load balancers, RDS and Lambda make their interfaces in the VPC and say so only in the
    # description; moto's load balancer makes none, so they are made here as AWS describes them.
    balancer = elbv2.create_load_balancer(Name="shop-lb", Subnets=[subnets["web"].id, subnets["web-b"].id])
    arn_tail = balancer["LoadBalancers"][0]["LoadBalancerArn"].split(":loadbalancer/")[1]  # app/shop-lb/<id>
    for subnet, address in (("web", "10.0.1.201"), ("web-b", "10.0.2.201")):
        _described(ec2, subnets[subnet], expected, [(f"ELB {arn_tail}", "shop-lb", "load-balancer", address)])
    _described(ec2, subnets["data"], expected, [("RDSNetworkInterface", "rds", "rds", "10.0.3.201"),
                                                 (LAMBDA_ENI, "lambda checkout", "lambda", "10.0.3.202")])  # fmt: skip
    _endpoint(ec2, subnets["data"], "s3", expected)
    bastion = _interface(
        ec2, subnets["web"], "10.0.1.202", Ipv6AddressCount=1, TagSpecifications=_tags("network-interface", "bastion")
    )
    for ip in (bastion["PrivateIpAddress"], bastion["Ipv6Addresses"][0]["Ipv6Address"]):
        expected.add(subnets["web"].row(ip, "bastion", "interface", bastion["NetworkInterfaceId"]))
    spare = _interface(ec2, subnets[None], "10.1.0.201")["NetworkInterfaceId"]
    expected.add(subnets[None].row("10.1.0.201", f"interface {spare}", "interface", spare))


def _lab_vpc(ec2: Any, expected: set[Row]) -> Subnet:
    """lab-vpc, on shop-vpc's 10.0.0.0/16 as VPCs that never meet may be, with one subnet in zone b."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags("vpc", "lab-vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=REGION + "b",
                               TagSpecifications=_tags("subnet", "lab"))["Subnet"]["SubnetId"]  # fmt: skip
    expected.add(Row("cidr", "10.0.0.0/16", "lab-vpc", None, "vpc", vpc, ACCOUNT))
    expected.add(Row("cidr", "10.0.1.0/24", "lab", "lab-vpc", "subnet", vpc, ACCOUNT, subnet, ZONES["b"]))
    return Subnet(subnet, vpc, "lab", ZONES["b"])


def _lab_interfaces(ec2: Any, lab: Subnet, expected: set[Row]) -> None:
    """An instance, a NAT gateway, an ECR endpoint, and interfaces made as AWS makes them for Lambda (at
    the bastion's address in shop-vpc), ECS tasks and a transit gateway attachment."""
    [lab_1] = _instances(ec2, lab, expected, ["lab-1"])
    _nat_gateway(ec2, lab, expected)
    _endpoint(ec2, lab, "ecr.dkr", expected)
    gateway = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    attachment = ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=gateway, VpcId=lab.vpc, SubnetIds=[lab.id])
    attachment_id = attachment["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    # moto's transit gateway attachment makes no interface, and its ECS tasks' say "moto ECS".
    _described(ec2, lab, expected, [
        (LAMBDA_ENI, "lambda checkout", "lambda", "10.0.1.202"),
        (ECS_ENI.format("0a1b2c3d"), "ecs-task {eni}", "ecs-task", "10.0.1.203"),  # on Fargate
        (f"Network Interface for Transit Gateway Attachment {attachment_id}", f"transit-gateway {attachment_id}",
         "transit-gateway", "10.0.1.205"),
    ])  # fmt: skip
    # A task on an EC2 container instance: its interface is attached to the instance, yet the task's.
    task = _interface(ec2, lab, "10.0.1.204", Description=ECS_ENI.format("4e5f6a7b"))["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=task, InstanceId=lab_1["InstanceId"], DeviceIndex=1)
    expected.add(lab.row("10.0.1.204", f"ecs-task {task}", "ecs-task", task))


@pytest.fixture(scope="module")
def account(endpoint: str) -> Account:
    ec2, expected = _client(endpoint), set[Row]()
    shop_vpc, subnets = _vpc(ec2, expected)
    web_1 = _web_servers(ec2, subnets, expected)
    _managed_interfaces(ec2, _client(endpoint, "elbv2"), subnets, expected)
    lab = _lab_vpc(ec2, expected)
    _lab_interfaces(ec2, lab, expected)
    default_vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"])
    for vpc in (shop_vpc, lab.vpc):
        addresses = [row.value for row in expected if row.kind == "ip" and row.vpc == vpc]
        assert len(addresses) == len(set(addresses)), "moto gave one address twice in a VPC"
    return Account(ec2, expected, web_1, default_vpc, shop_vpc, lab.vpc)


def _rows(entries: list[dict[str, str]]) -> set[Row]:
    rows = set()
    for entry in entries:
        kind = "ip" if "ip" in entry else "cidr"
        assert set(entry) <= {kind, "name", "group", "role", *PLACES}
        places = (entry.get(key) for key in PLACES)
        rows.add(Row(kind, entry[kind], entry["name"], entry.get("group"), entry["role"], *places))
    return rows


def _known(row: Row) -> Known:
    return Known(*row[2:])


def _expected(account: Account, value: str, vpc: str) -> Row:
    [row] = [row for row in account.expected if row.value == value and row.vpc == vpc]
    return row


def test_every_interface_vpc_and_subnet_named_where_it_is(account: Account) -> None:
    rows = _rows(discover_known_ips(account.ec2))
    assert {row for row in rows if row.vpc != account.default_vpc} == account.expected
    # moto's default VPC and its subnets, named by id for want of Name tags
    default = Row("cidr", "172.31.0.0/16", account.default_vpc, None, "vpc", account.default_vpc, ACCOUNT)
    assert default in rows


def test_overlapping_vpcs_keep_their_own_entries(account: Account) -> None:
    rows = _rows(discover_known_ips(account.ec2))
    assert {row.vpc for row in rows if row.value == "10.0.0.0/16"} == {account.shop_vpc, account.lab_vpc}
    assert {row.vpc for row in rows if row.value == "10.0.1.0/24"} == {account.shop_vpc, account.lab_vpc}
    assert {(row.vpc, row.name) for row in rows if row.value == "10.0.1.202"} == {
        (account.shop_vpc, "bastion"), (account.lab_vpc, "lambda checkout")
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "name", "role"),
    [("network_load_balancer", "network-load-balancer eni-1", "load-balancer"),
     ("gateway_load_balancer_endpoint", "gateway-load-balancer-endpoint eni-1", "vpc-endpoint"),
     ("nat_gateway", "nat-gateway eni-1", "nat-gateway"), ("lambda", "lambda eni-1", "lambda"),
     ("transit_gateway", "transit-gateway eni-1", "transit-gateway"), ("branch", "branch eni-1", "interface")],
)  # fmt: skip
def test_what_an_interface_type_says(kind: str, name: str, role: str) -> None:
    # moto makes every interface of type `interface`: these are types AWS gives the interfaces it makes,
    # for those nothing else names (an unknown description, no instance, listed by no NAT gateway or endpoint).
    assert _identify({"NetworkInterfaceId": "eni-1", "InterfaceType": kind, "Description": ""}, {}, {}) == (name, role)


def test_vpcs_then_subnets_then_addresses_each_network_once_per_vpc(account: Account) -> None:
    entries = discover_known_ips(account.ec2)
    ranks = [{"vpc": 0, "subnet": 1}.get(e["role"], 2) for e in entries]
    assert ranks == sorted(ranks)
    places = [(ipaddress.ip_network(e.get("ip") or e["cidr"]), e["vpc"], e["account"]) for e in entries]
    assert len(set(places)) == len(places)
    assert [entry_order(e) for e in entries] == sorted(entry_order(e) for e in entries)


def test_small_pages_give_the_same_entries(account: Account) -> None:
    # 5 is EC2's smallest page; moto pages describe_instances, and 9 instances need two pages.
    assert discover_known_ips(account.ec2, page_size=5) == discover_known_ips(account.ec2)


def test_written_file_loads_back(account: Account, tmp_path: Path) -> None:
    path = tmp_path / "known-ips.yaml"
    write_yaml(discover_known_ips(account.ec2), path)
    known = KnownIPs.load(path)
    assert known.lookup(account.web_1) == _known(_expected(account, account.web_1, account.shop_vpc))
    assert {"10.0.0.0/16", "10.1.0.0/16", "172.31.0.0/16"} <= {str(n) for n in known.vpc_networks}
    for vpc in (account.shop_vpc, account.lab_vpc):  # the bastion in one, a Lambda function in the other
        assert known.lookup("10.0.1.202", vpc, ACCOUNT) == _known(_expected(account, "10.0.1.202", vpc))
    assert known.lookup("10.0.9.9", account.lab_vpc, ACCOUNT) == _known(
        _expected(account, "10.0.0.0/16", account.lab_vpc)
    )


def test_the_same_range_in_another_account(account: Account, endpoint: str, tmp_path: Path) -> None:
    sts = _client(endpoint, "sts")
    role = sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/auditor", RoleSessionName="discover")
    credentials = role["Credentials"]  # moto keeps an account's resources under the role's account
    ec2 = _client(endpoint, key=credentials["AccessKeyId"], secret=credentials["SecretAccessKey"],
                  aws_session_token=credentials["SessionToken"])  # fmt: skip
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags("vpc", "ops-vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=REGION + "c")["Subnet"]["SubnetId"]
    tags = _tags("network-interface", "ops")
    ops = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress="10.0.1.202", TagSpecifications=tags)
    eni = ops["NetworkInterface"]["NetworkInterfaceId"]
    theirs = discover_known_ips(ec2)
    assert {row for row in _rows(theirs) if row.vpc == vpc} == {
        Row("cidr", "10.0.0.0/16", "ops-vpc", None, "vpc", vpc, OTHER_ACCOUNT),
        Row("cidr", "10.0.1.0/24", subnet, "ops-vpc", "subnet", vpc, OTHER_ACCOUNT, subnet, ZONES["c"]),
        Row("ip", "10.0.1.202", "ops", "ops-vpc", "interface", vpc, OTHER_ACCOUNT, subnet, ZONES["c"], eni),
    }
    path = tmp_path / "known-ips.yaml"
    write_yaml(discover_known_ips(account.ec2) + theirs, path)
    known = KnownIPs.load(path)
    assert known.lookup("10.0.1.202", vpc, OTHER_ACCOUNT) == Known("ops", "ops-vpc", "interface", vpc, OTHER_ACCOUNT,
                                                                     subnet, ZONES["c"], eni)  # fmt: skip
    assert known.lookup("10.0.1.202", account.shop_vpc, ACCOUNT) == _known(
        _expected(account, "10.0.1.202", account.shop_vpc)
    )


def _reset_auth(endpoint: str, count: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request).close()


@contextlib.contextmanager
def _moto_checks_credentials(endpoint: str) -> Iterator[None]:
    _reset_auth(endpoint, "0")
    try:
        yield
    finally:
        _reset_auth(endpoint, "inf")


def test_unknown_credentials(account: Account, endpoint: str) -> None:
    with _moto_checks_credentials(endpoint), pytest.raises(SourceError) as caught:
        discover_known_ips(_client(endpoint, key="AKIAUNKNOWN", secret="not-the-secret"))
    assert str(caught.value) == (
        "EC2 in eu-north-1 does not accept the AWS credentials in use (AuthFailure); check --profile or AWS_PROFILE"
    )
    assert "not-the-secret" not in str(caught.value)


def test_access_denied_names_the_permissions(account: Account, endpoint: str) -> None:
    iam = _client(endpoint, "iam")
    iam.create_user(UserName="auditor")  # no policy: every action is denied
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    with _moto_checks_credentials(endpoint), pytest.raises(SourceError) as caught:
        discover_known_ips(_client(endpoint, key=key["AccessKeyId"], secret=key["SecretAccessKey"]))
    assert str(caught.value).startswith("EC2 in eu-north-1 refused DescribeVpcs (AccessDenied); discovery needs ec2:")


def test_no_credentials(endpoint: str, no_aws_config: None) -> None:
    ec2 = boto3.session.Session(region_name=REGION).client("ec2", endpoint_url=endpoint)
    with pytest.raises(SourceError, match=r"^no AWS credentials found to query EC2 in eu-north-1: use --profile"):
        discover_known_ips(ec2)


def test_unreachable_endpoint() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    ec2 = session.client("ec2", endpoint_url=f"http://127.0.0.1:{port}", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(SourceError, match=r"^cannot query EC2 in eu-north-1: Could not connect to the endpoint URL"):
        discover_known_ips(ec2)


@pytest.mark.parametrize(
    ("profile", "region", "problem"),
    [("nobody", REGION, "there is no AWS profile named 'nobody'"), (None, None, "no AWS region given")],
)
def test_client_settings_errors(no_aws_config: None, profile: str | None, region: str | None, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        make_ec2_client(profile, region)


def test_client_for_a_region(no_aws_config: None) -> None:
    assert make_ec2_client(None, REGION).meta.region_name == REGION


def test_the_command_writes_the_file_and_prints_the_yaml(
    account: Account, endpoint: str, no_aws_config: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from etl.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    runner, command = CliRunner(), ["known-ips", "discover", "--region", REGION, "--endpoint-url", endpoint]
    result = runner.invoke(app, [*command, "-o", "known-ips.yaml"])
    assert result.exit_code == 0, result.output
    entries = discover_known_ips(account.ec2)
    assert result.stderr == f"wrote {len(entries):,} entries to known-ips.yaml\n"
    web_1 = _known(_expected(account, account.web_1, account.shop_vpc))
    assert KnownIPs.load(tmp_path / "known-ips.yaml").lookup(account.web_1) == web_1
    printed = runner.invoke(app, command)
    assert printed.exit_code == 0 and printed.stdout == (tmp_path / "known-ips.yaml").read_text()


def test_into_keeps_an_inventory_over_time(
    endpoint: str, no_aws_config: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from etl.cli import app

    region = "eu-south-2"  # a world of its own, changed between the runs
    ec2 = _client(endpoint, region=region)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags("vpc", "app-vpc"))["Vpc"]["VpcId"]
    made = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", TagSpecifications=_tags("subnet", "app"))["Subnet"]
    subnet, az = made["SubnetId"], made["AvailabilityZoneId"]
    app_subnet = Subnet(subnet, vpc, "app", az)
    instances = _instances(ec2, app_subnet, set(), ["app-a", "app-b"])
    app_a, app_b = (instance["NetworkInterfaces"][0]["NetworkInterfaceId"] for instance in instances)
    ec2.assign_private_ip_addresses(NetworkInterfaceId=app_a, PrivateIpAddresses=["10.0.1.100"])
    spare = _interface(ec2, app_subnet, "10.0.1.200")["NetworkInterfaceId"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    runner = CliRunner()
    command = ["known-ips", "discover", "--region", region, "--endpoint-url", endpoint, "--into", "inventory.yaml"]

    before = iso_time(int(time.time()))
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    seen = KnownIPs.load(tmp_path / "inventory.yaml").entries
    assert first.stderr == f"inventory.yaml: 0 entries seen again, {len(seen)} new, 0 gone\n"
    [(t1, also_t1)] = {(entry["from"], entry["to"]) for entry in seen}
    assert before <= t1 == also_t1 <= iso_time(int(time.time()))

    # 10.0.1.100 moves from app-a to app-b, and the spare interface goes.
    ec2.unassign_private_ip_addresses(NetworkInterfaceId=app_a, PrivateIpAddresses=["10.0.1.100"])
    ec2.assign_private_ip_addresses(NetworkInterfaceId=app_b, PrivateIpAddresses=["10.0.1.100"])
    ec2.delete_network_interface(NetworkInterfaceId=spare)
    time.sleep(1)  # times are to the second: the second run's is a later one
    second = runner.invoke(app, command)
    assert second.exit_code == 0, second.output
    assert second.stderr == f"inventory.yaml: {len(seen) - 2:,} entries seen again, 1 new, 2 gone\n"
    kept = KnownIPs.load(tmp_path / "inventory.yaml").entries
    [t2] = {entry["to"] for entry in kept} - {t1}
    assert t1 < t2
    place = {"vpc": vpc, "account": ACCOUNT, "subnet": subnet, "az": az}
    moved = [entry for entry in kept if entry.get("ip") == "10.0.1.100"]
    assert moved == [  # the newest holder first
        {"ip": "10.0.1.100", "name": "app-b", "group": "app", "role": "instance", **place, "eni": app_b, "from": t2,
         "to": t2},
        {"ip": "10.0.1.100", "name": "app-a", "group": "app", "role": "instance", **place, "eni": app_a, "from": t1,
         "to": t1},
    ]  # fmt: skip
    assert [entry for entry in kept if entry.get("ip") == "10.0.1.200"] == [
        entry for entry in seen if entry.get("ip") == "10.0.1.200"
    ]
    stayed = [entry for entry in seen if entry.get("ip") not in ("10.0.1.100", "10.0.1.200")]
    assert [entry for entry in kept if entry.get("ip") not in ("10.0.1.100", "10.0.1.200")] == [
        {**entry, "to": t2} for entry in stayed
    ]


def test_into_and_output_are_one_or_the_other(no_aws_config: None, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from etl.cli import app

    both = ["known-ips", "discover", "--region", REGION, "--into", str(tmp_path / "i.yaml"), "-o", "o.yaml"]
    result = CliRunner().invoke(app, both)
    assert result.exit_code == 2
    assert result.stderr == "error: --into merges into an inventory and --output writes a new file: give one of them\n"
    assert not (tmp_path / "i.yaml").exists()


@pytest.mark.integration
def test_an_inventory_of_two_vpcs_names_records_by_their_vpc_and_time(
    endpoint: str, no_aws_config: None, store: Any, cli_env: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """discover --into over two VPCs on the same range, with instances, a NAT gateway and an endpoint;
    an address moves between two runs; a load with the inventory then names each record's addresses
    by the VPC that logged it and by whoever held them when it started."""
    from typer.testing import CliRunner

    from etl.cli import app

    region = "ap-south-2"
    ec2 = _client(endpoint, region=region)
    subnets = {}
    for name in ("app", "lab"):
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags("vpc", f"{name}-vpc"))["Vpc"]["VpcId"]
        made = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", TagSpecifications=_tags("subnet", name))["Subnet"]
        subnets[name] = Subnet(made["SubnetId"], vpc, name, made["AvailabilityZoneId"])
    app_a, app_b = _instances(ec2, subnets["app"], set(), ["app-a", "app-b"])
    [lab_a] = _instances(ec2, subnets["lab"], set(), ["lab-a"])
    nat_ip = ec2.allocate_address(Domain="vpc")
    ec2.create_nat_gateway(SubnetId=subnets["app"].id, AllocationId=nat_ip["AllocationId"])
    ec2.create_vpc_endpoint(VpcId=subnets["lab"].vpc, ServiceName=f"com.amazonaws.{region}.s3",
                            VpcEndpointType="Interface", SubnetIds=[subnets["lab"].id])  # fmt: skip
    eni = {i["Tags"][0]["Value"]: i["NetworkInterfaces"][0]["NetworkInterfaceId"] for i in (app_a, app_b, lab_a)}
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni["app-a"], PrivateIpAddresses=["10.0.1.100"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    runner = CliRunner()
    inventory = tmp_path / "inventory.yaml"
    command = ["known-ips", "discover", "--region", region, "--endpoint-url", endpoint, "--into", str(inventory)]
    assert runner.invoke(app, command).exit_code == 0
    ec2.unassign_private_ip_addresses(NetworkInterfaceId=eni["app-a"], PrivateIpAddresses=["10.0.1.100"])
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni["app-b"], PrivateIpAddresses=["10.0.1.100"])
    time.sleep(1)  # times are to the second
    assert runner.invoke(app, command).exit_code == 0

    entries = KnownIPs.load(inventory).entries
    roles = {(entry.get("vpc"), entry["role"]) for entry in entries}
    for kind in ("vpc", "subnet", "instance"):
        assert {(subnets["app"].vpc, kind), (subnets["lab"].vpc, kind)} <= roles
    assert {(subnets["app"].vpc, "nat-gateway"), (subnets["lab"].vpc, "vpc-endpoint")} <= roles
    moved = sorted((entry["from"], entry["name"]) for entry in entries if entry.get("ip") == "10.0.1.100")
    assert [name for _, name in moved] == ["app-a", "app-b"]
    when = [int(datetime.fromisoformat(at).timestamp()) for at, _ in moved]

    # The lab's instance may have the same address as one in app-vpc: the VPC that logged it decides.
    lab_ip = lab_a["PrivateIpAddress"]
    app_owner = {i["PrivateIpAddress"]: i["Tags"][0]["Value"] for i in (app_a, app_b)}.get(lab_ip)
    header = "version account-id vpc-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    lines = [
        (subnets["app"].vpc, "10.0.1.9", "10.0.1.100", when[0]),
        (subnets["app"].vpc, "10.0.1.9", "10.0.1.100", when[1]),
        (subnets["lab"].vpc, "10.0.1.9", lab_ip, when[1]),
        (subnets["app"].vpc, "10.0.1.9", lab_ip, when[1]),
    ]
    log = tmp_path / "flows.log"
    log.write_text(header + "\n" + "".join(
        f"3 {ACCOUNT} {vpc} eni-0 {src} {dst} 40000 443 6 1 100 {start} {start + 60} ACCEPT OK\n"
        for vpc, src, dst, start in lines
    ))  # fmt: skip
    loaded = runner.invoke(app, ["load", "--pseudonymize", "none", "--known-ips", str(inventory), str(log)])
    assert loaded.exit_code == 0, loaded.output
    _, rows = store.query(
        "MATCH ()-[f:FLOW]->(d:Address) RETURN d.id AS id, d.vpc AS vpc, d.name AS name, f.count AS n", {}
    )
    named = sorted(((r["vpc"], r["id"], r["name"], r["n"]) for r in rows), key=str)
    expected = [(subnets["app"].vpc, "10.0.1.100", "app-a", 1), (subnets["app"].vpc, "10.0.1.100", "app-b", 1),
                (subnets["lab"].vpc, lab_ip, "lab-a", 1), (subnets["app"].vpc, lab_ip, app_owner, 1)]  # fmt: skip
    assert named == sorted(expected, key=str)
