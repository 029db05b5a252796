"""Scopes of real addresses: special > vpc > aws-service > private > public."""

from __future__ import annotations

import ipaddress
import json
import random
import time
from pathlib import Path

import pytest

from etl.classify import Classifier, load_aws_ip_ranges, scope_of
from etl.errors import UsageError

# The shape of https://ip-ranges.amazonaws.com/ip-ranges.json: one entry per (prefix, service), so a
# service's prefix is listed again under AMAZON, and EC2's public space is listed as EC2 and AMAZON.
IP_RANGES = {
    "syncToken": "1767225600",
    "createDate": "2026-01-01-00-00-00",
    "prefixes": [
        {"ip_prefix": "52.94.0.0/22", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
        {
            "ip_prefix": "52.94.0.0/22",
            "region": "us-east-1",
            "service": "DYNAMODB",
            "network_border_group": "us-east-1",
        },
        {"ip_prefix": "52.216.0.0/15", "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"},
        {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
        {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"},
        {"ip_prefix": "54.239.0.0/17", "region": "GLOBAL", "service": "AMAZON", "network_border_group": "GLOBAL"},
    ],
    "ipv6_prefixes": [
        {"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"},
        {
            "ipv6_prefix": "2600:1fa0:4000::/40",
            "region": "us-east-1",
            "service": "S3",
            "network_border_group": "us-east-1",
        },
    ],
}
AWS_SERVICE_PREFIXES = ["52.94.0.0/22", "52.216.0.0/15", "2600:1fa0:4000::/40"]
VPC = ["10.0.0.0/16", "2600:1f18:1234:5600::/56"]


@pytest.fixture(scope="module")
def ip_ranges(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("aws") / "ip-ranges.json"
    path.write_text(json.dumps(IP_RANGES))
    return path


@pytest.fixture(scope="module")
def classifier(ip_ranges: Path) -> Classifier:
    return Classifier(vpc_networks=[ipaddress.ip_network(n) for n in VPC], aws_networks=load_aws_ip_ranges(ip_ranges))


def test_aws_ranges_keep_services_but_not_amazon_or_ec2(ip_ranges: Path) -> None:
    assert load_aws_ip_ranges(ip_ranges) == [ipaddress.ip_network(n) for n in AWS_SERVICE_PREFIXES]


@pytest.mark.parametrize(
    ("address", "scope"),
    [
        ("169.254.169.254", "special"),  # instance metadata
        ("169.254.10.1", "special"),
        ("127.0.0.1", "special"),
        ("224.0.0.251", "special"),
        ("0.0.0.0", "special"),
        ("255.255.255.255", "special"),
        ("fe80::1ff:fe23:4567:890a", "special"),
        ("::1", "special"),
        ("ff02::fb", "special"),
        ("::", "special"),
        ("10.0.3.30", "vpc"),
        ("10.0.255.255", "vpc"),
        ("2600:1f18:1234:5601::10", "vpc"),  # inside EC2's IPv6 space too: the VPC wins
        ("52.94.1.10", "aws-service"),
        ("52.217.10.20", "aws-service"),
        ("2600:1fa0:4000::1", "aws-service"),
        ("10.1.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd12:3456:789a::1", "private"),
        ("172.32.0.1", "public"),
        ("100.128.0.1", "public"),
        ("3.80.1.1", "public"),  # an EC2 instance's public address: not an AWS service
        ("54.239.1.1", "public"),  # listed only as AMAZON
        ("192.0.2.1", "public"),  # documentation space: Python calls it private, a VPC does not
        ("8.8.8.8", "public"),
        ("2001:db8::1", "public"),
        ("2600:1f18::1", "public"),
        ("not-an-address", None),
        ("", None),
        ("10.0.0", None),
        ("10.0.0.1/32", None),
    ],
)
def test_scope(classifier: Classifier, address: str, scope: str | None) -> None:
    assert classifier.scope(address) == scope


@pytest.mark.parametrize(
    ("address", "scope"),
    [
        ("169.254.169.254", "special"),
        ("10.0.3.30", "vpc"),
        ("10.1.0.1", "aws-service"),
        ("8.8.8.8", "aws-service"),
        ("x", None),
    ],
)
def test_flagged_aws_service(classifier: Classifier, address: str, scope: str | None) -> None:
    assert classifier.scope(address, aws_service=True) == scope
    assert classifier.scopes(["8.8.4.4", address], aws_service={address}) == ["public", scope]


def test_many_at_once_decide_as_one_by_one(classifier: Classifier) -> None:
    """`scopes` decides IPv4 addresses together, in arrays; every text form, valid or not, must come out
    as `scope` says of it alone, flagged or not."""
    addresses = [
        "10.0.3.30", "10.0.255.255", "10.1.0.1", "172.16.0.1", "172.32.0.1", "192.168.1.1", "100.64.0.1",
        "100.128.0.1", "52.94.1.10", "52.216.0.0", "52.218.0.0", "3.80.1.1", "8.8.8.8", "0.0.0.0", "0.0.0.1",
        "127.0.0.1", "169.254.169.254", "224.0.0.1", "239.255.255.255", "255.255.255.255", "255.255.255.254",
        "1.2.3.4", "01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3.255", "1.2.3.256", "1.2.3", "1.2.3.4.5",
        " 1.2.3.4", "1.2.3.4 ", "1..3.4", "1.2.3.4/32", "", "x", "٣.1.1.1", "0x1.2.3.4",
        "::1", "::", "fe80::1", "ff02::1", "fd12::1", "2001:db8::1", "::ffff:10.0.3.30", "::ffff:8.8.8.8",
        "2600:1fa0:4000::1", "1::2::3",
    ]  # fmt: skip
    flagged = {"8.8.8.8", "10.0.3.30", "169.254.169.254", "::1", "1.2.3.256", "2001:db8::1"}
    assert classifier.scopes(addresses) == [classifier.scope(a) for a in addresses]
    assert classifier.scopes(addresses, flagged) == [classifier.scope(a, aws_service=a in flagged) for a in addresses]
    assert classifier.scopes([]) == []


@pytest.mark.parametrize(
    ("address", "scope"),
    [("10.0.3.30", "private"), ("169.254.169.254", "special"), ("52.94.1.10", "public"), ("nope", None)],
)
def test_scope_of_knows_no_vpc_and_no_ranges(address: str, scope: str | None) -> None:
    assert scope_of(address) == scope


def test_100k_distinct_addresses_against_thousands_of_prefixes() -> None:
    rng = random.Random(9)
    aws = {ipaddress.ip_network((rng.getrandbits(32) >> 8 << 8, rng.choice((16, 18, 20, 22, 24)))
           , strict=False) for _ in range(8_000)}  # fmt: skip
    classifier = Classifier(vpc_networks=[ipaddress.ip_network("10.0.0.0/16")], aws_networks=aws)
    addresses = list({str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(100_000)})
    started = time.perf_counter()
    scopes = classifier.scopes(addresses)
    elapsed = time.perf_counter() - started
    assert elapsed < 3, f"{len(addresses)} scopes took {elapsed:.1f} s"  # a linear scan takes minutes
    for i in random.Random(10).sample(range(len(addresses)), 200):
        ip = ipaddress.ip_address(addresses[i])
        in_aws = any(ip in n for n in aws)
        assert (scopes[i] == "aws-service") == (in_aws and scopes[i] != "special")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read the AWS ip-ranges file"),
        ("{not json", "is not an AWS ip-ranges.json file"),
        ('{"prefixes": []}', "is not an AWS ip-ranges.json file"),
        ('{"prefixes": [{"ip_prefix": "52.94.0.0/33", "service": "S3"}], "ipv6_prefixes": []}', "not an AWS"),
        ('["52.94.0.0/22"]', "is not an AWS ip-ranges.json file"),
    ],
)
def test_bad_ip_ranges_file(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "ip-ranges.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=problem) as caught:
        load_aws_ip_ranges(path)
    assert str(path) in str(caught.value)
