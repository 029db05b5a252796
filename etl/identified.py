"""A file's edges as the graph shows them: each real address replaced by its identity, in Arrow.

Naming costs Python per address, so it runs once over the file's distinct addresses; the edges take
its answers by position (`index_in`, `take`) and never leave Arrow here. A file of a busy
internet-facing VPC has tens of thousands of distinct edges: per-edge Python is what made it slow.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from etl.aggregate import EDGE_KEYS, EdgeAccumulator, merge
from etl.batch import ADDRESS_SCHEMA, FLOW_SCHEMA
from etl.identify import IDENTITY_SCHEMA, Naming
from etl.parse import ParseStats

_VALID_ONLY = pc.CountOptions(mode="only_valid")
_NO_ADDRESS = pa.scalar(None, pa.string())


def identified(accumulator: EdgeAccumulator, naming: Naming, stats: ParseStats) -> tuple[pa.Table, pa.Table]:
    """Edges (batch.FLOW_SCHEMA) and their ends (batch.ADDRESS_SCHEMA): named, classified, pseudonymized.

    An edge whose end is not a valid IP (the parser checks only the shape) is dropped and counted."""
    edges, paths = accumulator.result(), accumulator.paths()
    real = pc.unique(pa.chunked_array([*_chunks(edges, "src", "dst"), *_chunks(paths, "pkt_src", "pkt_dst")]))
    real = real.drop_null()
    who = naming.identities(real.to_pylist(), accumulator.aws_services)
    src, dst = (pc.index_in(edges[end], value_set=real) for end in ("src", "dst"))
    valid = pc.and_(who["id"].take(src).is_valid(), who["id"].take(dst).is_valid())
    if not pc.all(valid, min_count=0).as_py():  # min_count=0: a file without edges is all valid
        dropped = pc.sum(edges["count"].filter(pc.invert(valid))).as_py()
        stats.malformed["address is not a valid IP"] += dropped
        stats.records -= dropped
        edges, src, dst = edges.filter(valid), src.filter(valid), dst.filter(valid)
    addresses = _addresses(edges, who, src, dst)
    edges = edges.set_column(0, "src", who["id"].take(src)).set_column(1, "dst", who["id"].take(dst))
    if naming.folding:  # edges whose ends fell into the same prefixes are one edge now
        edges = merge([edges])
    # One buffer per column: a worker pickles the whole buffers behind a slice or a chunk.
    return _with_packet_addresses(edges, paths, real, who).combine_chunks(), addresses


def _chunks(table: pa.Table, *names: str) -> list[pa.Array]:
    return [chunk for name in names for chunk in table[name].chunks]


def _addresses(edges: pa.Table, who: pa.Table, src: pa.Array, dst: pa.Array) -> pa.Table:
    """Each address at either end of an edge, with the first and last time it was seen."""
    seen = edges.select(["first_seen", "last_seen"]).columns
    ends = pa.concat_tables(
        [pa.Table.from_arrays([*who.take(at).columns, *seen], schema=ADDRESS_SCHEMA) for at in (src, dst)]
    )
    grouped = ends.group_by(IDENTITY_SCHEMA.names, use_threads=False).aggregate(
        [("first_seen", "min"), ("last_seen", "max")]
    )
    grouped = grouped.select([*IDENTITY_SCHEMA.names, "first_seen_min", "last_seen_max"])
    return grouped.rename_columns(ADDRESS_SCHEMA.names).cast(ADDRESS_SCHEMA)


def _with_packet_addresses(edges: pa.Table, paths: pa.Table, real: pa.Array, who: pa.Table) -> pa.Table:
    """The edges with, for each, the distinct packet-level addresses that differ from its own ends
    (null when none do), as ids."""
    if paths.num_rows == 0:
        nulls = pa.nulls(edges.num_rows, FLOW_SCHEMA.field("pkt_srcaddrs").type)
        return edges.append_column("pkt_srcaddrs", nulls).append_column("pkt_dstaddrs", nulls)

    def ids(name: str) -> pa.ChunkedArray:
        return who["id"].take(pc.index_in(paths[name], value_set=real))

    def differing(packet: str, interface: str) -> pa.ChunkedArray:
        differs = pc.fill_null(pc.not_equal(paths[packet], paths[interface]), False)
        return pc.if_else(differs, ids(packet), _NO_ADDRESS)

    keyed = pa.table(
        {"src": ids("src"), "dst": ids("dst"), **{k: paths[k] for k in EDGE_KEYS[2:]},
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
