"""Discovery against moto's EC2 over HTTP: a VPC with instances, a load balancer, a NAT gateway and more."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from etl.discover import discover_known_ips, make_ec2_client
from etl.errors import SourceError, UsageError
from etl.known_ips import Known, KnownIPs, write_yaml

REGION = "eu-north-1"  # a region no other test module uses: moto's state is shared in-process
IMAGE = "ami-12c6146b"  # one of the images moto ships (listing them all takes seconds)
LAMBDA_ENI = "AWS Lambda VPC ENI-checkout-3f2a1b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b"
Row = tuple[str, str, str, str | None, str]  # (ip or cidr, value, name, group, role)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # one line per request would bury a failure's report
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    werkzeug.setLevel(level)


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


def _client(endpoint: str, service: str = "ec2", key: str = "testing", secret: str = "testing") -> Any:
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION)
    return session.client(service, endpoint_url=endpoint)


def _tags(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


@dataclass
class Account:
    ec2: Any
    expected: set[Row]
    web_1: str  # web-1's public address
    default_vpc: str


def _interface(ec2: Any, subnet: str, address: str, **params: Any) -> dict[str, Any]:
    """An interface at a fixed address, from .200 up: moto gives instances addresses in order from the
    bottom of the subnet but an interface one at random anywhere in it, so web-4 and the load balancer
    once shared 10.0.1.7; AWS never gives an address twice."""
    return ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=address, **params)["NetworkInterface"]


def _instances(ec2: Any, subnet: str, group: str, expected: set[Row], names: list[str | None]) -> list[dict[str, Any]]:
    """One reservation per instance, so describe_instances has as many items to page through."""
    made = []
    for name in names:
        tags = _tags("instance", name) if name else []
        instance = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=tags)
        made.append(instance["Instances"][0])
        expected.add(("ip", made[-1]["PrivateIpAddress"], name or made[-1]["InstanceId"], group, "instance"))
    return made


def _vpc(ec2: Any, expected: set[Row]) -> tuple[str, dict[str | None, str]]:
    """shop-vpc with two IPv4 CIDRs and an IPv6 one, and its subnets by Name tag (None: untagged)."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags("vpc", "shop-vpc"))["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock="10.1.0.0/16")
    ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)
    v6 = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    v6_web = str(next(ipaddress.ip_network(v6).subnets(new_prefix=64)))
    expected |= {("cidr", c, "shop-vpc", None, "vpc") for c in ("10.0.0.0/16", "10.1.0.0/16", v6)}
    subnets = {}
    for name, cidr, zone, extra in (("web", "10.0.1.0/24", "a", {"Ipv6CidrBlock": v6_web}),
                                    ("web-b", "10.0.2.0/24", "b", {}), ("data", "10.0.3.0/24", "a", {}),
                                    (None, "10.1.0.0/24", "c", {})):  # fmt: skip
        tags = _tags("subnet", name) if name else []
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=REGION + zone, TagSpecifications=tags,
                                   **extra)["Subnet"]["SubnetId"]  # fmt: skip
        subnets[name] = subnet
        expected.add(("cidr", cidr, name or subnet, "shop-vpc", "subnet"))
    expected.add(("cidr", v6_web, "web", "shop-vpc", "subnet"))
    return vpc, subnets


def _web_servers(ec2: Any, subnets: dict[str | None, str], expected: set[Row]) -> str:
    """Seven named web servers (web-1 with a second address and an Elastic IP), one unnamed; web-1's EIP."""
    web = _instances(ec2, subnets["web"], "web", expected, [f"web-{i}" for i in range(1, 8)])
    _instances(ec2, subnets["data"], "data", expected, [None])
    web_1_interface = web[0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=web_1_interface, PrivateIpAddresses=["10.0.1.200"])
    interface = ec2.describe_network_interfaces(NetworkInterfaceIds=[web_1_interface])["NetworkInterfaces"][0]
    assert len(interface["PrivateIpAddresses"]) == 2
    expected |= {("ip", a["PrivateIpAddress"], "web-1", "web", "instance") for a in interface["PrivateIpAddresses"]}
    elastic = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=elastic["AllocationId"], InstanceId=web[0]["InstanceId"])
    expected.add(("ip", elastic["PublicIp"], "web-1", "web", "instance"))
    return elastic["PublicIp"]


def _managed_interfaces(ec2: Any, elbv2: Any, vpc: str, subnets: dict[str | None, str], expected: set[Row]) -> None:
    """A NAT gateway, a load balancer, RDS, Lambda, an S3 endpoint, a tagged and an untagged interface."""
    nat_ip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=subnets["web"], AllocationId=nat_ip["AllocationId"])["NatGateway"]
    for address in nat["NatGatewayAddresses"]:
        for ip in (address["PrivateIp"], address["PublicIp"]):
            expected.add(("ip", ip, f"nat-gateway {nat['NatGatewayId']}", "web", "nat-gateway"))
    # Load balancers, RDS and Lambda make their interfaces in the VPC and say so only in the
    # description; moto's load balancer makes none, so they are made here as AWS describes them.
    balancer = elbv2.create_load_balancer(Name="shop-lb", Subnets=[subnets["web"], subnets["web-b"]])
    arn_tail = balancer["LoadBalancers"][0]["LoadBalancerArn"].split(":loadbalancer/")[1]  # app/shop-lb/<id>
    for subnet, address in (("web", "10.0.1.201"), ("web-b", "10.0.2.201")):
        interface = _interface(ec2, subnets[subnet], address, Description=f"ELB {arn_tail}")
        expected.add(("ip", interface["PrivateIpAddress"], "shop-lb", subnet, "load-balancer"))
    for description, name, role, address in (("RDSNetworkInterface", "rds", "rds", "10.0.3.201"),
                                             (LAMBDA_ENI, "lambda checkout", "lambda", "10.0.3.202")):  # fmt: skip
        interface = _interface(ec2, subnets["data"], address, Description=description)
        expected.add(("ip", interface["PrivateIpAddress"], name, "data", role))
    endpoint = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3",
                                       VpcEndpointType="Interface", SubnetIds=[subnets["data"]])  # fmt: skip
    ids = endpoint["VpcEndpoint"]["NetworkInterfaceIds"]
    for interface in ec2.describe_network_interfaces(NetworkInterfaceIds=ids)["NetworkInterfaces"]:
        expected.add(("ip", interface["PrivateIpAddress"], "vpc-endpoint s3", "data", "vpc-endpoint"))
    bastion = _interface(
        ec2, subnets["web"], "10.0.1.202", Ipv6AddressCount=1, TagSpecifications=_tags("network-interface", "bastion")
    )
    for ip in (bastion["PrivateIpAddress"], bastion["Ipv6Addresses"][0]["Ipv6Address"]):
        expected.add(("ip", ip, "bastion", "web", "interface"))
    spare = _interface(ec2, subnets[None], "10.1.0.201")
    expected.add(("ip", spare["PrivateIpAddress"], f"interface {spare['NetworkInterfaceId']}", "shop-vpc", "interface"))


@pytest.fixture(scope="module")
def account(endpoint: str) -> Account:
    ec2, expected = _client(endpoint), set[Row]()
    vpc, subnets = _vpc(ec2, expected)
    web_1 = _web_servers(ec2, subnets, expected)
    _managed_interfaces(ec2, _client(endpoint, "elbv2"), vpc, subnets, expected)
    default_vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"])
    addresses = [row[1] for row in expected if row[0] == "ip"]
    assert len(addresses) == len(set(addresses)), "moto gave one address twice"
    return Account(ec2, expected, web_1, default_vpc)


def _rows(entries: list[dict[str, str]]) -> set[Row]:
    rows = set()
    for entry in entries:
        kind = "ip" if "ip" in entry else "cidr"
        assert set(entry) <= {kind, "name", "group", "role"}
        rows.add((kind, entry[kind], entry["name"], entry.get("group"), entry["role"]))
    return rows


def test_every_interface_vpc_and_subnet_named(account: Account) -> None:
    entries = discover_known_ips(account.ec2)
    ours = {row for row in _rows(entries) if account.default_vpc not in (row[2], row[3])}
    assert ours == account.expected
    # moto's default VPC and its subnets, named by id for want of Name tags
    assert ("cidr", "172.31.0.0/16", account.default_vpc, None, "vpc") in _rows(entries)


def test_vpcs_then_subnets_then_addresses_each_network_once(account: Account) -> None:
    entries = discover_known_ips(account.ec2)
    ranks = [{"vpc": 0, "subnet": 1}.get(e["role"], 2) for e in entries]
    assert ranks == sorted(ranks)
    networks = [ipaddress.ip_network(e.get("ip") or e["cidr"]) for e in entries]
    assert len(set(networks)) == len(networks)


def test_small_pages_give_the_same_entries(account: Account) -> None:
    # 5 is EC2's smallest page; moto pages describe_instances, and 8 instances need two pages.
    assert discover_known_ips(account.ec2, page_size=5) == discover_known_ips(account.ec2)


def test_written_file_loads_back(account: Account, tmp_path: Path) -> None:
    path = tmp_path / "known-ips.yaml"
    write_yaml(discover_known_ips(account.ec2), path)
    known = KnownIPs.load(path)
    assert known.lookup(account.web_1) == Known("web-1", "web", "instance")
    assert {"10.0.0.0/16", "10.1.0.0/16", "172.31.0.0/16"} <= {str(n) for n in known.vpc_networks}


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
    assert KnownIPs.load(tmp_path / "known-ips.yaml").lookup(account.web_1) == Known("web-1", "web", "instance")
    printed = runner.invoke(app, command)
    assert printed.exit_code == 0 and printed.stdout == (tmp_path / "known-ips.yaml").read_text()
