"""A slice's edge rows, as Athena summed them, made into the batch the store writes: named as a file's are."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from etl.aggregate import INTERFACE_SCHEMA, LOGGED_SCHEMA, PACKET_SCHEMA
from etl.athena.sql import AWS_SERVICE_LISTS, KEYS, PACKET_LISTS, SUMS
from etl.batch import FileBatch
from etl.identified import identified
from etl.identify import Naming
from etl.parse import ParseStats

_TYPES = {"src": pa.string(), "dst": pa.string(), "action": pa.string(), "vpc": pa.string(), "account": pa.string()}
ROW_SCHEMA = pa.schema([(name, _TYPES.get(name, pa.int64())) for name in (*KEYS, *SUMS)])


def row_schema(lists: tuple[str, ...]) -> pa.Schema:
    """The edge rows of edge_sql: KEYS and SUMS, then the lists (sql.list_columns)."""
    return pa.schema([*ROW_SCHEMA, *((name, pa.list_(pa.string())) for name in lists)])


class Summed:
    """Edge rows summed elsewhere, as `identified` reads an EdgeAccumulator's. The query brings no
    interface facts (zone, subnet, ECS task): addresses are placed from the inventory and known-ips alone."""

    def __init__(self, rows: pa.Table) -> None:
        self._rows = rows
        flagged = [pc.list_flatten(rows[name]) for name in AWS_SERVICE_LISTS if name in rows.column_names]
        self.aws_services = frozenset(a for column in flagged for a in pc.unique(column).to_pylist() if a)

    def result(self) -> pa.Table:
        if self._rows.num_rows == 0:  # a result without rows has no chunks, which Arrow cannot concatenate
            return LOGGED_SCHEMA.empty_table()
        return self._rows.select(LOGGED_SCHEMA.names).cast(LOGGED_SCHEMA)

    def paths(self) -> pa.Table:
        """Each packet-level address that differs from its edge's end, as a path with the other end unknown."""
        if PACKET_LISTS[0] not in self._rows.column_names:
            return PACKET_SCHEMA.empty_table()
        keys = [name for name in PACKET_SCHEMA.names if name not in ("pkt_src", "pkt_dst")]
        parts = []
        for column, (here, other) in zip(PACKET_LISTS, (("pkt_src", "pkt_dst"), ("pkt_dst", "pkt_src")), strict=True):
            lists = self._rows[column]
            rows = pc.list_parent_indices(lists)
            part = self._rows.select(keys).take(rows)
            parts.append(
                part.append_column(here, pc.list_flatten(lists)).append_column(
                    other, pa.nulls(part.num_rows, pa.string())
                )
            )
        return pa.concat_tables(part.select(PACKET_SCHEMA.names) for part in parts).cast(PACKET_SCHEMA)

    def interfaces(self) -> pa.Table:
        return INTERFACE_SCHEMA.empty_table()


def batch_of(rows: pa.Table, source_id: str, digest: str, naming: Naming) -> FileBatch:
    """The slice's rows (row_schema) named, pseudonymized and keyed like a file's."""
    stats = ParseStats()
    stats.records = pc.sum(rows["count"], min_count=0).as_py()
    edges, addresses = identified(Summed(rows), naming, stats)
    return FileBatch(source_id, digest, edges, addresses, stats)
