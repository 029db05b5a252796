"""The rules the fast loader rests on: edge keys, contributions, the ledger's skip rule, the batching
chosen per server, and chunk boundaries that change nothing in the graph."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import zlib
from pathlib import Path

import pyarrow as pa
import pytest

from etl.aggregate import EDGE_SCHEMA, SUMS
from etl.batch import (
    ADDED,
    ATTRIBUTES,
    BUCKETS,
    FLOW_SCHEMA,
    FlowRows,
    decode_contribution,
    encode_contribution,
    flow_keys,
    key_endpoints,
    per_edge,
)
from etl.buckets import DAY
from etl.graph import cypher
from etl.graph.store import (
    ALREADY_LOADED,
    ARCADEDB_BATCHING,
    NEO4J_BATCHING,
    Batching,
    GraphStore,
    batching_for,
    skip_reason,
)
from etl.pipeline import LoadOptions, prepare
from etl.sources.local import LocalSource
from tests.flowlines import V2, expected_edges
from tests.test_faults import write_logs
from tests.test_load import graph_edges


@pytest.mark.parametrize(
    ("src", "dst", "port", "protocol", "action", "key"),
    [
        ("10.0.0.1", "10.0.0.2", 443, 6, "ACCEPT", "10.0.0.1|10.0.0.2|443|6|ACCEPT"),
        ("2001:db8::1", "fe80::a:b", 53, 17, "REJECT", "2001:db8::1|fe80::a:b|53|17|REJECT"),
        ("10.0.0.1", "10.0.0.2", -1, -1, "-", "10.0.0.1|10.0.0.2|-1|-1|-"),
    ],
)
def test_an_edge_key_names_its_five_parts_and_gives_back_its_ends(
    src: str, dst: str, port: int, protocol: int, action: str, key: str
) -> None:
    row = {"src": src, "dst": dst, "port": port, "protocol": protocol, "action": action, "count": 9}
    assert flow_keys(pa.Table.from_pylist([row], EDGE_SCHEMA)).to_pylist() == [key]
    assert key_endpoints(key) == (src, dst)


def contribution_table(count: int) -> pa.Table:
    return pa.Table.from_pylist(
        [{"src": f"10.0.{i // 256}.{i % 256}", "dst": "10.0.0.1", "port": 443, "protocol": 6, "action": "ACCEPT",
          "bucket": DAY, "count": i, "packets": 2 * i, "bytes": 3 * i, "requests": i, "replies": i // 2, "first_seen": 1,
          "last_seen": 2, "pkt_dstaddrs": ["10.9.9.9"]} for i in range(count)],
        FLOW_SCHEMA,
    )  # fmt: skip


def test_a_contribution_round_trips_and_is_compressed() -> None:
    edges = per_edge(contribution_table(5_000))
    keys = flow_keys(edges)
    blob = encode_contribution(keys, edges)
    expected = {
        k: {"count": i, "packets": 2 * i, "bytes": 3 * i, "requests": i, "replies": i // 2,
            "buckets": [DAY], "bucket_count": [i], "bucket_packets": [2 * i], "bucket_bytes": [3 * i]}
        for i, k in enumerate(keys.to_pylist())
    }  # fmt: skip
    assert decode_contribution(blob) == expected
    assert len(blob) < 60 * len(keys)
    assert decode_contribution(encode_contribution(keys[:0], edges[:0])) == {}


def json_contribution(blob: bytes) -> bytes:
    """The same sums in the form ledger entries held before the Arrow one: zlib'd JSON [[key, *sums]]."""
    table = [[key, *(sums[name] for name in SUMS)] for key, sums in decode_contribution(blob).items()]
    return zlib.compress(json.dumps(table, separators=(",", ":")).encode(), 1)


def test_a_contribution_from_before_requests_and_replies_reads_them_as_none() -> None:
    """Ledger entries written before the two counts existed: taking them back subtracts 0 from each."""
    edges = contribution_table(4)
    keys = flow_keys(edges)
    old = pa.table(
        [keys, *(edges[name] for name in ("count", "packets", "bytes"))], names=["key", "count", "packets", "bytes"]
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, old.schema) as writer:
        writer.write_table(old)
    expected = {k: {"count": i, "packets": 2 * i, "bytes": 3 * i, "requests": 0, "replies": 0} | dict.fromkeys(BUCKETS)
                for i, k in enumerate(keys.to_pylist())}  # fmt: skip
    assert decode_contribution(sink.getvalue().to_pybytes()) == expected
    legacy = [[k, i, 2 * i, 3 * i] for i, k in enumerate(keys.to_pylist())]
    assert decode_contribution(zlib.compress(json.dumps(legacy).encode())) == expected


def test_a_contribution_from_before_the_arrow_form_still_reads() -> None:
    blob = FlowRows.of(contribution_table(300)).contribution
    # The same sums; entries from before buckets say nothing of them.
    no_buckets = {key: sums | dict.fromkeys(BUCKETS) for key, sums in decode_contribution(blob).items()}
    assert decode_contribution(json_contribution(blob)) == no_buckets


def test_the_rows_for_bolt_are_the_columns_edge_by_edge() -> None:
    edges = contribution_table(3)
    flows = FlowRows.of(edges)
    assert flows.keys == [f"10.0.0.{i}|10.0.0.1|443|6|ACCEPT" for i in range(3)]
    assert flows.ends == [(f"10.0.0.{i}", "10.0.0.1") for i in range(3)]
    assert flows.attributes(range(3)) == [[443, 6, "ACCEPT"]] * 3
    assert flows.added(range(3)) == [[i, 2 * i, 3 * i, i, i // 2, 1, 2, None, ["10.9.9.9"], [DAY], [i], [2 * i], [3 * i]]
                                     for i in range(3)]  # fmt: skip
    assert flows.added([2, 0]) == [flows.added(range(3))[2], flows.added(range(3))[0]]


def test_the_loader_cypher_reads_each_row_field_at_its_position() -> None:
    """Rows travel as lists: the names the Cypher gives each position are the batch's field order."""
    local = dict(
        zip(
            ADDED,
            (
                "more_count",
                "more_packets",
                "more_bytes",
                "more_requests",
                "more_replies",
                "first",
                "last",
                "srcaddrs",
                "dstaddrs",
                "bs",
                "bc",
                "bp",
                "bb",
            ),
            strict=True,
        )
    )
    positions = re.findall(r"r\[(\d+)\] AS (\w+)", cypher.ADD_TO_FLOWS)
    assert positions == [(str(i), local[name]) for i, name in enumerate(ADDED)]
    for name, value in local.items():  # each field is set from its own position, in one `SET f += {...}`
        assert re.search(rf"\b{name}: [^,]*\b{value}\b", cypher.ADD_TO_FLOWS), name
    assert re.findall(r"elementId\((\w)\) = r\[(\d+)\]", cypher.CREATE_FLOWS) == [("s", "0"), ("d", "1")]
    created = re.findall(r"(\w+): r\[(\d+)\]", cypher.CREATE_FLOWS)
    assert created == [(name, str(i)) for i, name in enumerate(("key", *ATTRIBUTES, *ADDED), start=2)]


LEDGER = [{"id": "a.log", "digest": "sha256:1"}, {"id": "b.log", "digest": "sha256:2"}]


@pytest.mark.parametrize(
    ("source_id", "digest", "reload", "reason"),
    [
        ("a.log", "sha256:1", False, ALREADY_LOADED),
        ("a.log", "sha256:1", True, ""),  # a reload replaces its own entry
        ("c.log", "sha256:2", False, "same content as b.log"),
        ("c.log", "sha256:2", True, "same content as b.log"),  # --reload never double counts other files
        ("a.log", "sha256:9", False, ""),  # a changed file replaces its contribution
        ("c.log", "sha256:9", False, ""),
    ],
)
def test_the_ledger_skips_what_is_already_counted(source_id: str, digest: str, reload: bool, reason: str) -> None:
    entries = [e for e in LEDGER if e["id"] == source_id or e["digest"] == digest]
    assert skip_reason(entries, source_id, digest, reload) == reason


@pytest.mark.parametrize(
    ("agent", "batching"),
    [
        ("Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)", ARCADEDB_BATCHING),
        ("Neo4j/5.26.0", NEO4J_BATCHING),
        ("Neo4j/2025.01.0", NEO4J_BATCHING),
        ("unknown", NEO4J_BATCHING),
    ],
)
def test_the_batching_follows_the_servers_agent(agent: str, batching: Batching) -> None:
    assert batching_for(agent) == batching


@pytest.mark.integration
def test_the_live_server_gets_its_batching(store: GraphStore) -> None:
    assert store.batching == batching_for(store.agent)


@pytest.mark.integration
@pytest.mark.parametrize(
    "batching", [Batching(addresses=3, lookups=7, probes=11, creates=5), ARCADEDB_BATCHING, NEO4J_BATCHING]
)
def test_any_batching_writes_the_same_graph(store: GraphStore, batching: Batching, tmp_path: Path) -> None:
    paths = write_logs(tmp_path, files=3, lines=300, seed=9)
    batches = [prepare(LocalSource(path), LoadOptions()) for path in paths]
    saved, store.batching = store.batching, batching
    try:
        for batch in batches:
            assert store.load(batch).loaded
        assert store.load(batches[0], reload=True).loaded  # takes its contribution back out, then adds it again
        again = dataclasses.replace(batches[1], source_id="copy", digest="sha256:copy")
        assert store.load(again).loaded
    finally:
        store.batching = saved
    expected = expected_edges([*paths, paths[1]])
    assert graph_edges(store) == expected
    assert store.counts()["flows"] == len(expected)


@pytest.mark.integration
def test_the_drivers_debug_log_names_no_address_of_the_rows(
    store: GraphStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows are data: even with the driver logging every message it sends, they show as a count."""
    batch = prepare(LocalSource(write_logs(tmp_path, files=1, lines=200, seed=4)[0]), LoadOptions())
    with caplog.at_level(logging.DEBUG, logger="neo4j"):
        assert store.load(batch).loaded
    sent = [r.getMessage() for r in caplog.records if " C: RUN " in r.getMessage()]
    assert any("rows>" in line for line in sent)  # the rows were logged, as their count
    addresses = set(batch.addresses["id"].to_pylist())
    assert addresses and not [a for a in addresses for line in sent if a in line]


@pytest.mark.integration
def test_a_reload_over_a_contribution_from_before_the_arrow_form_stays_exact(store: GraphStore, tmp_path: Path) -> None:
    """A ledger entry written by an older vpcflow (its contribution zlib'd JSON) is taken back exactly."""
    paths = write_logs(tmp_path, files=2, lines=300, seed=12)
    batches = [prepare(LocalSource(path), LoadOptions()) for path in paths]
    for batch in batches:
        assert store.load(batch).loaded
    old = json_contribution(batches[0].flows.contribution)
    store.query(
        "MATCH (l:LogFile {id: $id}) SET l.contribution = $c", {"id": batches[0].source_id, "c": old}, writes=True
    )
    assert store.load(batches[0], reload=True).loaded
    assert store.load(batches[0], reload=True).loaded  # and over the Arrow form it wrote
    assert graph_edges(store) == expected_edges(paths)


@pytest.mark.integration
def test_only_edges_between_addresses_that_existed_are_looked_for(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address the file creates has no edge yet, so its edges go straight to creation; the others
    are looked for (and added to when found). The graph holds the sums of both files either way."""
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    header = V2 + "\n"
    line = "2 123456789012 eni-0a1b {} {} 40000 {} 6 {} 100 1767225600 1767225660 ACCEPT OK\n"
    first.write_text(header + line.format("10.0.0.1", "10.0.0.2", 443, 3) + line.format("10.0.0.1", "10.0.0.3", 22, 1))
    second.write_text(
        header
        + line.format("10.0.0.1", "10.0.0.2", 443, 4)  # exists
        + line.format("10.0.0.2", "10.0.0.3", 80, 2)  # new, between addresses that exist
        + line.format("10.0.0.1", "10.0.0.9", 443, 5)  # 10.0.0.9 is new
        + line.format("10.0.0.9", "10.0.0.2", 443, 6)
    )
    looked_for: list[list[str]] = []
    add_to_flows = GraphStore._add_to_flows

    def spy(self: GraphStore, tx: object, flows: FlowRows, positions: list[int]) -> list[int]:
        looked_for.append(sorted(flows.keys[i] for i in positions))
        return add_to_flows(self, tx, flows, positions)  # type: ignore[arg-type]

    monkeypatch.setattr(GraphStore, "_add_to_flows", spy)
    for path in (first, second):
        assert store.load(prepare(LocalSource(path), LoadOptions())).loaded
    # The records' account-id is the network of these private addresses (etl/networks.py).
    assert looked_for == [
        [],
        ["123456789012/10.0.0.1|123456789012/10.0.0.2|443|6|ACCEPT",
         "123456789012/10.0.0.2|123456789012/10.0.0.3|80|6|ACCEPT"],
    ]  # fmt: skip
    assert graph_edges(store) == expected_edges([first, second])
    assert graph_edges(store)[("10.0.0.1", "10.0.0.2", 443, 6, "ACCEPT")] == (2, 7, 200)  # records, packets, bytes
