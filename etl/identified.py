"""A file's edges as the graph shows them: each real address replaced by its identity, in Arrow.

Naming costs Python per address, so it runs once over the file's distinct addresses (with the network
that logged them, etl/networks.py); the edges take
its answers by position (`index_in`, `take`) and never leave Arrow here. A file of a busy
internet-facing VPC has tens of thousands of distinct edges: per-edge Python is what made it slow.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from etl.aggregate import CONTEXT_KEYS, EDGE_KEYS, EDGE_SCHEMA, INTERFACE_FACTS, merge
from etl.batch import ADDRESS_SCHEMA, FLOW_SCHEMA
from etl.identify import IDENTITY_SCHEMA, Interface, Naming
from etl.parse import ParseStats

_VALID_ONLY = pc.CountOptions(mode="only_valid")
_NO_ADDRESS = pa.scalar(None, pa.string())
_SEPARATOR = "\x1f"  # in no address, VPC or account id


class Aggregated(Protocol):
    """Records summed into edges: an EdgeAccumulator's, or edge rows an engine summed (etl/athena)."""

    @property
    def aws_services(self) -> Set[str]: ...

    def result(self) -> pa.Table: ...  # aggregate.LOGGED_SCHEMA

    def paths(self) -> pa.Table: ...  # aggregate.PACKET_SCHEMA

    def interfaces(self) -> pa.Table: ...  # aggregate.INTERFACE_SCHEMA


def identified(accumulator: Aggregated, naming: Naming, stats: ParseStats) -> tuple[pa.Table, pa.Table]:
    """Edges (batch.FLOW_SCHEMA) and their ends (batch.ADDRESS_SCHEMA): named, classified, pseudonymized.

    An address is identified with the network of the interface that logged it and the era of the
    record: each distinct (address, vpc, account, era) is named once, and the edges find theirs by
    position. An edge whose end
    is not a valid IP (the parser checks only the shape) is dropped and counted."""
    edges, paths = accumulator.result(), accumulator.paths()
    seen = _distinct_ends([(edges, ("src", "dst")), (paths, ("src", "dst", "pkt_src", "pkt_dst"))])
    index = _lookup(seen, "address")
    who = naming.identities(
        seen["address"].to_pylist(),
        accumulator.aws_services,
        list(zip(*(seen[name].to_pylist() for name in CONTEXT_KEYS), strict=True)),
        _logging_interfaces(accumulator.interfaces(), index),
    )
    src, dst = (pc.index_in(_lookup(edges, end), value_set=index) for end in ("src", "dst"))
    valid = pc.and_(who["key"].take(src).is_valid(), who["key"].take(dst).is_valid())
    if not pc.all(valid, min_count=0).as_py():  # min_count=0: a file without edges is all valid
        dropped = pc.sum(edges["count"].filter(pc.invert(valid))).as_py()
        stats.malformed["address is not a valid IP"] += dropped
        stats.records -= dropped
        edges, src, dst = edges.filter(valid), src.filter(valid), dst.filter(valid)
    addresses = _addresses(edges, who, src, dst)
    several_contexts = edges.select(list(CONTEXT_KEYS)).group_by(list(CONTEXT_KEYS)).aggregate([]).num_rows > 1
    edges = edges.set_column(0, "src", who["key"].take(src)).set_column(1, "dst", who["key"].take(dst))
    edges = edges.select(EDGE_SCHEMA.names)
    # Edges whose ends fell into the same prefixes, or met the same address from two networks or eras,
    # are one edge now.
    if naming.folding or several_contexts:
        edges = merge([edges])
    # One buffer per column: a worker pickles the whole buffers behind a slice or a chunk.
    return _with_packet_addresses(edges, paths, index, who).combine_chunks(), addresses


def _logging_interfaces(logging: pa.Table, index: pa.Array) -> list[Interface] | None:
    """For each address of `index`, its first logging interface's facts; None when the records tell
    of no interface (versions 2 to 4 without az-id)."""
    if logging.num_rows == 0:
        return None
    at = pc.index_in(index, value_set=_lookup(logging, "address"))
    return [
        Interface(**dict(zip(INTERFACE_FACTS, facts, strict=True)))
        for facts in zip(*(logging[f].take(at).to_pylist() for f in INTERFACE_FACTS), strict=True)
    ]


def _lookup(table: pa.Table, address: str) -> pa.Array:
    """Each row's (address, vpc, account, era) as one string, for `index_in`."""
    parts = [table[address], *(pc.fill_null(pc.cast(table[name], pa.string()), "") for name in CONTEXT_KEYS)]
    return pc.binary_join_element_wise(*parts, _SEPARATOR)


def _distinct_ends(tables: list[tuple[pa.Table, tuple[str, ...]]]) -> pa.Table:
    """The distinct (address, vpc, account, era) at the named address columns of the tables."""
    ends = pa.concat_tables(
        pa.table({"address": table[column], **{name: table[name] for name in CONTEXT_KEYS}})
        for table, columns in tables
        for column in columns
    )
    ends = ends.filter(pc.is_valid(ends["address"]))
    return ends.group_by(["address", *CONTEXT_KEYS], use_threads=False).aggregate([]).combine_chunks()


def _addresses(edges: pa.Table, who: pa.Table, src: pa.Array, dst: pa.Array) -> pa.Table:
    """Each address at either end of an edge, with the first and last time it was seen. Grouped by
    its row in `who`; two rows (one address logged from two networks, a public one say) that
    identify the same node are grouped again by key."""
    seen = pa.table(
        {
            "at": pa.chunked_array([*_chunks(src), *_chunks(dst)], pa.int32()),
            "first_seen": pa.chunked_array([*edges["first_seen"].chunks] * 2),
            "last_seen": pa.chunked_array([*edges["last_seen"].chunks] * 2),
        }
    )
    times = seen.group_by("at", use_threads=False).aggregate([("first_seen", "min"), ("last_seen", "max")])
    rows = who.take(times["at"])
    rows = rows.append_column("first_seen", times["first_seen_min"]).append_column("last_seen", times["last_seen_max"])
    if pc.count_distinct(rows["key"]).as_py() < rows.num_rows:
        rows = rows.group_by(IDENTITY_SCHEMA.names, use_threads=False).aggregate(
            [("first_seen", "min"), ("last_seen", "max")]
        )
        rows = rows.rename_columns([*IDENTITY_SCHEMA.names, "first_seen", "last_seen"])
    return rows.select(ADDRESS_SCHEMA.names).cast(ADDRESS_SCHEMA)


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    # Not pa.chunked_array([column]): given a ChunkedArray, that converts it value by value in Python
    # (a third of a second for a file's 90k edges).
    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


def _with_packet_addresses(edges: pa.Table, paths: pa.Table, index: pa.Array, who: pa.Table) -> pa.Table:
    """The edges with, for each, the distinct packet-level addresses that differ from its own ends
    (null when none do), as ids."""
    if paths.num_rows == 0:
        nulls = pa.nulls(edges.num_rows, FLOW_SCHEMA.field("pkt_srcaddrs").type)
        return edges.append_column("pkt_srcaddrs", nulls).append_column("pkt_dstaddrs", nulls)

    def at(name: str) -> pa.Array:
        return pc.index_in(_lookup(paths, name), value_set=index)

    def differing(packet: str, interface: str) -> pa.ChunkedArray:
        differs = pc.fill_null(pc.not_equal(paths[packet], paths[interface]), False)
        return pc.if_else(differs, who["id"].take(at(packet)), _NO_ADDRESS)

    keyed = pa.table(
        {"src": who["key"].take(at("src")), "dst": who["key"].take(at("dst")), **{k: paths[k] for k in EDGE_KEYS[2:]},
         "pkt_srcaddrs": differing("pkt_src", "src"), "pkt_dstaddrs": differing("pkt_dst", "dst")}
    )  # fmt: skip
    lists = keyed.group_by(list(EDGE_KEYS), use_threads=False).aggregate(
        [("pkt_srcaddrs", "distinct", _VALID_ONLY), ("pkt_dstaddrs", "distinct", _VALID_ONLY)]
    )
    lists = lists.select([*EDGE_KEYS, "pkt_srcaddrs_distinct", "pkt_dstaddrs_distinct"])
    lists = lists.rename_columns([*EDGE_KEYS, "pkt_srcaddrs", "pkt_dstaddrs"])
    # Acero joins no list columns: the join finds each edge's row of `lists`, `take` brings it.
    keys = lists.select(list(EDGE_KEYS)).append_column("at", pa.array(range(lists.num_rows), pa.int64()))
    joined = edges.join(keys, keys=list(EDGE_KEYS), join_type="left outer", use_threads=False)
    for name in ("pkt_srcaddrs", "pkt_dstaddrs"):
        found = lists[name].take(joined["at"])
        joined = joined.append_column(name, pc.if_else(pc.equal(pc.list_value_length(found), 0), None, found))
    return joined.select(FLOW_SCHEMA.names).cast(FLOW_SCHEMA)
