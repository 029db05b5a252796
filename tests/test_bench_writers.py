"""The load benchmark compares like with like: its baseline and its creation-only figure write the
edges the loader writes, on a live server."""

from typing import Any

import pyarrow as pa
import pytest

from bench.load_speed import Writer, as_files, creates_only, naive, ours, renamed, synthetic_edges
from etl.aggregate import EDGE_SCHEMA
from etl.batch import flow_keys
from etl.graph.store import GraphStore

TOTALS = "MATCH ()-[f:FLOW]->() RETURN count(f) AS edges, sum(f.count) AS count, sum(f.bytes) AS bytes"


def _totals(store: GraphStore) -> dict[str, Any]:
    return dict(store.query(TOTALS, {})[1][0])


@pytest.mark.parametrize("writer", [ours, naive], ids=["ours", "naive"])
def test_each_writer_creates_the_edges_then_adds_to_them(store: GraphStore, writer: Writer) -> None:
    edges = synthetic_edges(300, hubs=4, seed=3)
    files = as_files(edges, "t")
    writer(store, files)
    once = {"edges": 300, "count": sum(e["count"] for e in edges), "bytes": sum(e["bytes"] for e in edges)}
    assert _totals(store) == once
    writer(store, renamed(files, "again"))
    assert _totals(store) == {**once, "count": 2 * once["count"], "bytes": 2 * once["bytes"]}


def test_creation_alone_creates_each_distinct_edge_once_when_files_repeat_edges(store: GraphStore) -> None:
    """Demo files share edges; creating every file's rows would break the key's uniqueness."""
    edges = synthetic_edges(300, hubs=0, seed=4)
    files = [*as_files(edges[:200], "a"), *as_files(edges[100:], "b")]
    assert creates_only(store, files) > 0
    keys = store.query("MATCH ()-[f:FLOW]->() RETURN f.key AS key", {})[1]
    assert sorted(row["key"] for row in keys) == sorted(flow_keys(pa.Table.from_pylist(edges, EDGE_SCHEMA)).to_pylist())
