"""Load speed, for each demo profile of BENCH_PROFILE (default internet,small) and three row shapes.

First, per profile, bench/write_speed.py: the real CLI writing demo files into fresh stores (write
time = load - dry run; edge rows per second of it), new edges and existing ones. Then edge rows per
second that `GraphStore.load` writes, against the naive baseline (one `UNWIND $rows MERGE (s) MERGE
(d) MERGE (s)-[f:FLOW {port, protocol, action}]->(d)` query per 5,000-row batch, one transaction per
file) on the same rows in the same run: for each profile, on what `prepare` makes of the first
BENCH_NAIVE_FILES (default 2) of its files, as the baseline is slow on hubs. Last, end to end, per
profile: BENCH_RECORDS demo records from BENCH_FILES gzip files to a loaded graph (`vpcflow load` on a
fresh embedded store), time and peak RSS. A table per profile ends the output.

Synthetic rows come in three shapes, each written into an empty graph (every edge new) and then once
more under other file names (every edge exists, so it is added to):
- spread: BENCH_EDGES distinct edges (default 200,000) between random pairs of a quarter as many addresses;
- hubs: BENCH_EDGES distinct edges, each with one of 40 hub addresses (load balancers, NAT gateways) at
  one end: thousands of FLOW relationships per hub, as real VPCs have;
- demo: what `prepare` makes of 4 demo files of 250,000 records (few addresses, edges that repeat).
BENCH_SHAPES picks some (default spread,hubs,demo). Beside each shape, CREATE_FLOWS alone on its
distinct edges, their addresses in place: the most any writer that creates them with Cypher can reach.
Into the embedded ArcadeDB always, and into Neo4j as well when NEO4J_URI (NEO4J_USER, NEO4J_PASSWORD)
is set. Figures are medians of BENCH_RUNS runs (default 3); BENCH_RECORDS=0 skips the end to end run.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import neo4j
import pyarrow as pa

from bench import write_speed
from bench.measure import run_measured
from bench.parse_speed import VPCFLOW, demo_files, profiles
from bench.table import print_table
from etl import demo
from etl.batch import ADDRESS_SCHEMA, FLOW_SCHEMA, FileBatch
from etl.graph import cypher
from etl.graph.embedded import BoltEndpoint, embedded_endpoint
from etl.graph.store import GraphStore, connect, creation_rows
from etl.pipeline import LoadOptions, prepare
from etl.sources.local import LocalSource

NAIVE = """
UNWIND $rows AS r
MERGE (s:Address {id: r.src})
MERGE (d:Address {id: r.dst})
MERGE (s)-[f:FLOW {port: r.port, protocol: r.protocol, action: r.action}]->(d)
ON CREATE SET f.count = r.count, f.packets = r.packets, f.bytes = r.bytes,
              f.first_seen = r.first_seen, f.last_seen = r.last_seen
ON MATCH SET f.count = f.count + r.count, f.packets = f.packets + r.packets, f.bytes = f.bytes + r.bytes
"""
NAIVE_BATCH = 5_000
FILE_EDGES = 20_000
HUBS = 40
WARM_UP_EDGES = 40_000
START = demo.DEMO_START
Files = list[FileBatch]
Writer = Callable[[GraphStore, Files], None]


def _address(i: int) -> str:
    return f"172.{16 + i // 65536 % 16}.{i // 256 % 256}.{i % 256}"


def synthetic_edges(count: int, hubs: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` distinct edge rows; with `hubs`, each has a hub at one end (its source half the time)."""
    rng = random.Random(seed)
    others = max(2, count // 10 if hubs else count // 4)
    keys: set[tuple[str, str, int, int, str]] = set()
    while len(keys) < count:
        a, b = (rng.randrange(hubs), hubs + rng.randrange(others)) if hubs else rng.sample(range(others), 2)
        ends = (a, b) if rng.random() < 0.5 else (b, a)
        port, protocol = rng.choice(((443, 6), (80, 6), (22, 6), (5432, 6), (53, 17), (123, 17), (3389, 6)))
        action = "REJECT" if rng.random() < 0.1 else "ACCEPT"
        keys.add((_address(ends[0]), _address(ends[1]), port, protocol, action))
    rows = []
    for src, dst, port, protocol, action in sorted(keys):
        count_ = int(10 ** rng.uniform(0, 4))
        first = START + rng.randrange(3_600)
        rows.append(
            {"src": src, "dst": dst, "port": port, "protocol": protocol, "action": action, "count": count_,
             "packets": count_ * 7, "bytes": count_ * 5_000, "first_seen": first, "last_seen": first + 60}
        )  # fmt: skip
    rng.shuffle(rows)
    return rows


def _addresses(edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for edge in edges:
        for end in (edge["src"], edge["dst"]):
            seen.setdefault(end, {"key": end, "id": end, "network": None, "scope": "private", "pseudonymized": False, "name": None,
                                  "group": None, "role": None, "first_seen": edge["first_seen"],
                                  "last_seen": edge["last_seen"]})  # fmt: skip
    return list(seen.values())


def as_files(edges: list[dict[str, Any]], tag: str) -> Files:
    """FileBatches of FILE_EDGES rows each, as `prepare` would hand them to the store."""
    files = []
    for n, start in enumerate(range(0, len(edges), FILE_EDGES)):
        rows = edges[start : start + FILE_EDGES]
        table = pa.Table.from_pylist(rows, FLOW_SCHEMA)
        addresses = pa.Table.from_pylist(_addresses(rows), ADDRESS_SCHEMA)
        files.append(FileBatch(f"bench/{tag}/{n}.log.gz", f"sha256:{tag}-{n}", table, addresses))
    return files


def demo_batches(folder: Path) -> list[FileBatch]:
    paths = demo.write_demo(folder, 1_000_000, files=4, seed=11)
    return [prepare(LocalSource(path), LoadOptions()) for path in paths]


def renamed(files: Files, tag: str) -> Files:
    return [FileBatch(f"{f.source_id}.{tag}", f"{f.digest}.{tag}", f.edges, f.addresses, f.stats) for f in files]


def ours(store: GraphStore, files: Files) -> None:
    for batch in files:
        assert store.load(batch).loaded, batch.source_id


def naive(store: GraphStore, files: Files) -> None:
    def write(tx: Any, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), NAIVE_BATCH):
            tx.run(NAIVE, rows=rows[start : start + NAIVE_BATCH]).consume()

    with store.driver.session(database=store.endpoint.database) as session:
        for batch in files:
            session.execute_write(write, batch.edges.to_pylist())


def _create_flows(tx: neo4j.ManagedTransaction, rows: list[list[Any]]) -> None:
    tx.run(cypher.CREATE_FLOWS, rows=rows).consume()


def creates_only(store: GraphStore, files: Files) -> float:
    """Edges/s of CREATE_FLOWS alone, each distinct edge once (demo files repeat edges), the files'
    addresses already there (untimed): what any writer that creates these edges with Cypher can at
    best reach."""
    store.reset()
    with store.driver.session(database=store.endpoint.database) as session:
        elements = [session.execute_write(store._upsert_addresses, batch.addresses)[0] for batch in files]
        seen: set[str] = set()
        firsts = []
        for batch in files:
            firsts.append([i for i, key in enumerate(batch.flows.keys) if key not in seen])
            seen.update(batch.flows.keys)
        started = time.perf_counter()
        for batch, ends, positions in zip(files, elements, firsts, strict=True):
            rows = creation_rows(batch.flows, positions, ends)
            session.execute_write(_create_flows, rows)
        seconds = time.perf_counter() - started
    return len(seen) / seconds


def rates(store: GraphStore, writer: Writer, files: Files) -> tuple[float, float]:
    """Edge rows/s into an empty graph (all new), then for the same edges again (all existing)."""
    rows = sum(len(f.edges) for f in files)
    store.reset()
    started = time.perf_counter()
    writer(store, files)
    new = rows / (time.perf_counter() - started)
    started = time.perf_counter()
    writer(store, renamed(files, "again"))
    return new, rows / (time.perf_counter() - started)


def compare(store: GraphStore, shape: str, files: Files, runs: int) -> dict[str, float]:
    """Ours and the baseline alternately, `runs` times each; medians and ratios."""
    measured: dict[str, list[tuple[float, float]]] = {"ours": [], "naive": []}
    for _ in range(runs):
        for name, writer in (("ours", ours), ("naive", naive)):
            measured[name].append(rates(store, writer, files))
    figures: dict[str, float] = {}
    for phase, index in (("new", 0), ("existing", 1)):
        for name in measured:
            figures[f"{shape}_{phase}_{name}_rows_per_s"] = statistics.median(r[index] for r in measured[name])
        ratio = figures[f"{shape}_{phase}_ours_rows_per_s"] / figures[f"{shape}_{phase}_naive_rows_per_s"]
        figures[f"{shape}_{phase}_ratio"] = ratio
    figures[f"{shape}_edge_rows"] = sum(len(f.edges) for f in files)
    figures[f"{shape}_creates_only_rows_per_s"] = statistics.median(creates_only(store, files) for _ in range(runs))
    return figures


def shapes(edges: int, scratch: Path, names: list[str]) -> dict[str, Files]:
    made: dict[str, Callable[[], Files]] = {
        "spread": lambda: as_files(synthetic_edges(edges, hubs=0), "spread"),
        "hubs": lambda: as_files(synthetic_edges(edges, hubs=HUBS), "hubs"),
        "demo": lambda: demo_batches(scratch / "demo"),
    }
    return {name: made[name]() for name in names}


def warm_up(store: GraphStore) -> None:
    """Both writers, both shapes, new and existing edges: the JVM compiles what each statement runs
    before anything is timed, whoever comes first."""
    for hubs in (HUBS, 0):
        files = as_files(synthetic_edges(WARM_UP_EDGES, hubs=hubs, seed=1), f"warm-up-{hubs}")
        for writer in (ours, naive):
            rates(store, writer, files)


def servers(scratch: Path) -> Iterator[tuple[str, GraphStore]]:
    with embedded_endpoint(scratch / "home") as endpoint, connect(endpoint) as store:
        warm_up(store)
        yield "embedded", store
    if uri := os.environ.get("NEO4J_URI"):
        neo4j = BoltEndpoint(uri, os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""), None)
        with connect(neo4j) as store:
            yield "neo4j", store
            store.reset()


def end_to_end(records: int, files: int, scratch: Path, profile: str = "small") -> dict[str, float]:
    """`vpcflow load` of the demo files into a fresh embedded store: time, and peak RSS of its processes."""
    paths = demo_files(records, files, profile)
    env = {**os.environ, "VPCFLOW_HOME": str(scratch / f"e2e-home-{profile}"), "NEO4J_URI": ""}
    seconds, _, peak = run_measured([*VPCFLOW, "load", *map(str, paths)], env)
    return {"e2e_records": records, "e2e_seconds": seconds, "e2e_records_per_s": records / seconds,
            "e2e_peak_rss_mib": peak}  # fmt: skip


def main() -> dict[str, float]:
    edges = int(os.environ.get("BENCH_EDGES", 200_000))
    runs = int(os.environ.get("BENCH_RUNS", 3))
    records = int(os.environ.get("BENCH_RECORDS", 10_000_000))
    naive_files = int(os.environ.get("BENCH_NAIVE_FILES", 2))
    figures: dict[str, float] = {}
    by_profile: dict[str, dict[str, float]] = {profile: {} for profile in profiles()}
    with tempfile.TemporaryDirectory(prefix="vpcflow-bench-") as scratch:
        # The user's view first: the real CLI, each store fresh, before this process starts a server.
        fixed = write_speed.fixed_seconds(Path(scratch), runs)
        for profile, table in by_profile.items():
            table |= write_speed.measure(profile, Path(scratch), runs, fixed)
        rows = shapes(edges, Path(scratch), os.environ.get("BENCH_SHAPES", "spread,hubs,demo").split(","))
        rows |= {profile: write_speed.batches(profile, naive_files) for profile in by_profile}
        for server, store in servers(Path(scratch)):
            for shape, files in rows.items():
                for name, value in compare(store, shape, files, runs).items():
                    figures[f"{server}_{name}"] = value
                    print(f"load  {server}_{name:36s} {value:>14,.2f}", flush=True)
                    if shape in by_profile:
                        by_profile[shape][f"{server}_{name.removeprefix(shape + '_')}"] = value
        for profile, table in by_profile.items():
            if records:
                table |= end_to_end(records, int(os.environ.get("BENCH_FILES", 10)), Path(scratch), profile)
            figures |= {f"{profile}_{name}": value for name, value in table.items()}
    print(
        f"(ours and naive in process: on the first {naive_files} of each profile's files; the naive writer is slow on hubs)"
    )
    print_table("load (medians)", by_profile)
    return figures


if __name__ == "__main__":
    main()
