"""Flow logs laid out as AWS delivers them for each Athena table layout, and DuckDB standing in for Athena.

The records are of real shapes: two accounts whose VPCs use the same private addresses, a NAT gateway
whose records carry the client's packet-level address, traffic to S3 that the records name as an AWS
service's, ICMP without ports, rejected scans, NODATA and
SKIPDATA records with `-` fields, and files holding records that began in the hour (or day) before
the one the file is filed under. DuckDB reads each layout as Athena's table would: a text table's
fields as text and its numbers parsed or NULL (the LazySimpleSerDe), Hive keys as string partition
columns, and catalogued or projected partitions as one branch per partition, which a filter on the
partition columns removes before any file is opened.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from etl.athena.slices import Layout
from etl.athena.sql import VERSION_5_COLUMNS

ACCOUNTS = {"111111111111": "vpc-0aaa", "222222222222": "vpc-0bbb"}
REGION = "eu-west-1"
HOUR = 3600
_INTEGERS = {"version", "srcport", "dstport", "tcp_flags", "traffic_path"}
_BIGINTS = {"protocol", "packets", "bytes", "start", "end"}
TYPES = {name: pa.int32() if name in _INTEGERS else pa.int64() if name in _BIGINTS else pa.string()
         for name in VERSION_5_COLUMNS}  # fmt: skip


@dataclass(frozen=True)
class LogFile:
    account: str
    delivered: int  # the time AWS filed it under (its folder and name)
    records: list[dict[str, object]]


def log_files(first_hour: int, hours: int, per_file: int = 120, seed: int = 3) -> list[LogFile]:
    """One file per account and hour; each record starts up to 20 minutes before its file's hour."""
    rng = random.Random(seed)
    return [
        LogFile(account, hour + 1800, [_record(rng, account, hour) for _ in range(per_file)])
        for hour in range(first_hour, first_hour + hours * HOUR, HOUR)
        for account in ACCOUNTS
    ]


def _record(rng: random.Random, account: str, hour: int) -> dict[str, object]:
    start = hour + rng.randrange(-1200, HOUR - 120)
    record: dict[str, object] = dict.fromkeys(VERSION_5_COLUMNS)
    record |= {"version": 5, "account_id": account, "interface_id": f"eni-{rng.randrange(4):04x}",
               "start": start, "end": start + rng.randrange(0, 120), "vpc_id": ACCOUNTS[account],
               "region": REGION, "az_id": "euw1-az1", "subnet_id": "subnet-01", "flow_direction": "ingress"}  # fmt: skip
    shape = rng.random()
    server = f"10.0.0.{rng.randrange(1, 6)}"  # the same addresses in both accounts
    if shape < 0.04:
        record |= {"log_status": rng.choice(["NODATA", "SKIPDATA"]), "start": start, "end": start + 60}
        return record
    record["log_status"] = "OK"
    if shape < 0.5:  # a client's request or the server's reply, ephemeral port on the client's side
        client, ephemeral = f"10.0.1.{rng.randrange(1, 9)}", rng.randrange(32768, 32800)
        forward = rng.random() < 0.6
        record |= {"srcaddr": client if forward else server, "dstaddr": server if forward else client,
                   "srcport": ephemeral if forward else 5432, "dstport": 5432 if forward else ephemeral,
                   "protocol": 6, "action": "ACCEPT"}  # fmt: skip
    elif shape < 0.75:  # through the NAT gateway: the packet's far end is the internet client
        public = f"198.51.100.{rng.randrange(1, 12)}"
        record |= {"srcaddr": "10.0.9.9", "dstaddr": server, "pkt_srcaddr": public, "pkt_dstaddr": server,
                   "srcport": rng.randrange(40000, 40010), "dstport": 443, "protocol": 6, "action": "ACCEPT",
                   "flow_direction": "ingress"}  # fmt: skip
    elif shape < 0.9:  # a scanner, rejected; sometimes a port AWS did not record
        record |= {"srcaddr": f"203.0.113.{rng.randrange(1, 40)}", "dstaddr": server,
                   "srcport": rng.choice([rng.randrange(1024, 65535), None]), "dstport": rng.choice([22, 3389, 23]),
                   "protocol": 6, "action": "REJECT"}  # fmt: skip
    elif shape < 0.95:  # ping: ICMP has no ports
        record |= {"srcaddr": server, "dstaddr": f"10.0.2.{rng.randrange(1, 4)}", "srcport": 0, "dstport": 0,
                   "protocol": 1, "action": "ACCEPT"}  # fmt: skip
    else:  # to S3, which the record names (version 5)
        record |= {"srcaddr": server, "dstaddr": f"52.216.8.{rng.randrange(1, 6)}", "srcport": rng.randrange(40000, 40100),
                   "dstport": 443, "protocol": 6, "action": "ACCEPT", "pkt_dst_aws_service": "S3"}  # fmt: skip
    record |= {"packets": rng.randrange(1, 50), "bytes": rng.randrange(40, 90_000), "tcp_flags": 2, "type": "IPv4",
               "traffic_path": None}  # fmt: skip
    if record["pkt_srcaddr"] is None:
        record |= {"pkt_srcaddr": record["srcaddr"], "pkt_dstaddr": record["dstaddr"]}
    return record


def _stamp(moment: int, form: str) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime(form)


def write_layout(root: Path, layout: Layout, files: list[LogFile]) -> list[Path]:
    """The files where AWS delivers them for the layout's table (text: gzip with a header line)."""
    written = []
    for number, log in enumerate(files):
        name = f"{log.account}_vpcflowlogs_{REGION}_fl-0123_{_stamp(log.delivered, '%Y%m%dT%H%MZ')}_{number:08x}"
        if layout is Layout.text:
            path = root / "AWSLogs" / log.account / "vpcflowlogs" / REGION / _stamp(log.delivered, "%Y/%m/%d")
            written.append(_text_file(path / f"{name}.log.gz", log.records))
            continue
        if layout is Layout.parquet:
            path = root / "AWSLogs" / log.account / "vpcflowlogs" / REGION / _stamp(log.delivered, "%Y/%m/%d/%H")
        else:
            hive = "year=%Y/month=%m/day=%d/hour=%H"
            path = (root / "AWSLogs" / f"aws-account-id={log.account}" / "aws-service=vpcflowlogs"
                    / f"aws-region={REGION}" / _stamp(log.delivered, hive))  # fmt: skip
        path.mkdir(parents=True, exist_ok=True)
        table = pa.table({name: [r[name] for r in log.records] for name in VERSION_5_COLUMNS},
                         schema=pa.schema(TYPES.items()))  # fmt: skip
        pq.write_table(table, path / f"{name}.log.parquet")
        written.append(path / f"{name}.log.parquet")
    return written


def _text_file(path: Path, records: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(name.replace("_", "-") for name in VERSION_5_COLUMNS)]
    lines += [" ".join("-" if r[name] is None else str(r[name]) for name in VERSION_5_COLUMNS) for r in records]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def text_partition(files: str, values: dict[str, str], columns: tuple[str, ...] = VERSION_5_COLUMNS) -> str:
    """One partition of a text table: its files (a glob) read as Athena reads them, and its values."""
    names = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
    constants = ", ".join(f"'{value}' AS \"{key}\"" for key, value in values.items())
    typed = ", ".join(_typed(c) for c in columns)
    return f"SELECT {typed}, {constants} FROM read_csv('{files}', delim = ' ', header = true, columns = {names})"


def _typed(name: str) -> str:
    """A text column as Athena's text SerDe reads it: a number that does not parse is NULL, text stays text."""
    column = f'"{name}"'
    if name in _INTEGERS:
        return f"TRY_CAST({column} AS INTEGER) AS {column}"
    if name in _BIGINTS:
        return f"TRY_CAST({column} AS BIGINT) AS {column}"
    return column


def _partition_folders(root: Path, layout: Layout) -> Iterator[tuple[Path, dict[str, str]]]:
    """Each partition's folder and its partition values, as projection or the catalogue names them."""
    depth = {Layout.text: 3, Layout.parquet: 4}[layout]
    for account_folder in sorted((root / "AWSLogs").iterdir()):
        base = account_folder / "vpcflowlogs" / REGION
        for folder in sorted(p for p in base.glob("/".join(["*"] * depth)) if p.is_dir()):
            parts = folder.relative_to(base).parts
            if layout is Layout.text:
                yield folder, {"accid": account_folder.name, "region": REGION, "day": "/".join(parts)}
            else:
                yield folder, {"region": REGION, "date": "/".join(parts[:3]), "hour": parts[3]}


def create_table(
    con: duckdb.DuckDBPyConnection, root: Path, layout: Layout, database: str = "flowlogs", name: str = "vpc"
) -> None:
    """The layout's Athena table in DuckDB, as `database.name`."""
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
    if layout is Layout.hive:
        body = (f"SELECT * FROM read_parquet('{root}/AWSLogs/**/*.parquet', hive_partitioning = true, "
                "hive_types_autocast = false)")  # fmt: skip
    else:
        branches = []
        for folder, values in _partition_folders(root, layout):
            if layout is Layout.text:
                branches.append(text_partition(f"{folder}/*.log.gz", values))
            else:
                constants = ", ".join(f"'{value}' AS \"{key}\"" for key, value in values.items())
                branches.append(f"SELECT *, {constants} FROM read_parquet('{folder}/*.parquet')")
        body = "\nUNION ALL\n".join(branches)
    con.execute(f'CREATE VIEW "{database}"."{name}" AS {body}')


def athena_csv(names: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    """Rows as Athena writes a result: a header, every value quoted, NULL empty, an array as [a, b]."""

    def cell(value: Any) -> str:
        if value is None:
            return ""
        text = "[" + ", ".join(value) + "]" if isinstance(value, list) else str(value)
        return '"' + text.replace('"', '""') + '"'

    return "".join(",".join(map(cell, row)) + "\n" for row in [tuple(names), *rows]).encode()
