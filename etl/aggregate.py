"""Flow records to edge rows: one row per (src, dst, service port, protocol, action).

The service port is the lower of the two ports: a request goes to the server's (low, listening)
port from an ephemeral one, a reply comes back from it, so both directions of one conversation
keep one port and replies do not fan out into one edge per ephemeral port.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

EDGE_KEYS = ("src", "dst", "port", "protocol", "action")
EDGE_SCHEMA = pa.schema(
    [
        ("src", pa.string()),
        ("dst", pa.string()),
        ("port", pa.int64()),
        ("protocol", pa.int64()),
        ("action", pa.string()),
        ("count", pa.int64()),
        ("packets", pa.int64()),
        ("bytes", pa.int64()),
        ("first_seen", pa.int64()),
        ("last_seen", pa.int64()),
    ]
)
# MERGE cannot match on a null property, so an absent field becomes an explicit "unknown".
UNKNOWN_NUMBER = -1
UNKNOWN_ACTION = "-"
_SUMS = ("count", "packets", "bytes")


def _column(table: pa.Table, name: str, type_: pa.DataType) -> pa.ChunkedArray | pa.Array:
    if name in table.column_names:
        return table[name]
    return pa.nulls(table.num_rows, type_)


def service_port(srcport: pa.ChunkedArray | pa.Array, dstport: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The lower port of each pair; the known one when the other is missing."""
    return pc.fill_null(pc.min_element_wise(srcport, dstport, skip_nulls=True), UNKNOWN_NUMBER)


def flows(records: pa.Table) -> pa.Table:
    """The records that describe traffic (log-status OK) as one-count edge rows, unmerged."""
    if "log-status" in records.column_names:
        records = records.filter(pc.equal(records["log-status"], "OK"))
    return pa.table(
        {
            "src": _column(records, "srcaddr", pa.string()),
            "dst": _column(records, "dstaddr", pa.string()),
            "port": service_port(_column(records, "srcport", pa.int64()), _column(records, "dstport", pa.int64())),
            "protocol": pc.fill_null(_column(records, "protocol", pa.int64()), UNKNOWN_NUMBER),
            "action": pc.fill_null(_column(records, "action", pa.string()), UNKNOWN_ACTION),
            "count": pa.repeat(pa.scalar(1, pa.int64()), records.num_rows),
            "packets": pc.fill_null(_column(records, "packets", pa.int64()), 0),
            "bytes": pc.fill_null(_column(records, "bytes", pa.int64()), 0),
            "first_seen": _column(records, "start", pa.int64()),
            "last_seen": _column(records, "end", pa.int64()),
        },
        schema=EDGE_SCHEMA,
    ).filter(pc.field("src").is_valid() & pc.field("dst").is_valid())


def merge(tables: Iterable[pa.Table]) -> pa.Table:
    """Sum edge tables that may repeat keys: counts, packets, bytes add; first/last seen widen."""
    table = pa.concat_tables([t.select(EDGE_SCHEMA.names) for t in tables])
    if table.num_rows == 0:
        return EDGE_SCHEMA.empty_table()
    grouped = table.group_by(list(EDGE_KEYS), use_threads=False).aggregate(
        [(name, "sum") for name in _SUMS] + [("first_seen", "min"), ("last_seen", "max")]
    )
    names = {f"{name}_sum": name for name in _SUMS} | {
        "first_seen_min": "first_seen",
        "last_seen_max": "last_seen",
    }
    return grouped.rename_columns([names.get(c, c) for c in grouped.column_names]).select(EDGE_SCHEMA.names)


class EdgeAccumulator:
    """Merges a stream of record tables with memory bounded by the number of distinct edges."""

    def __init__(self, flush_rows: int = 2_000_000) -> None:
        self._merged = EDGE_SCHEMA.empty_table()
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._flush_rows = flush_rows

    def add(self, records: pa.Table) -> None:
        edges = merge([flows(records)])
        self._pending.append(edges)
        self._pending_rows += edges.num_rows
        if self._pending_rows >= self._flush_rows:
            self._fold()

    def _fold(self) -> None:
        self._merged = merge([self._merged, *self._pending])
        self._pending, self._pending_rows = [], 0

    def result(self) -> pa.Table:
        self._fold()
        return self._merged
