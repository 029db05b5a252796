"""--public-prefix: unnamed public addresses folded into one node per prefix, edges that then coincide
summed; named, private, VPC, AWS-service and special addresses never folded."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.aggregate import EdgeAccumulator
from etl.classify import Classifier
from etl.cli import app
from etl.errors import UsageError
from etl.graph.store import GraphStore
from etl.identified import identified
from etl.identify import Naming, PublicPrefixes
from etl.known_ips import KnownIPs
from etl.parse import ParseStats
from etl.pseudonymize import Pseudonymizer
from tests.flowlines import V2, expected_edges
from tests.test_aggregate import records
from tests.test_load import graph_edges

KEY = bytes.fromhex("00112233445566778899aabbccddeeff" + "0f1e2d3c4b5a69788796a5b4c3d2e1f0")
KNOWN = KnownIPs.from_entries(
    [{"cidr": "10.0.0.0/16", "name": "vpc", "role": "vpc"}, {"ip": "198.51.100.7", "name": "partner"}]
)


@pytest.mark.parametrize(
    ("folding", "address", "prefix"),
    [
        (PublicPrefixes(v4=24), "203.0.113.77", "203.0.113.0/24"),
        (PublicPrefixes(v4=16), "203.0.113.77", "203.0.0.0/16"),
        (PublicPrefixes(v4=32), "203.0.113.77", "203.0.113.77/32"),
        (PublicPrefixes(v4=1), "203.0.113.77", "128.0.0.0/1"),
        (PublicPrefixes(v6=48), "2001:db8:1:2::5", "2001:db8:1::/48"),
        (PublicPrefixes(v6=128), "2001:db8::5", "2001:db8::5/128"),
        (PublicPrefixes(v4=24), "2001:db8::5", None),  # IPv6 is not folded unless --public-prefix6 says so
        (PublicPrefixes(v6=64), "203.0.113.77", None),
    ],
)
def test_the_prefix_of_an_address(folding: PublicPrefixes, address: str, prefix: str | None) -> None:
    assert folding.prefix(address) == prefix


@pytest.mark.parametrize(("v4", "v6"), [(0, None), (33, None), (None, 0), (None, 129), (-8, None)])
def test_a_prefix_length_out_of_range_is_a_usage_error(v4: int | None, v6: int | None) -> None:
    with pytest.raises(UsageError, match="prefix length"):
        PublicPrefixes(v4, v6)


Edge = tuple[str, str, int, int, str]
Sums = tuple[int, int, int]
FOLD = PublicPrefixes(v4=24, v6=48)


def naming(mode: str = "none", folding: PublicPrefixes = FOLD) -> Naming:
    pseudonymizer = Pseudonymizer(KEY) if mode != "none" else None
    return Naming(
        KNOWN, Classifier(KNOWN.vpc_networks, [ipaddress.ip_network("52.94.0.0/16")]), pseudonymizer, mode, folding
    )


def test_only_unnamed_public_addresses_fold() -> None:
    addresses = ["203.0.113.77", "198.51.100.7", "10.0.1.5", "172.16.0.9", "169.254.169.254", "52.94.1.1",
                 "2001:db8:1:2::5", "not an address"]  # fmt: skip
    table = naming().identities(addresses, aws_service={"52.94.1.1"})
    assert table.select(["id", "scope", "prefix"]).to_pylist() == [
        {"id": "203.0.113.0/24", "scope": "public", "prefix": True},
        {"id": "198.51.100.7", "scope": "public", "prefix": None},  # named
        {"id": "10.0.1.5", "scope": "vpc", "prefix": None},
        {"id": "172.16.0.9", "scope": "private", "prefix": None},
        {"id": "169.254.169.254", "scope": "special", "prefix": None},
        {"id": "52.94.1.1", "scope": "aws-service", "prefix": None},
        {"id": "2001:db8:1::/48", "scope": "public", "prefix": True},
        {"id": None, "scope": None, "prefix": None},
    ]


def test_a_pseudonymized_prefix_is_the_prefix_of_its_pseudonyms() -> None:
    """ipcrypt-pfx keeps prefixes: one real /24 becomes one pseudonymous /24, the one its members' pseudonyms share."""
    members = [f"203.0.113.{i}" for i in (1, 77, 254)]
    table = naming("unknown").identities([*members, "203.0.114.1"])
    pseudonyms = Pseudonymizer(KEY).pseudonyms(members)
    expected = str(ipaddress.ip_network(f"{pseudonyms[0]}/24", strict=False))
    assert table["id"].to_pylist() == [expected] * 3 + [table["id"][3].as_py()]
    assert table["id"][3].as_py() != expected and table["id"][3].as_py().endswith("/24")
    assert table["pseudonymized"].to_pylist() == [True] * 4
    assert table["prefix"].to_pylist() == [True] * 4


def test_edges_that_coincide_after_folding_are_summed() -> None:
    accumulator = EdgeAccumulator()
    accumulator.add(
        records(
            ("203.0.113.1", "10.0.0.10", 50001, 443, 6, 2, 100, 1000, 1010, "ACCEPT", "OK"),
            ("203.0.113.2", "10.0.0.10", 50002, 443, 6, 3, 200, 990, 1020, "ACCEPT", "OK"),
            ("10.0.0.10", "203.0.113.2", 443, 50002, 6, 4, 300, 995, 1030, "ACCEPT", "OK"),
            ("203.0.114.9", "10.0.0.10", 50003, 443, 6, 5, 400, 1005, 1006, "ACCEPT", "OK"),
            ("198.51.100.7", "10.0.0.10", 50004, 443, 6, 6, 500, 1001, 1002, "ACCEPT", "OK"),
        )
    )
    edges, addresses = identified(accumulator, naming(), ParseStats())
    rows = {(e["src"], e["dst"], e["port"]): e for e in edges.to_pylist()}
    sums = {key: (e["count"], e["packets"], e["bytes"], e["first_seen"], e["last_seen"]) for key, e in rows.items()}
    assert sums == {
        ("203.0.113.0/24", "10.0.0.10", 443): (2, 5, 300, 990, 1020),
        ("10.0.0.10", "203.0.113.0/24", 443): (1, 4, 300, 995, 1030),
        ("203.0.114.0/24", "10.0.0.10", 443): (1, 5, 400, 1005, 1006),
        ("198.51.100.7", "10.0.0.10", 443): (1, 6, 500, 1001, 1002),
    }
    nodes = {a["id"]: (a["prefix"], a["first_seen"], a["last_seen"]) for a in addresses.to_pylist()}
    assert nodes == {
        "203.0.113.0/24": (True, 990, 1030),
        "203.0.114.0/24": (True, 1005, 1006),
        "198.51.100.7": (None, 1001, 1002),
        "10.0.0.10": (None, 990, 1030),
    }


def test_without_folding_nothing_is_summed_or_marked() -> None:
    accumulator = EdgeAccumulator()
    accumulator.add(records(("203.0.113.1", "10.0.0.10", 50001, 443, 6, 2, 100, 1000, 1010, "ACCEPT", "OK")))
    edges, addresses = identified(accumulator, naming(folding=PublicPrefixes()), ParseStats())
    assert edges["src"].to_pylist() == ["203.0.113.1"]
    assert addresses["prefix"].null_count == addresses.num_rows == 2


def folded(expected: dict[Edge, Sums], bits: int) -> dict[Edge, Sums]:
    """The input's sums with every address outside 10/8 (none is named here) replaced by its /bits."""
    total: dict[Edge, Sums] = {}
    for (src, dst, port, protocol, action), sums in expected.items():
        key = (_fold(src, bits), _fold(dst, bits), port, protocol, action)
        count, packets, octets = total.get(key, (0, 0, 0))
        total[key] = (count + sums[0], packets + sums[1], octets + sums[2])
    return total


def _fold(address: str, bits: int) -> str:
    if address.startswith("10."):  # the VPC's
        return address
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


@pytest.mark.integration
def test_a_load_with_public_prefixes_holds_the_inputs_sums(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    lines = [V2]
    for i in range(200):
        client = f"198.18.{i % 3}.{i % 50 + 1}"  # 150 clients in three /24s (198.18.0.0/15 is public to a VPC)
        lines.append(
            f"2 1 eni-1 {client} 10.0.0.10 {40000 + i} 443 6 {i % 7 + 1} {100 + i} {1000 + i} {1060 + i} ACCEPT OK"
        )
        lines.append(f"2 1 eni-1 10.0.0.10 {client} 443 {40000 + i} 6 2 80 {1000 + i} {1060 + i} ACCEPT OK")
    lines.append("2 1 eni-1 10.0.0.10 10.0.3.30 40000 5432 6 1 60 1000 1060 ACCEPT OK")
    path = tmp_path / "internet.log"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["load", "--pseudonymize", "none", "--public-prefix", "24", str(path)])
    assert result.exit_code == 0, result.output
    assert graph_edges(store) == folded(expected_edges([path]), 24)
    _, rows = store.query("MATCH (a:Address) RETURN a.id AS id, a.prefix AS prefix, a.scope AS scope", {})
    assert {(r["id"], r["prefix"], r["scope"]) for r in rows} == {
        *((f"198.18.{n}.0/24", True, "public") for n in range(3)),
        ("10.0.0.10", None, "private"),
        ("10.0.3.30", None, "private"),
    }


@pytest.mark.parametrize(
    ("option", "value"), [("--public-prefix", "0"), ("--public-prefix", "33"), ("--public-prefix6", "129")]
)
def test_the_cli_refuses_a_prefix_length_out_of_range(tmp_path: Path, option: str, value: str) -> None:
    path = tmp_path / "one.log"
    path.write_text(V2 + "\n")
    result = CliRunner().invoke(app, ["load", "--dry-run", option, value, str(path)])
    assert result.exit_code == 2
    assert option in result.output
