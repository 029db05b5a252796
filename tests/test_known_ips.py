"""The known-ips file: longest-prefix naming, shared names, errors with line numbers, writing back."""

from __future__ import annotations

import ipaddress
import random
import time
from pathlib import Path

import pytest

from etl.demo import demo_known_ips
from etl.errors import UsageError
from etl.known_ips import Known, KnownIPs, write_yaml

EXAMPLE = Path(__file__).resolve().parent.parent / "known-ips.example.yaml"


@pytest.fixture(scope="module")
def example() -> KnownIPs:
    return KnownIPs.load(EXAMPLE)


def test_example_file_describes_the_demo_vpc(example: KnownIPs) -> None:
    by_network = {ipaddress.ip_network(e.get("ip") or e["cidr"]): e for e in example.entries}
    for entry in demo_known_ips():
        named = by_network[ipaddress.ip_network(entry.get("ip") or entry["cidr"])]
        assert named == entry
    assert example.vpc_networks == (ipaddress.ip_network("10.0.0.0/16"),)


@pytest.mark.parametrize(
    ("address", "known"),
    [
        ("10.0.3.30", Known("database", "data", "postgres")),  # the /32 beats its /24 and the /16
        ("10.0.3.31", Known("data-subnet", "data", None)),
        ("10.0.1.11", Known("web-1", "web", "web")),
        ("10.0.9.9", Known("demo-vpc", None, "vpc")),
        ("10.1.0.1", None),
        ("8.8.8.8", None),
        ("::ffff:10.0.3.30", None),  # an IPv6 address, which no IPv4 entry covers
        ("not-an-address", None),
    ],
)
def test_longest_prefix_wins(example: KnownIPs, address: str, known: Known | None) -> None:
    assert example.lookup(address) == known


def test_addresses_share_a_name_and_stay_apart(example: KnownIPs) -> None:
    balancers = ["10.0.0.10", "10.0.0.11", "10.0.0.12"]
    assert example.lookup_many([*balancers, "10.0.0.13"]) == [Known("load-balancer", "public", "load-balancer")] * 3 + [
        Known("public-subnet", "public", None)
    ]


def test_ipv6_entries() -> None:
    known = KnownIPs.from_entries(
        [
            {"cidr": "2600:1f18:1234:5600::/56", "name": "vpc-v6", "role": "vpc"},
            {"cidr": "2600:1f18:1234:5601::/64", "name": "web-subnet"},
            {"ip": "2600:1f18:1234:5601::10", "name": "web-1"},
        ]
    )
    assert [k.name if k else None for k in known.lookup_many(["2600:1f18:1234:5601::10", "2600:1f18:1234:5601::11",
            "2600:1f18:1234:56ff::1", "2600:1f18:1234:5700::1", "10.0.0.1"])] == [
        "web-1", "web-subnet", "vpc-v6", None, None]  # fmt: skip
    assert known.vpc_networks == (ipaddress.ip_network("2600:1f18:1234:5600::/56"),)


def _brute_force(networks: list[tuple[ipaddress.IPv4Network, str]], address: str) -> str | None:
    ip = ipaddress.ip_address(address)
    holding = [(n.prefixlen, name) for n, name in networks if ip in n]
    return max(holding)[1] if holding else None


def test_lookup_many_100k_distinct_addresses_fast_and_right() -> None:
    rng = random.Random(5)
    networks = {
        ipaddress.IPv4Network((rng.getrandbits(32) >> (32 - length) << (32 - length), length))
        for length in (8, 12, 16, 20, 24, 28, 32)
        for _ in range(700)
    }
    named = [(network, f"n{i}") for i, network in enumerate(networks)]
    known = KnownIPs.from_entries([{"cidr": str(n), "name": name} for n, name in named])
    # Half the addresses inside a named network, half anywhere.
    inside = [str(n.network_address + rng.randrange(n.num_addresses)) for n, _ in rng.choices(named, k=50_000)]
    addresses = list(dict.fromkeys(inside + [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(50_000)]))
    started = time.perf_counter()
    found = known.lookup_many(addresses)
    elapsed = time.perf_counter() - started
    assert elapsed < 3, f"{len(addresses)} lookups took {elapsed:.1f} s"  # a linear scan takes minutes
    for i in random.Random(6).sample(range(len(addresses)), 300):
        known_here = found[i]
        assert (known_here.name if known_here else None) == _brute_force(named, addresses[i])


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("- {ip: 10.0.0.1, name: a}\n- {ip: 10.0.0.2, name: b\n", 3, "not valid YAML"),
        ("- {ip: 10.0.0.1, name: a}\n\t- {ip: 10.0.0.2, name: b}\n", 2, "not valid YAML"),
        ("- {ip: 10.0.0.1, name: a}\n---\n- {ip: 10.0.0.2, name: b}\n", 2, "not valid YAML"),
        ("ip: 10.0.0.1\nname: a\n", 1, "must be a list of entries"),
        ("- {ip: 10.0.0.1, name: a}\n- 10.0.0.2\n", 2, "an entry is a mapping"),
        ("- {ip: 10.0.0.1, name: a}\n- {ip: 10.0.0.2}\n", 2, "needs a `name`"),
        ("- {ip: 10.0.0.1, name: a}\n- {ip: 10.0.0.2, name: ''}\n", 2, "`name` must be a non-empty text"),
        ("- {ip: 10.0.0.1, name: a}\n-\n  ip: 10.0.0.2\n  name: [b, c]\n", 4, "`name` must be a single value"),
        ("- ip: 10.0.0.1\n  name: a\n  colour: red\n", 3, "unknown key 'colour'"),
        ("- ip: 10.0.0.1\n  cidr: 10.0.0.0/8\n  name: a\n", 1, "exactly one of `ip` and `cidr`"),
        ("- {name: a}\n", 1, "exactly one of `ip` and `cidr`"),
        ("- {ip: 10.0.0.1, name: a, name: b}\n", 1, "`name` is given twice"),
        ("- {ip: 10.0.0.1, name: a}\n- ip: 10.0.0.300\n  name: b\n", 2, "'10.0.0.300' is not an IP address"),
        ("# header\n\n- ip: 10.0.0.0/24\n  name: b\n", 3, r"use `cidr` for a network"),
        ("- {cidr: 10.0.3.5/28, name: db}\n", 1, r"host bits set \(did you mean 10.0.3.0/28\)"),
        ("- {cidr: 10.0.0.0/33, name: x}\n", 1, "'10.0.0.0/33' is not a network"),
        ("- {ip: 10.0.0.1, name: a}\n- {cidr: 10.0.0.1/32, name: b}\n", 2, "already named at .* line 1"),
    ],
)
def test_bad_files_report_their_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = tmp_path / "known-ips.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=rf"^{path} line {line}: .*{problem}") as caught:
        KnownIPs.load(path)
    assert "\n" not in str(caught.value)


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read the known-ips file .*nope\.yaml"):
        KnownIPs.load(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("# nothing named yet\n")
    assert KnownIPs.load(tmp_path / "empty.yaml").entries == []


def test_from_entries_names_the_entry() -> None:
    with pytest.raises(UsageError, match=r"^known-ips entry 2: 'x' is not an IP address"):
        KnownIPs.from_entries([{"ip": "10.0.0.1", "name": "a"}, {"ip": "x", "name": "b"}])


def test_write_yaml_round_trips_one_line_per_entry(tmp_path: Path) -> None:
    # Names YAML would read as something else unless quoted, and an IPv6 address that looks sexagesimal.
    entries = [
        {"cidr": "10.0.0.0/16", "name": "vpc-0abc", "role": "vpc"},
        {"ip": "10.0.0.5", "name": "yes", "group": "null", "role": "nat-gateway"},
        {"ip": "1:2:3:4:5:6:7:8", "name": "123"},
        {"cidr": "2600:1f18::/56", "name": "name: with colon # and hash"},
    ]
    path = tmp_path / "out.yaml"
    write_yaml(entries, path)
    assert KnownIPs.load(path).entries == entries
    assert len([line for line in path.read_text().splitlines() if line.startswith("- ")]) == len(entries)


def test_write_yaml_refuses_what_would_not_load(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="known-ips entry 1: the entry needs a `name`"):
        write_yaml([{"ip": "10.0.0.1"}], tmp_path / "out.yaml")
    assert not (tmp_path / "out.yaml").exists()


def test_an_entry_of_a_vpc_fits_any_account_in_it() -> None:
    """A shared VPC: the owner's CIDR entry and a participant's interface both name addresses logged
    with the participant's account."""
    known = KnownIPs.from_entries(
        [
            {"cidr": "10.0.0.0/16", "name": "shared", "role": "vpc", "vpc": "vpc-0s", "account": "111111111111"},
            {"ip": "10.0.1.5", "name": "guest-app", "vpc": "vpc-0s", "account": "222222222222"},
            {"ip": "10.0.1.6", "name": "other-account", "account": "333333333333"},
        ]
    )
    assert known.lookup("10.0.1.5", "vpc-0s", "111111111111") == Known(
        "guest-app", vpc="vpc-0s", account="222222222222"
    )
    assert known.lookup("10.0.1.5", "vpc-0other", "222222222222") is None  # another VPC's 10.0.1.5
    assert known.lookup("10.0.1.6", None, "333333333333").name == "other-account"  # type: ignore[union-attr]
    assert known.lookup("10.0.1.6", "vpc-0s", "111111111111").name == "shared"  # type: ignore[union-attr]
