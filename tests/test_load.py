"""Loading into the live Bolt server: totals equal the input's sums, reruns never double count."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from etl import demo
from etl.cli import app
from etl.graph.store import GraphStore
from tests.conftest import SAMPLES
from tests.flowlines import expected_edges, read_records

pytestmark = pytest.mark.integration
runner = CliRunner()

GRAPH_EDGES = """
MATCH (s:Address)-[f:FLOW]->(d:Address)
RETURN s.id AS src, d.id AS dst, f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes
"""


def graph_edges(store: GraphStore) -> dict[tuple[str, str, int, int, str], tuple[int, int, int]]:
    _, rows = store.query(GRAPH_EDGES, {})
    return {
        (r["src"], r["dst"], r["port"], r["protocol"], r["action"]): (r["count"], r["packets"], r["bytes"])
        for r in rows
    }


@pytest.fixture
def logs(tmp_path: Path) -> list[Path]:
    """Three demo files plus the AWS documentation's default-format examples (NODATA, SKIPDATA, IPv6)."""
    files = demo.write_demo(tmp_path / "logs", 3_000, files=3, seed=11)
    sample = tmp_path / "logs" / "aws-examples.log"
    shutil.copy(SAMPLES / "awsdocs-amazon-vpc-user-guide/assembled/default-v2-all-examples.log", sample)
    return [*files, sample]


def summary_value(output: str, label: str) -> int:
    """The number on the summary table's row that starts with `label`."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells and cells[0].startswith(label):
            return int(cells[-1].replace(",", ""))
    raise AssertionError(f"no {label!r} row in:\n{output}")


def load(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["load", "--pseudonymize", "none", *args])
    return result.exit_code, result.output


def test_load_matches_the_input_sums(store: GraphStore, cli_env: dict[str, str], logs: list[Path]) -> None:
    code, output = load(str(logs[0].parent))
    assert code == 0, output
    expected = expected_edges(logs)
    assert graph_edges(store) == expected
    addresses = {a for key in expected for a in key[:2]}
    counts = store.counts()
    assert counts == {"addresses": len(addresses), "flows": len(expected), "files": 4}
    records = [r for path in logs for r in read_records(path)]
    assert summary_value(output, "records") == len(records)
    assert summary_value(output, "NODATA") == sum(r["log-status"] == "NODATA" for r in records) > 0
    assert summary_value(output, "SKIPDATA") == sum(r["log-status"] == "SKIPDATA" for r in records) == 1
    # Rows written: one per distinct edge per file, so an edge in two files is written twice.
    assert summary_value(output, "edges written") == sum(len(expected_edges([p])) for p in logs)
    assert summary_value(output, "files loaded") == 4


def test_second_load_changes_nothing_and_reload_keeps_totals(
    store: GraphStore, cli_env: dict[str, str], logs: list[Path]
) -> None:
    folder = str(logs[0].parent)
    assert load(folder)[0] == 0
    before = graph_edges(store)
    code, output = load(folder)
    assert code == 0
    assert summary_value(output, "files skipped") == 4
    assert summary_value(output, "files loaded") == 0
    assert graph_edges(store) == before
    code, output = load("--reload", folder)
    assert code == 0, output
    assert graph_edges(store) == before
    assert store.counts()["files"] == 4


def test_a_changed_file_replaces_its_contribution(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "one.log"
    demo.write_demo(path, 500, seed=1)
    assert load(str(path))[0] == 0
    demo.write_demo(path, 400, seed=2)
    assert load(str(path))[0] == 0
    assert graph_edges(store) == expected_edges([path])


def test_same_content_under_another_name_is_not_counted_twice(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    first = tmp_path / "a.log"
    demo.write_demo(first, 300, seed=3)
    shutil.copy(first, tmp_path / "b.log")
    code, output = load(str(tmp_path))
    assert code == 0
    assert graph_edges(store) == expected_edges([first])
    assert summary_value(output, "files skipped") == 1


def test_truncated_gzip_is_reported_and_the_rest_load(
    store: GraphStore, cli_env: dict[str, str], logs: list[Path]
) -> None:
    broken = logs[0].parent / "broken.log.gz"
    data = gzip.compress(logs[-1].read_bytes() * 50)
    broken.write_bytes(data[: len(data) // 2])
    code, output = load(str(logs[0].parent))
    assert code == 3, output
    assert "broken.log.gz" in output
    assert graph_edges(store) == expected_edges(logs)


def test_nothing_loadable_exits_1(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    junk = tmp_path / "junk.log"
    junk.write_bytes(b"\x00\xff binary garbage\n" * 10)
    code, output = load(str(junk))
    assert code == 1
    assert "junk.log" in output
    assert store.counts()["flows"] == 0


def test_dry_run_writes_nothing(store: GraphStore, cli_env: dict[str, str], logs: list[Path]) -> None:
    code, output = load("--dry-run", str(logs[0].parent))
    assert code == 0, output
    assert summary_value(output, "edges found") == sum(len(expected_edges([p])) for p in logs)
    assert store.counts() == {"addresses": 0, "flows": 0, "files": 0}


def test_schema_setup_twice_is_harmless(store: GraphStore) -> None:
    store.ensure_schema()
    store.ensure_schema()
    _, rows = store.query("SHOW CONSTRAINTS", {})
    constraints = {tuple(r["labelsOrTypes"]) + tuple(r["properties"]) for r in rows}
    assert constraints >= {("Address", "key"), ("LogFile", "id")}
    assert ("Address", "id") not in constraints  # the same private IP may be in two networks


def test_max_errors_gives_up_on_a_file(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "noisy.log"
    good = "2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
    path.write_text(good + "this line is not a record\n" * 5)
    code, output = load("--max-errors", "3", str(path))
    assert code == 1
    assert "--max-errors" in output
    code, output = load("--max-errors", "10", str(path))
    assert code == 0, output
    assert graph_edges(store) == {("10.0.0.1", "10.0.0.2", 443, 6, "ACCEPT"): (1, 1, 100)}


def test_packet_level_addresses_are_stored_on_the_edges(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The AWS documentation's transit-gateway example: the TGW interfaces see the instance's address
    as pkt-srcaddr/pkt-dstaddr, which the edge keeps beside its own endpoints."""
    sample = tmp_path / "tgw.log"
    shutil.copy(SAMPLES / "awsdocs-amazon-vpc-user-guide/assembled/transit-gateway-with-header.log", sample)
    assert load(str(sample))[0] == 0
    _, rows = store.query(
        "MATCH (s)-[f:FLOW]->(d) WHERE f.pkt_srcaddrs IS NOT NULL OR f.pkt_dstaddrs IS NOT NULL "
        "RETURN s.id AS src, d.id AS dst, f.pkt_srcaddrs AS ps, f.pkt_dstaddrs AS pd",
        {},
    )
    assert {(r["src"], r["dst"], tuple(r["ps"] or ()), tuple(r["pd"] or ())) for r in rows} == {
        ("10.40.1.175", "10.40.2.236", ("10.20.33.164",), ()),
        ("10.40.2.236", "10.40.2.31", (), ("10.20.33.164",)),
    }


AWS_EXAMPLES = SAMPLES / "awsdocs-amazon-vpc-user-guide/assembled"


def test_packet_addresses_join_the_client_behind_nat_and_transit(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`--addresses packet`, on the AWS documentation's examples: the NAT gateway's interface records
    the instance (10.0.1.5) and the internet host (203.0.113.5) as pkt-srcaddr/pkt-dstaddr; the transit
    gateway's interfaces record the client in VPC A (10.20.33.164). Each conversation becomes one
    edge per direction between the real ends, as the documentation describes it; the v5 example (S3
    through a gateway endpoint, flow-direction) has the same addresses in both pairs and loads as it does
    by interface."""
    for name in ("nat-gateway-with-header.log", "transit-gateway-with-header.log", "traffic-path-v5-with-header.log"):
        shutil.copy(AWS_EXAMPLES / name, tmp_path / name)
    code, output = load("--addresses", "packet", str(tmp_path))
    assert code == 0, output
    # the NAT example's instance lines end in "#comment" text, and the transit example has a "..." line
    assert summary_value(output, "malformed: wrong number of fields") >= 2
    assert summary_value(output, "records whose packet addresses differ") == 4  # two NAT and two transit lines
    unknown, https = (-1, -1, "-"), (80, 6, "ACCEPT")
    assert {key: value[0] for key, value in graph_edges(store).items()} == {
        ("10.0.1.5", "203.0.113.5", *unknown): 1,  # by interface: 10.0.1.5 -> the NAT gateway
        ("10.0.0.220", "203.0.113.5", *unknown): 1,
        ("203.0.113.5", "10.0.0.220", *unknown): 1,
        ("203.0.113.5", "10.0.1.5", *unknown): 1,  # by interface: the NAT gateway -> 10.0.1.5
        ("10.20.33.164", "10.40.2.236", *https): 2,  # the server's interface and the transit gateway's
        ("10.40.2.236", "10.20.33.164", *https): 2,
        ("52.95.128.179", "10.0.0.71", *https): 1,
        ("10.0.0.71", "52.95.128.179", *https): 1,
    }
    _, rows = store.query("MATCH ()-[f:FLOW]->() WHERE f.pkt_srcaddrs IS NOT NULL OR f.pkt_dstaddrs IS NOT NULL "
                          "RETURN count(f) AS n", {})  # fmt: skip
    assert rows == [{"n": 0}]  # the ends are the packet's addresses: nothing differs from them


def hostile_files(folder: Path) -> dict[Path, str | None]:
    """Files that once stopped the whole load with a traceback, each with the reason it now fails
    with, or None when it loads what it can (here: the first of its two records)."""
    from tests.test_formats import parquet_of

    folder.mkdir()
    files: dict[Path, tuple[bytes, str | None]] = {
        folder / "deep.json": (b"[" * 200_000, "is JSON nested too deeply"),
        folder / "floats.parquet": (
            parquet_of(srcport=pa.array([40000, 40001], pa.uint16()), bytes=pa.array([100.0, 200.5])),
            None,
        ),
        folder / "numeric-address.parquet": (
            parquet_of(srcaddr=pa.array([167772161, 167772163])),
            "its srcaddr column holds int64; AWS writes addresses as text",
        ),
        folder / "corrupt.log.gz": (corrupt_gzip(), "cannot be read: Error -1 Invalid deflate block"),
    }
    for path, (data, _) in files.items():
        path.write_bytes(data)
    return {path.resolve(): reason for path, (_, reason) in files.items()}


def corrupt_gzip() -> bytes:
    """A gzip member whose deflate blocks are scrambled (isal raised its own error, no OSError)."""
    data = gzip.compress(b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n" * 1000)
    return data[:20] + bytes(b ^ 0x55 for b in data[20:80]) + data[80:]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "etl", "load", "--pseudonymize", "none", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def assert_hostile_files_failed_alone(
    result: subprocess.CompletedProcess[str], hostile: dict[Path, str | None]
) -> None:
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    output = result.stdout + result.stderr
    for path, reason in hostile.items():
        if reason is None:
            assert f"failed: {path}" not in output
        else:
            assert f"failed: {path}: {reason}" in output
    assert summary_value(output, "files failed") == sum(r is not None for r in hostile.values())


def test_hostile_files_fail_alone_and_the_good_ones_load(
    store: GraphStore, cli_env: dict[str, str], logs: list[Path], tmp_path: Path
) -> None:
    hostile = hostile_files(tmp_path / "hostile")
    result = run_cli(cli_env, *map(str, hostile), str(logs[0].parent))
    assert_hostile_files_failed_alone(result, hostile)
    expected = expected_edges(logs)
    first = ("10.0.0.1", "10.0.0.2", 443, 6, "ACCEPT")  # floats.parquet's whole-number record
    count, packets, octets = expected.get(first, (0, 0, 0))
    expected[first] = (count + 1, packets + 1, octets + 100)
    assert graph_edges(store) == expected
    assert summary_value(result.stdout, "files loaded") == len(logs) + 1
    assert summary_value(result.stdout, "records") == sum(len(read_records(p)) for p in logs) + 1


@pytest.mark.parametrize("name", ["deep.json", "floats.parquet", "numeric-address.parquet", "corrupt.log.gz"])
def test_a_dry_run_with_a_hostile_file_reads_the_good_one(tmp_path: Path, logs: list[Path], name: str) -> None:
    """No server needed: one hostile file beside one good file, read by two worker processes."""
    [(path, reason)] = [(p, r) for p, r in hostile_files(tmp_path / "hostile").items() if p.name == name]
    env = {**os.environ, "VPCFLOW_HOME": str(tmp_path / "home")}
    result = run_cli(env, "--dry-run", "--workers", "2", str(path), str(logs[0]))
    if reason is None:
        assert result.returncode == 0, result.stdout + result.stderr
        loaded, records = 2, len(read_records(logs[0])) + 1
    else:
        assert_hostile_files_failed_alone(result, {path: reason})
        loaded, records = 1, len(read_records(logs[0]))
    assert (summary_value(result.stdout, "files loaded"), summary_value(result.stdout, "records")) == (loaded, records)


def test_each_edge_counts_its_requests_and_replies(
    store: GraphStore, cli_env: dict[str, str], logs: list[Path]
) -> None:
    """A record whose destination port is the edge's service port is a request, one whose source
    port is, a reply; counted from the lines, and still exact after a reload takes a file back out."""
    expected: dict[tuple[str, str, int, int, str], list[int]] = {}
    for path in logs:
        for r in read_records(path):
            if r["log-status"] != "OK":
                continue
            sport, dport = int(r["srcport"]), int(r["dstport"])
            key = (r["srcaddr"], r["dstaddr"], min(sport, dport), int(r["protocol"]), r["action"])
            sums = expected.setdefault(key, [0, 0])
            sums[0] += dport == min(sport, dport)
            sums[1] += sport == min(sport, dport)
    code, output = load(*map(str, logs))
    assert code == 0, output
    code, output = load("--reload", str(logs[0]))
    assert code == 0, output
    _, rows = store.query(
        "MATCH (s:Address)-[f:FLOW]->(d:Address) RETURN s.id AS src, d.id AS dst, f.port AS port, "
        "f.protocol AS protocol, f.action AS action, f.requests AS requests, f.replies AS replies",
        {},
    )
    got = {(r["src"], r["dst"], r["port"], r["protocol"], r["action"]): [r["requests"], r["replies"]] for r in rows}
    assert got == expected
    assert any(requests and replies == 0 for requests, replies in got.values())  # both kinds occur
    assert any(replies and requests == 0 for requests, replies in got.values())


def test_an_edge_from_before_the_counts_keeps_them_unknown(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """An edge written before requests and replies were counted: a later file adds to its count, never a
    partial request count; taking that file back out leaves it as it was."""
    line = "2 123456789012 eni-0a 10.0.0.1 10.0.0.2 40000 443 6 2 100 1767225600 1767225660 ACCEPT OK\n"
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text(line)
    second.write_text(line * 3)
    assert load(str(first))[0] == 0
    store.query("MATCH ()-[f:FLOW]->() REMOVE f.requests, f.replies", {}, writes=True)  # as an older vpcflow wrote it
    assert load(str(second))[0] == 0
    edge = "MATCH ()-[f:FLOW]->() RETURN f.count AS count, f.requests AS requests, f.replies AS replies"
    assert store.query(edge, {})[1] == [{"count": 4, "requests": None, "replies": None}]
    second.write_text(line * 2)
    assert load(str(second))[0] == 0  # a changed file: its old contribution is taken back first
    assert store.query(edge, {})[1] == [{"count": 3, "requests": None, "replies": None}]
