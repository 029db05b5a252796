"""Flow records to edge rows: one row per (src, dst, service port, protocol, action) and network.

The service port is the lower of the two ports: a request goes to the server's (low, listening)
port from an ephemeral one, a reply comes back from it, so both directions of one conversation
keep one port and replies do not fan out into one edge per ephemeral port.

The network is where the interface that logged the record lives (its `vpc-id` and `account-id`):
what tells 10.0.3.30 of one VPC from 10.0.3.30 of another (etl/networks.py). With an inventory whose
addresses changed hands, the era is which of its holders' times the record started in. They ride along
as more key columns (CONTEXT_KEYS) until the addresses are identified; the edge key no longer needs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.buckets import DAY

EDGE_KEYS = ("src", "dst", "port", "protocol", "action")
EDGE_SCHEMA = pa.schema(
    [
        ("src", pa.string()),
        ("dst", pa.string()),
        ("port", pa.int64()),
        ("protocol", pa.int64()),
        ("action", pa.string()),
        ("bucket", pa.int64()),  # the start of the time bucket (Context.bucket seconds) the records began in
        ("count", pa.int64()),
        ("packets", pa.int64()),
        ("bytes", pa.int64()),
        ("requests", pa.int64()),
        ("replies", pa.int64()),
        ("first_seen", pa.int64()),
        ("last_seen", pa.int64()),
    ]
)
# The logging interface's vpc-id and account-id, and the era: the index of the first of the inventory's
# switch times (KnownIPs.switch_times) after the record's start; null without any.
CONTEXT_KEYS = ("vpc", "account", "era")
LOGGED_KEYS = (*EDGE_KEYS, "bucket", *CONTEXT_KEYS)
LOGGED_SCHEMA = pa.schema([*EDGE_SCHEMA, ("vpc", pa.string()), ("account", pa.string()), ("era", pa.int64())])
# What a record says of the interface that logged it: its id, zone and subnet, and (version 7) the ECS
# task it belongs to.
INTERFACE_FIELDS = {"eni": "interface-id", "az": "az-id", "subnet": "subnet-id", "ecs_service": "ecs-service-name",
                    "ecs_task": "ecs-task-id", "ecs_cluster": "ecs-cluster-name"}  # fmt: skip
INTERFACE_FACTS = tuple(INTERFACE_FIELDS)
INTERFACE_SCHEMA = pa.schema(
    [
        ("address", pa.string()),
        *(LOGGED_SCHEMA.field(k) for k in CONTEXT_KEYS),
        *((name, pa.string()) for name in INTERFACE_FACTS),
    ]
)
ENDS_SCHEMA = INTERFACE_SCHEMA.append(pa.field("records", pa.int64()))
_NO_TEXT = pa.scalar(None, pa.string())
PACKET_SCHEMA = pa.schema(
    [*(LOGGED_SCHEMA.field(k) for k in (*EDGE_KEYS, *CONTEXT_KEYS)), ("pkt_src", pa.string()), ("pkt_dst", pa.string())]
)
# The record fields edges are made of: a load reads no others.
RECORD_FIELDS = frozenset((
    "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action",
    "log-status", "pkt-srcaddr", "pkt-dstaddr", "pkt-src-aws-service", "pkt-dst-aws-service",
    "vpc-id", "account-id", "flow-direction", "interface-id", "az-id", "subnet-id", "ecs-service-name",
    "ecs-task-id", "ecs-cluster-name",
))  # fmt: skip
# MERGE cannot match on a null property, so an absent field becomes an explicit "unknown".
UNKNOWN_NUMBER = -1
UNKNOWN_ACTION = "-"
# What an edge row sums over its flows (the store adds a file's sums to an edge's). `requests` counts
# the records whose destination port is the service port (a client's request, as the server's side
# or the client's logs it), `replies` those whose source port is (the server's answer); a record
# with both ports equal is both, one without ports neither.
SUMS = ("count", "packets", "bytes", "requests", "replies")


def _column(table: pa.Table, name: str, type_: pa.DataType) -> pa.ChunkedArray | pa.Array:
    if name in table.column_names:
        return table[name]
    return pa.nulls(table.num_rows, type_)


def service_port(srcport: pa.ChunkedArray | pa.Array, dstport: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The lower port of each pair; the known one when the other is missing."""
    return pc.fill_null(pc.min_element_wise(srcport, dstport, skip_nulls=True), UNKNOWN_NUMBER)


def _is_traffic(records: pa.Table) -> pa.Array | pa.ChunkedArray:
    """log-status OK: the record describes traffic (NODATA and SKIPDATA records do not)."""
    if "log-status" in records.column_names:
        return pc.equal(records["log-status"], "OK")
    return pa.repeat(True, records.num_rows)


@dataclass(frozen=True)
class Context:
    """What a file's records are keyed by besides their edge: `account` stands in for a record's
    missing account-id (the account folder its file came from), `switches` are the inventory's."""

    account: str | None = None
    switches: Sequence[int] = ()
    bucket: int = DAY  # seconds: an edge's counts are kept per bucket of this length (the store's choice)


_NO_CONTEXT = Context()


def _keys(
    records: pa.Table, packet: bool = False, context: Context = _NO_CONTEXT
) -> dict[str, pa.ChunkedArray | pa.Array]:
    """An edge's key columns but its bucket (EDGE_KEYS and CONTEXT_KEYS); with `packet`, its ends are
    the packet's addresses where the record has them (the client behind a NAT gateway, the far end
    through a transit gateway)."""
    src, dst = _column(records, "srcaddr", pa.string()), _column(records, "dstaddr", pa.string())
    if packet:
        src = pc.coalesce(_column(records, "pkt-srcaddr", pa.string()), src)
        dst = pc.coalesce(_column(records, "pkt-dstaddr", pa.string()), dst)
    return {
        "src": src,
        "dst": dst,
        "port": service_port(_column(records, "srcport", pa.int64()), _column(records, "dstport", pa.int64())),
        "protocol": pc.fill_null(_column(records, "protocol", pa.int64()), UNKNOWN_NUMBER),
        "action": pc.fill_null(_column(records, "action", pa.string()), UNKNOWN_ACTION),
        **_context(records, context),
    }


def _bucket(start: pa.ChunkedArray | pa.Array, seconds: int) -> pa.ChunkedArray | pa.Array:
    """The start of the bucket each record began in (flow-log times are positive: division floors)."""
    return pc.multiply(pc.divide(start, seconds), seconds)


def _context(records: pa.Table, context: Context) -> dict[str, pa.ChunkedArray | pa.Array]:
    return {
        "vpc": _column(records, "vpc-id", pa.string()),
        "account": pc.coalesce(_column(records, "account-id", pa.string()), pa.scalar(context.account, pa.string())),
        "era": _era(records, context.switches),
    }


def interfaces(records: pa.Table, context: Context = _NO_CONTEXT) -> pa.Table:
    """Distinct (address, CONTEXT_KEYS, INTERFACE_FACTS) of the interface that logged each record where
    the record says which end that is (flow-direction, version 5: ingress, its destination; egress, its
    source): the interface's id, zone, subnet and ECS task belong to that address."""
    if "flow-direction" not in records.column_names:
        return INTERFACE_SCHEMA.empty_table()
    direction = records["flow-direction"]
    address = pc.if_else(
        pc.equal(direction, "ingress"),
        _column(records, "dstaddr", pa.string()),
        pc.if_else(pc.equal(direction, "egress"), _column(records, "srcaddr", pa.string()), _NO_TEXT),
    )
    table = pa.table(
        {"address": address, **_context(records, context),
         **{fact: _column(records, field, pa.string()) for fact, field in INTERFACE_FIELDS.items()}},
        schema=INTERFACE_SCHEMA,
    )  # fmt: skip
    return _distinct_rows(table.filter(pc.is_valid(table["address"])))


def interface_ends(records: pa.Table, context: Context = _NO_CONTEXT) -> pa.Table:
    """Records that do not say which end logged them, but say where (az-id, version 4, without
    flow-direction): each end with its interface's facts, counted (INTERFACE_SCHEMA and `records`).
    `own_addresses` tells the interface's address from them."""
    if "flow-direction" in records.column_names or "az-id" not in records.column_names:
        return ENDS_SCHEMA.empty_table()
    facts = {fact: _column(records, field, pa.string()) for fact, field in INTERFACE_FIELDS.items()}
    one = pa.repeat(pa.scalar(1, pa.int64()), records.num_rows)
    ends = pa.concat_tables(
        pa.table({"address": _column(records, end, pa.string()), **_context(records, context), **facts,
                  "records": one}, schema=ENDS_SCHEMA)
        for end in ("srcaddr", "dstaddr")
    )  # fmt: skip
    return _summed(ends)


def _summed(ends: pa.Table) -> pa.Table:
    summed = ends.group_by(INTERFACE_SCHEMA.names, use_threads=False).aggregate([("records", "sum")])
    return summed.select([*INTERFACE_SCHEMA.names, "records_sum"]).rename_columns(ENDS_SCHEMA.names).cast(ENDS_SCHEMA)


def own_addresses(ends: pa.Table) -> pa.Table:
    """Of `interface_ends`, the rows of each interface's own address: the one end present in every
    record the interface logged (the other ends are its peers). An interface with several addresses
    in use has none, and says nothing; an address two interfaces would claim (one that talks to
    nothing else, say) is left to neither."""
    pairs = ends.group_by(["eni", "address"], use_threads=False).aggregate([("records", "sum")])
    per_eni = ends.group_by("eni", use_threads=False).aggregate([("records", "sum")])
    totals = pa.table({"eni": per_eni["eni"], "total": pc.divide(per_eni["records_sum"], 2)})  # two ends a record
    own = pairs.join(totals, "eni", use_threads=False).filter(pc.field("records_sum") == pc.field("total"))
    claims = own.group_by("address", use_threads=False).aggregate([([], "count_all")])
    own = own.join(claims, "address", use_threads=False).filter(pc.field("count_all") == 1)
    chosen = ends.join(own.select(["eni", "address"]), ["eni", "address"], join_type="inner", use_threads=False)
    return _distinct_rows(chosen.select(INTERFACE_SCHEMA.names).cast(INTERFACE_SCHEMA))


def _distinct_rows(table: pa.Table) -> pa.Table:
    return table.group_by(table.schema.names, use_threads=False).aggregate([]).select(table.schema.names)


def _era(records: pa.Table, switches: Sequence[int]) -> pa.Array:
    if not switches:
        return pa.nulls(records.num_rows, pa.int64())
    starts = pc.fill_null(_column(records, "start", pa.int64()), 0).to_numpy()
    return pa.array(np.searchsorted(np.asarray(switches), starts, side="right"), pa.int64())


_HAS_ENDS = pc.field("src").is_valid() & pc.field("dst").is_valid()
_TOTALS = pc.ScalarAggregateOptions(min_count=0)  # a sum over missing values is 0, not null


def edges(records: pa.Table, packet: bool = False, context: Context = _NO_CONTEXT) -> pa.Table:
    """The records that describe traffic (log-status OK, both addresses known) summed into edge rows
    of LOGGED_SCHEMA; `packet` and `context` as `_keys` takes them.

    Grouping runs over every record with "is it traffic" as one more key, and the groups that are
    not are dropped after: far fewer rows to filter than the records themselves."""
    keyed = pa.table(
        {
            **_keys(records, packet, context),
            "bucket": _bucket(_column(records, "start", pa.int64()), context.bucket),
            "traffic": _is_traffic(records),
            "packets": _column(records, "packets", pa.int64()),
            "bytes": _column(records, "bytes", pa.int64()),
            **_directions(records),
            "first_seen": _column(records, "start", pa.int64()),
            "last_seen": _column(records, "end", pa.int64()),
        }
    )
    # A block of records mostly comes from one network and one time bucket: a key column with one value
    # is left out of the grouping (two string keys cost a tenth of a dry run) and put back as a constant.
    constant = {
        name: value for name in ("bucket", *CONTEXT_KEYS) if (value := _only_value(keyed[name])) is not _SEVERAL
    }
    grouped = keyed.group_by([k for k in (*LOGGED_KEYS, "traffic") if k not in constant], use_threads=False).aggregate(
        [
            ([], "count_all"),
            ("packets", "sum", _TOTALS),
            ("bytes", "sum", _TOTALS),
            ("requests", "sum", _TOTALS),
            ("replies", "sum", _TOTALS),
            ("first_seen", "min"),
            ("last_seen", "max"),
        ]
    )
    grouped = grouped.filter(pc.field("traffic") & _HAS_ENDS)
    for name, value in constant.items():
        grouped = grouped.append_column(
            name, pa.repeat(pa.scalar(value, LOGGED_SCHEMA.field(name).type), grouped.num_rows)
        )
    return _renamed(grouped).select(LOGGED_SCHEMA.names).cast(LOGGED_SCHEMA)


_SEVERAL = object()


def _only_value(column: pa.ChunkedArray | pa.Array) -> object:
    """The one value of a column (None when all are null), or _SEVERAL."""
    if column.null_count == len(column):
        return None
    if column.null_count:
        return _SEVERAL
    bounds = pc.min_max(column)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return low if low == high else _SEVERAL


def _directions(records: pa.Table) -> dict[str, pa.Array | pa.ChunkedArray]:
    """Per record, 1 where the service port is its destination port (`requests`), its source port
    (`replies`); the service port is the lower, so a port equal to it is one."""
    srcport, dstport = _column(records, "srcport", pa.int64()), _column(records, "dstport", pa.int64())
    port = pc.min_element_wise(srcport, dstport, skip_nulls=True)
    return {
        name: pc.cast(pc.fill_null(pc.equal(side, port), False), pa.int64())
        for name, side in (("requests", dstport), ("replies", srcport))
    }


def _renamed(grouped: pa.Table) -> pa.Table:
    names = {f"{name}_sum": name for name in SUMS} | {
        "count_all": "count",
        "first_seen_min": "first_seen",
        "last_seen_max": "last_seen",
    }
    return grouped.rename_columns([names.get(c, c) for c in grouped.column_names])


def _has_packet_addresses(records: pa.Table) -> bool:
    return "pkt-srcaddr" in records.column_names or "pkt-dstaddr" in records.column_names


def packet_differs(records: pa.Table) -> pa.Array | pa.ChunkedArray:
    """Whether each record's packet addresses are not its interface's (NAT, transit gateway)."""
    src, dst = _column(records, "srcaddr", pa.string()), _column(records, "dstaddr", pa.string())
    pkt_src = _column(records, "pkt-srcaddr", pa.string())
    pkt_dst = _column(records, "pkt-dstaddr", pa.string())
    return pc.or_(pc.fill_null(pc.not_equal(pkt_src, src), False), pc.fill_null(pc.not_equal(pkt_dst, dst), False))


def packet_paths(records: pa.Table, context: Context = _NO_CONTEXT) -> pa.Table:
    """Distinct (edge key, pkt_src, pkt_dst) where the packet's addresses are not the interface's:
    what tells NAT and transit traffic apart (pkt-srcaddr/pkt-dstaddr, versions 3 and later)."""
    if not _has_packet_addresses(records):
        return PACKET_SCHEMA.empty_table()
    traffic = records.filter(_is_traffic(records))
    return _paths(traffic, packet_differs(traffic), context)


def _paths(traffic: pa.Table, differs: pa.Array | pa.ChunkedArray, context: Context) -> pa.Table:
    table = pa.table(
        {
            **_keys(traffic, context=context),
            "pkt_src": _column(traffic, "pkt-srcaddr", pa.string()),
            "pkt_dst": _column(traffic, "pkt-dstaddr", pa.string()),
        },
        schema=PACKET_SCHEMA,
    )
    return _distinct_rows(table.filter(differs).filter(_HAS_ENDS))


def aws_service_addresses(records: pa.Table) -> set[str]:
    """Addresses the records say belong to an AWS service (pkt-src/dst-aws-service, version 5)."""
    found: set[str] = set()
    for service, packet, interface in (
        ("pkt-src-aws-service", "pkt-srcaddr", "srcaddr"),
        ("pkt-dst-aws-service", "pkt-dstaddr", "dstaddr"),
    ):
        if service in records.column_names:
            flagged = records.filter(pc.is_valid(records[service]))
            address = pc.coalesce(_column(flagged, packet, pa.string()), _column(flagged, interface, pa.string()))
            found.update(v for v in pc.unique(address).to_pylist() if v is not None)
    return found


def merge(tables: Iterable[pa.Table], schema: pa.Schema = EDGE_SCHEMA) -> pa.Table:
    """Sum edge tables that may repeat keys: counts, packets, bytes add; first/last seen widen. The
    key columns are those of `schema` that are not sums or times (EDGE_KEYS, or LOGGED_KEYS)."""
    table = pa.concat_tables([t.select(schema.names) for t in tables])
    if table.num_rows == 0:
        return schema.empty_table()
    keys = [name for name in schema.names if name not in (*SUMS, "first_seen", "last_seen")]
    grouped = table.group_by(keys, use_threads=False).aggregate(
        [(name, "sum") for name in SUMS] + [("first_seen", "min"), ("last_seen", "max")]
    )
    return _renamed(grouped).select(schema.names)


class EdgeAccumulator:
    """Merges a stream of record tables with memory bounded by the number of distinct edges.

    With `packet`, edges join the packet's addresses (`_keys`) and carry no packet paths: their ends
    are those paths. Either way `packet_differs` counts the traffic records whose two pairs differ."""

    def __init__(self, flush_rows: int = 2_000_000, *, packet: bool = False, context: Context = _NO_CONTEXT) -> None:
        self._packet = packet
        self._context = context
        self.packet_differs = 0
        self._merged = LOGGED_SCHEMA.empty_table()
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._flush_rows = flush_rows
        self._paths = PACKET_SCHEMA.empty_table()
        self._interfaces = INTERFACE_SCHEMA.empty_table()
        self._ends = ENDS_SCHEMA.empty_table()
        self.aws_services: set[str] = set()

    def add(self, records: pa.Table) -> None:
        summed = edges(records, self._packet, self._context)
        self._pending.append(summed)
        self._pending_rows += summed.num_rows
        if self._pending_rows >= self._flush_rows:
            self._fold()
        if _has_packet_addresses(records):
            traffic = records.filter(_is_traffic(records))  # once, for the count and the paths
            differs = packet_differs(traffic)
            self.packet_differs += pc.sum(differs, min_count=0).as_py()
            if not self._packet and (paths := _paths(traffic, differs, self._context)).num_rows:
                self._paths = _distinct_rows(pa.concat_tables([self._paths, paths]))
        self.aws_services |= aws_service_addresses(records)
        if (logging := interfaces(records, self._context)).num_rows:
            self._interfaces = _distinct_rows(pa.concat_tables([self._interfaces, logging]))
        if (ends := interface_ends(records, self._context)).num_rows:
            self._ends = _summed(pa.concat_tables([self._ends, ends]))

    def _fold(self) -> None:
        self._merged = merge([self._merged, *self._pending], LOGGED_SCHEMA)
        self._pending, self._pending_rows = [], 0

    def result(self) -> pa.Table:
        self._fold()
        return self._merged

    def interfaces(self) -> pa.Table:
        """Distinct (address, context, facts) of the logging interfaces (INTERFACE_SCHEMA): where the
        records say which end logged them, else where one end is in all of an interface's records."""
        if self._ends.num_rows == 0:
            return self._interfaces
        return _distinct_rows(pa.concat_tables([self._interfaces, own_addresses(self._ends)]))

    def paths(self) -> pa.Table:
        """Distinct (edge key, pkt_src, pkt_dst) where a packet address differs from the edge's (PACKET_SCHEMA)."""
        return self._paths
