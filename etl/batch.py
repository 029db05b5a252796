"""What the loader writes for one file: its edges, its addresses, its ledger facts.

A batch is made where the file is parsed (a worker process, in a load with several files) and stays
in Arrow until the process that writes asks for the lists Bolt sends: a table crosses between
processes as a few buffers, where the same edges as Python lists cost more to unpickle than to build
again from the columns.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.aggregate import EDGE_KEYS, EDGE_SCHEMA, SUMS
from etl.known_ips import PLACES
from etl.parse import ParseStats

# An edge in one time bucket as the graph shows it: its ends are the keys of their Address nodes, and
# the packet-level addresses (NAT, transit) that differ from them ride along, null when there are none.
FLOW_SCHEMA = EDGE_SCHEMA.append(pa.field("pkt_srcaddrs", pa.list_(pa.string()))).append(
    pa.field("pkt_dstaddrs", pa.list_(pa.string()))
)
# What an edge keeps per time bucket, as parallel lists: the buckets' starts (ascending) and their sums.
BUCKET_SUMS = ("count", "packets", "bytes")
BUCKETS = ("buckets", *(f"bucket_{name}" for name in BUCKET_SUMS))
# An edge as one row, its buckets in lists: what the store writes.
EDGE_ROW_SCHEMA = pa.schema(
    [*(f for f in FLOW_SCHEMA if f.name != "bucket"), *(pa.field(name, pa.list_(pa.int64())) for name in BUCKETS)]
)
# An address's `key` is its identity: its id, qualified by its network when it has one (etl/networks.py).
ADDRESS_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("id", pa.string()),
        ("network", pa.string()),  # what qualifies the key: a VPC or account id, null outside any network
        ("scope", pa.string()),
        ("pseudonymized", pa.bool_()),
        ("name", pa.string()),
        ("group", pa.string()),
        ("role", pa.string()),
        ("prefix", pa.bool_()),  # true on a node that stands for a public prefix (--public-prefix), else null
        *((place, pa.string()) for place in PLACES),  # where it is, where known
        ("first_seen", pa.int64()),
        ("last_seen", pa.int64()),
    ]
)
# The order of the list a file adds to an edge; cypher.ADD_TO_FLOWS reads it by position. The
# packet-level addresses (NAT, transit) are unioned, first/last seen widened.
ADDED = (*SUMS, "first_seen", "last_seen", "pkt_srcaddrs", "pkt_dstaddrs", *BUCKETS)
# What identifies an edge besides its ends, in the order cypher.CREATE_FLOWS reads after the key.
ATTRIBUTES = ("port", "protocol", "action")
# A contribution in Arrow's IPC file format starts with this; older ledger entries hold zlib'd JSON.
_ARROW_MAGIC = b"ARROW1"
_CONTRIBUTION_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


def flow_keys(edges: pa.Table) -> pa.Array:
    """Each edge's identity as one string; `|` appears in no IP address, port, protocol or action."""
    parts = [pc.cast(edges[name], pa.string()) for name in EDGE_KEYS]
    return pc.binary_join_element_wise(*parts, "|").combine_chunks()


def key_endpoints(key: str) -> tuple[str, str]:
    src, dst, _ = key.split("|", 2)
    return src, dst


def per_edge(rows: pa.Table) -> pa.Table:
    """Rows of FLOW_SCHEMA (one per edge and bucket) as EDGE_ROW_SCHEMA: one per edge, its totals summed
    and its buckets listed in ascending order."""
    single = _constant(rows["bucket"])
    if single:  # a file within one bucket, the usual case: every edge has one row already
        offsets = pa.array(np.arange(rows.num_rows + 1, dtype=np.int32))
        lists = {name: pa.ListArray.from_arrays(offsets, rows[column].combine_chunks())
                 for name, column in zip(BUCKETS, ("bucket", *BUCKET_SUMS), strict=True)}  # fmt: skip
        return pa.table({**{n: rows[n] for n in EDGE_ROW_SCHEMA.names if n not in BUCKETS}, **lists}, EDGE_ROW_SCHEMA)
    ordered = rows.sort_by([("bucket", "ascending")]).append_column("at", pa.array(range(rows.num_rows), pa.int64()))
    grouped = ordered.group_by(list(EDGE_KEYS), use_threads=False).aggregate(
        [*((name, "sum") for name in SUMS), ("first_seen", "min"), ("last_seen", "max"), ("at", "min"),
         *((column, "list") for column in ("bucket", *BUCKET_SUMS))]
    )  # fmt: skip
    first = grouped["at_min"]
    columns = {name: grouped[name] for name in EDGE_KEYS} | {name: grouped[f"{name}_sum"] for name in SUMS}
    columns |= {"first_seen": grouped["first_seen_min"], "last_seen": grouped["last_seen_max"]}
    columns |= {name: ordered[name].take(first) for name in ("pkt_srcaddrs", "pkt_dstaddrs")}
    columns |= {name: grouped[f"{column}_list"] for name, column in zip(BUCKETS, ("bucket", *BUCKET_SUMS), strict=True)}
    return pa.table(columns).select(EDGE_ROW_SCHEMA.names).cast(EDGE_ROW_SCHEMA)


def distinct_edges(rows: pa.Table) -> int:
    """How many edges rows of FLOW_SCHEMA (one per edge and bucket) are, whatever buckets they span:
    `FileBatch.edge_count` without building the rows the store writes."""
    if _constant(rows["bucket"]):
        return rows.num_rows
    return rows.group_by(list(EDGE_KEYS), use_threads=False).aggregate([]).num_rows


def _constant(column: pa.ChunkedArray) -> bool:
    if len(column) == 0:
        return True
    bounds = pc.min_max(column)
    return bool(bounds["min"].as_py() == bounds["max"].as_py())


def encode_contribution(keys: pa.Array, edges: pa.Table) -> bytes:
    """What a file added to each edge (its keys, sums and buckets), as compressed Arrow: a reload or a
    changed file subtracts it."""
    table = pa.table([keys, *(edges[name] for name in (*SUMS, *BUCKETS))], names=["key", *SUMS, *BUCKETS])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, options=_CONTRIBUTION_OPTIONS) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def decode_contribution(blob: bytes) -> dict[str, dict[str, Any]]:
    """Key -> sums and bucket lists; reads the zlib'd JSON of ledger entries written before the Arrow
    form too. Entries from before buckets have none (None): what they added was never in an edge's buckets."""
    if not blob.startswith(_ARROW_MAGIC):
        # Entries before requests and replies were counted hold only the first sums: the rest are 0.
        decoded = json.loads(zlib.decompress(blob))
        return {
            key: dict(zip(SUMS, [*sums, *[0] * (len(SUMS) - len(sums))], strict=True)) | dict.fromkeys(BUCKETS)
            for key, *sums in decoded
        }
    table = pa.ipc.open_file(pa.BufferReader(blob)).read_all()
    for name in SUMS:
        if name not in table.column_names:
            table = table.append_column(name, pa.repeat(pa.scalar(0, pa.int64()), table.num_rows))
    for name in BUCKETS:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.list_(pa.int64())))
    names = (*SUMS, *BUCKETS)
    sums = [dict(zip(names, row, strict=True)) for row in _lists(table, names)]
    return dict(zip(table["key"].to_pylist(), sums, strict=True))


def _lists(table: pa.Table, names: Sequence[str]) -> list[list[Any]]:
    """Row i of the named columns as one list, for each row: whole columns are converted at once."""
    return list(map(list, zip(*(table[name].to_pylist() for name in names), strict=True)))


@dataclass(frozen=True)
class FlowRows:
    """A file's edges, position i of each list for edge i: lists cost both ends of the Bolt connection
    less to pack and unpack than maps with the same field names on every row. The lists are built
    from the columns when asked, in the process that writes: the keys and ends for the whole file,
    the rest statement by statement (all of a file's rows at once held 1.4 KB of Python objects per
    edge, 130 MB for a 1M-record internet-profile file)."""

    table: pa.Table  # EDGE_ROW_SCHEMA
    key_column: pa.Array
    contribution: bytes

    @classmethod
    def of(cls, edges: pa.Table) -> FlowRows:
        table = per_edge(edges)
        keys = flow_keys(table)
        return cls(table, keys, encode_contribution(keys, table))

    @cached_property
    def keys(self) -> list[str]:
        return self.key_column.to_pylist()  # type: ignore[no-any-return]

    @cached_property
    def ends(self) -> list[tuple[str, str]]:
        return list(zip(self.table["src"].to_pylist(), self.table["dst"].to_pylist(), strict=True))

    def attributes(self, positions: Sequence[int]) -> list[list[Any]]:
        """The edges at `positions`, each a list in ATTRIBUTES order."""
        return self._at(ATTRIBUTES, positions)

    def added(self, positions: Sequence[int]) -> list[list[Any]]:
        """What the file adds to the edges at `positions`, each a list in ADDED order."""
        return self._at(ADDED, positions)

    def _at(self, names: Sequence[str], positions: Sequence[int]) -> list[list[Any]]:
        return _lists(self.table.select(list(names)).take(pa.array(positions, pa.int64())), names)


@dataclass
class FileBatch:
    source_id: str
    digest: str
    edges: pa.Table  # FLOW_SCHEMA: one row per edge and time bucket
    addresses: pa.Table  # ADDRESS_SCHEMA
    stats: ParseStats = field(default_factory=ParseStats)
    seconds: dict[str, float] = field(default_factory=dict)  # time per stage of its preparation, for --debug
    flows: FlowRows = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.flows = FlowRows.of(self.edges)

    @property
    def edge_count(self) -> int:
        """Distinct edges, whatever the buckets they span."""
        return int(self.flows.table.num_rows)
