"""A slice's edge rows, as Athena summed them, made into the batch the store writes: named as a file's are."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from etl.aggregate import INTERFACE_SCHEMA, LOGGED_SCHEMA, PACKET_SCHEMA
from etl.athena.sql import KEYS, PACKET_LISTS, SUMS
from etl.batch import FileBatch
from etl.identified import identified
from etl.identify import Naming
from etl.parse import ParseStats

_TYPES = {"src": pa.string(), "dst": pa.string(), "action": pa.string(), "vpc": pa.string(), "account": pa.string()}
# The edge rows of edge_sql, with and without the packet-level lists.
ROW_SCHEMA = pa.schema([(name, _TYPES.get(name, pa.int64())) for name in (*KEYS, *SUMS)])
LISTS_SCHEMA = pa.schema([*ROW_SCHEMA, *((name, pa.list_(pa.string())) for name in PACKET_LISTS)])


class Summed:
    """Edge rows summed elsewhere, as `identified` reads an EdgeAccumulator's. The query brings no
    interface facts (zone, subnet, ECS task) and no AWS-service flags: their addresses are named from
    the inventory and known-ips alone."""

    aws_services: frozenset[str] = frozenset()

    def __init__(self, rows: pa.Table) -> None:
        self._rows = rows

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
    """The slice's rows (ROW_SCHEMA or LISTS_SCHEMA) named, pseudonymized and keyed like a file's."""
    stats = ParseStats()
    stats.records = pc.sum(rows["count"], min_count=0).as_py()
    edges, addresses = identified(Summed(rows), naming, stats)
    return FileBatch(source_id, digest, edges, addresses, stats)
