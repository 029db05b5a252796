"""The query that sums one slice of a flow-log table into edge rows, as Athena (Trino) and DuckDB both run it.

It is the load's aggregation (etl/aggregate.py) in SQL: the same key (the two addresses, the service
port, protocol and action, the time bucket, and the network and era the addresses are named in), the
same sums, and only records of traffic (log_status OK, both addresses present). Columns are Athena's
names. What the two engines differ on is avoided: Trino's `least` is null when either port is, so the
known port is taken explicitly; `/` divides integers in Trino and not in DuckDB, so a bucket's start
is `start - start % seconds`; text tables give a field AWS wrote as `-` as the string "-", so every
string column is read through NULLIF.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from etl.aggregate import UNKNOWN_ACTION, UNKNOWN_NUMBER
from etl.athena.slices import GRAIN, Layout, Slice
from etl.buckets import DAY
from etl.errors import UsageError

# The columns of AWS's CREATE TABLE statements: the default format's for text tables, versions 2 to 5
# for Parquet. A table made for a custom format says its own (`--columns`).
DEFAULT_COLUMNS = ("version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
                   "packets", "bytes", "start", "end", "action", "log_status")  # fmt: skip
VERSION_5_COLUMNS = (*DEFAULT_COLUMNS, "vpc_id", "subnet_id", "instance_id", "tcp_flags", "type", "pkt_srcaddr",
                     "pkt_dstaddr", "region", "az_id", "sublocation_type", "sublocation_id", "pkt_src_aws_service",
                     "pkt_dst_aws_service", "flow_direction", "traffic_path")  # fmt: skip
LAYOUT_COLUMNS = {Layout.text: DEFAULT_COLUMNS, Layout.parquet: VERSION_5_COLUMNS, Layout.hive: VERSION_5_COLUMNS}
REQUIRED = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action",
            "log_status")  # fmt: skip
# The partition columns that say an object's account and region, per layout; Parquet tables without Hive
# keys hold one account's logs (their location names it), so its records' account_id is filtered.
_ACCOUNT = {Layout.text: "accid", Layout.parquet: "account_id", Layout.hive: "aws-account-id"}
_REGION = {Layout.text: "region", Layout.parquet: "region", Layout.hive: "aws-region"}
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION_NAME = re.compile(r"[a-z]{2}(-[a-z0-9]+)+")
# The edge rows' columns, in order (the packet-level lists come last, when the table has them).
KEYS = ("src", "dst", "port", "protocol", "action", "bucket", "vpc", "account", "era")
SUMS = ("count", "packets", "bytes", "requests", "replies", "first_seen", "last_seen")
PACKET_LISTS = ("pkt_srcaddrs", "pkt_dstaddrs")
# The addresses the records say belong to an AWS service (pkt-src/dst-aws-service, version 5), per edge.
AWS_SERVICE_LISTS = ("aws_srcaddrs", "aws_dstaddrs")


@dataclass(frozen=True)
class Table:
    database: str
    name: str
    layout: Layout
    columns: frozenset[str] = frozenset()  # its data columns; empty: the layout's (LAYOUT_COLUMNS)

    def __post_init__(self) -> None:
        for part in (self.database, self.name):
            if not _NAME.fullmatch(part):
                raise UsageError(f"{part!r} is not an Athena database or table name (letters, digits, _ and -)")
        if not self.columns:
            object.__setattr__(self, "columns", frozenset(LAYOUT_COLUMNS[self.layout]))
        if missing := [name for name in REQUIRED if name not in self.columns]:
            raise UsageError(f"--columns lacks {', '.join(missing)}: edges need them")

    @property
    def packet_level(self) -> bool:
        return {"pkt_srcaddr", "pkt_dstaddr"} <= self.columns

    @property
    def aws_service_flags(self) -> bool:
        return {"pkt_src_aws_service", "pkt_dst_aws_service"} <= self.columns

    def __str__(self) -> str:
        return f"{self.database}.{self.name}"


@dataclass(frozen=True)
class Aggregation:
    """How records become edges besides the table: as the load's options say (etl/pipeline.LoadOptions)."""

    accounts: Collection[str] = ()  # only these accounts' logs (--account)
    regions: Collection[str] = ()  # only these regions' (--aws-region)
    bucket: int = DAY
    switches: Sequence[int] = ()  # the inventory's switch times: a record's era is how many it started at or after
    packet: bool = False  # edges join pkt_srcaddr/pkt_dstaddr where records have them (--addresses packet)

    def __post_init__(self) -> None:
        for account in self.accounts:
            if not _ACCOUNT_ID.fullmatch(account):
                raise UsageError(f"--account takes a 12-digit AWS account id, not {account!r}")
        for region in self.regions:
            if not _REGION_NAME.fullmatch(region):
                raise UsageError(f"--aws-region takes an AWS region name like eu-west-1, not {region!r}")


def list_columns(table: Table, how: Aggregation) -> tuple[str, ...]:
    """The lists an edge row carries after KEYS and SUMS: the packet-level addresses when the table has
    them and edges join the interfaces', the AWS-service addresses when the table flags them."""
    packet = PACKET_LISTS if table.packet_level and not how.packet else ()
    return packet + (AWS_SERVICE_LISTS if table.aws_service_flags else ())


def edge_sql(table: Table, piece: Slice, how: Aggregation = Aggregation()) -> str:
    """The query summing the slice's records of `table` into edge rows (KEYS, SUMS, list_columns)."""
    lists = list_columns(table, how)
    where = " AND ".join(
        [
            _partitions(table.layout, piece),
            *_filters(table.layout, how),
            *_times(piece),
            "log_status = 'OK'",
        ]
    )
    summed = [
        'count(*) AS "count"',
        "coalesce(sum(packets), 0) AS packets",
        "coalesce(sum(bytes), 0) AS bytes",
        "sum(CASE WHEN dstport = service THEN 1 ELSE 0 END) AS requests",
        "sum(CASE WHEN srcport = service THEN 1 ELSE 0 END) AS replies",
        "min(start) AS first_seen",
        'max("end") AS last_seen',
    ]
    if PACKET_LISTS[0] in lists:
        summed += [
            f"array_sort(array_agg(DISTINCT {packet}) FILTER (WHERE {packet} <> {end})) AS {name}"
            for packet, end, name in (("pkt_src", "src", "pkt_srcaddrs"), ("pkt_dst", "dst", "pkt_dstaddrs"))
        ]
    if AWS_SERVICE_LISTS[0] in lists:
        summed += [
            f"array_sort(array_agg(DISTINCT {flagged}) FILTER (WHERE {flagged} IS NOT NULL)) AS {name}"
            for flagged, name in zip(("aws_src", "aws_dst"), AWS_SERVICE_LISTS, strict=True)
        ]
    # A subquery, not WITH: the query runs inside UNLOAD (...), where Athena documents a SELECT.
    return "\n".join(
        [
            "SELECT",
            "  " + ",\n  ".join([*KEYS, *summed]),
            "FROM (",
            "  SELECT",
            "    " + ",\n    ".join(_record_columns(table, how, lists)),
            f"  FROM {_identifier(table.database)}.{_identifier(table.name)}",
            f"  WHERE {where}",
            ") AS records",
            "WHERE src IS NOT NULL AND dst IS NOT NULL",
            f"GROUP BY {', '.join(KEYS)}",
        ]
    )


def fingerprint(sql: str) -> str:
    """What a slice's ledger entry records of its query: another query is another contribution."""
    return "sql:" + hashlib.sha256(sql.encode()).hexdigest()


def _record_columns(table: Table, how: Aggregation, lists: tuple[str, ...]) -> list[str]:
    src, dst = _text("srcaddr"), _text("dstaddr")
    if how.packet and table.packet_level:
        src, dst = f"coalesce({_text('pkt_srcaddr')}, {src})", f"coalesce({_text('pkt_dstaddr')}, {dst})"
    account = _text("account_id") if "account_id" in table.columns else "CAST(NULL AS varchar)"
    if table.layout is not Layout.parquet:  # a record without one is of the account its object is filed under
        account = f"coalesce({account}, {_identifier(_ACCOUNT[table.layout])})"
    era = " + ".join(f"CASE WHEN start >= {moment} THEN 1 ELSE 0 END" for moment in how.switches)
    columns = [
        f"{src} AS src",
        f"{dst} AS dst",
        f"coalesce(least(srcport, dstport), srcport, dstport, {UNKNOWN_NUMBER}) AS port",
        f"coalesce(protocol, {UNKNOWN_NUMBER}) AS protocol",
        f"coalesce({_text('action')}, '{UNKNOWN_ACTION}') AS action",
        f"start - start % {how.bucket} AS bucket",
        f"{_text('vpc_id') if 'vpc_id' in table.columns else 'CAST(NULL AS varchar)'} AS vpc",
        f"{account} AS account",
        f"{era or 'CAST(NULL AS bigint)'} AS era",
        "coalesce(least(srcport, dstport), srcport, dstport) AS service",
        "srcport",
        "dstport",
        "packets",
        "bytes",
        "start",
        '"end"',
    ]
    if PACKET_LISTS[0] in lists:
        columns += [f"{_text('pkt_srcaddr')} AS pkt_src", f"{_text('pkt_dstaddr')} AS pkt_dst"]
    if AWS_SERVICE_LISTS[0] in lists:  # the packet's address where there is one (aggregate.aws_service_addresses)
        for side, name in (("src", "aws_src"), ("dst", "aws_dst")):
            address = _text(f"{side}addr")
            if f"pkt_{side}addr" in table.columns:
                address = f"coalesce({_text(f'pkt_{side}addr')}, {address})"
            columns.append(f"CASE WHEN {_text(f'pkt_{side}_aws_service')} IS NOT NULL THEN {address} END AS {name}")
    return columns


def _text(column: str) -> str:
    return f"nullif({_identifier(column)}, '-')"


def _partitions(layout: Layout, piece: Slice) -> str:
    """The slice's partitions as equalities on the partition columns, which both Athena's pruning
    (projected or catalogued partitions) and DuckDB's use."""
    days: dict[str, list[str]] = {}
    for moment in piece.partitions:
        day, hour = datetime.fromtimestamp(moment, UTC).strftime("%Y/%m/%d %H").split()
        days.setdefault(day, []).append(hour)
    if layout is Layout.text:
        return f'"day" IN ({_values(days)})'
    terms = []
    for day, hours in days.items():
        if layout is Layout.parquet:
            equal = [f'"date" = {_literal(day)}']
        else:
            year, month, date = day.split("/")
            equal = ["\"aws-service\" = 'vpcflowlogs'", *(f'"{name}" = {_literal(value)}'
                     for name, value in (("year", year), ("month", month), ("day", date)))]  # fmt: skip
        if len(hours) < DAY // GRAIN[layout]:
            equal.append(f'"hour" IN ({_values(hours)})')
        terms.append("(" + " AND ".join(equal) + ")")
    return "(" + " OR ".join(terms) + ")"


def _filters(layout: Layout, how: Aggregation) -> list[str]:
    filters = []
    if how.accounts:
        filters.append(f"{_identifier(_ACCOUNT[layout])} IN ({_values(sorted(how.accounts))})")
    if how.regions:
        filters.append(f"{_identifier(_REGION[layout])} IN ({_values(sorted(how.regions))})")
    return filters


def _times(piece: Slice) -> list[str]:
    """The load's window rule (pipeline._in_window): a record without a time is kept."""
    bounds = []
    if piece.lower is not None:
        bounds.append(f'("end" >= {piece.lower} OR "end" IS NULL)')
    if piece.upper is not None:
        bounds.append(f"(start < {piece.upper} OR start IS NULL)")
    return bounds


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _values(values: Collection[str]) -> str:
    return ", ".join(_literal(value) for value in values)
