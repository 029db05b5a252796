"""The SQL `load athena://` runs, executed by DuckDB over logs laid out as AWS delivers them for each
documented table: its edges equal, row for row, what `prepare` makes of the same files, and a slice
reads only its partitions."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from etl.athena.billing import Scanned
from etl.athena.edges import batch_of, row_schema
from etl.athena.slices import Layout, Slice, parse_slice, slices
from etl.athena.sql import VERSION_5_COLUMNS, Aggregation, Table, edge_sql, list_columns
from etl.batch import FileBatch
from etl.buckets import DAY, HOUR
from etl.errors import UsageError
from etl.identify import Naming
from etl.pipeline import LoadOptions, prepare
from etl.sources.local import LocalSource
from tests.athena_tables import ACCOUNTS, create_table, log_files, write_layout

MIDNIGHT = 1_767_225_600  # 2026-01-01T00:00:00Z
FIRST_HOUR = MIDNIGHT - 4 * HOUR  # the logs run from 20:00 the day before for 36 hours


def _hour(moment: int) -> int:
    return moment // HOUR * HOUR


# --- slices -------------------------------------------------------------------------------------------


def test_a_day_of_an_hourly_table_reads_its_hours_and_one_either_side() -> None:
    found = slices(MIDNIGHT, MIDNIGHT + DAY, Layout.hive)
    assert [piece.label for piece in found] == ["2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]
    assert [p for piece in found for p in piece.partitions] == list(range(MIDNIGHT - HOUR, MIDNIGHT + DAY + HOUR, HOUR))
    # The window cuts the widened span of all three; the first and last slices only on one side each.
    assert [(piece.lower, piece.upper) for piece in found] == [
        (MIDNIGHT, None), (MIDNIGHT, MIDNIGHT + DAY), (None, MIDNIGHT + DAY)
    ]  # fmt: skip


def test_a_slice_inside_the_window_takes_all_its_records() -> None:
    found = slices(MIDNIGHT - 3 * HOUR, MIDNIGHT + 3 * DAY, Layout.hive)
    middle = [piece for piece in found if piece.start == MIDNIGHT + DAY]
    assert middle == [Slice(MIDNIGHT + DAY, MIDNIGHT + 2 * DAY, tuple(range(MIDNIGHT + DAY, MIDNIGHT + 2 * DAY, HOUR)),
                            None, None)]  # fmt: skip


def test_a_day_partitioned_table_reads_whole_days() -> None:
    found = slices(MIDNIGHT + 5 * HOUR, MIDNIGHT + 7 * HOUR, Layout.text)
    assert [(piece.partitions, piece.lower, piece.upper) for piece in found] == [
        ((MIDNIGHT,), MIDNIGHT + 5 * HOUR, MIDNIGHT + 7 * HOUR)
    ]


def test_weekly_slices_start_on_multiples_of_a_week() -> None:
    found = slices(MIDNIGHT, MIDNIGHT + 10 * DAY, Layout.text, 7 * DAY)
    assert all(piece.start % (7 * DAY) == 0 for piece in found)
    assert sorted(p for piece in found for p in piece.partitions) == list(
        range(MIDNIGHT - DAY, MIDNIGHT + 11 * DAY, DAY)
    )


@pytest.mark.parametrize(
    ("text", "layout", "seconds"),
    [("1d", Layout.text, DAY), ("7d", Layout.hive, 7 * DAY), ("6h", Layout.parquet, 6 * HOUR)],
)
def test_slice_lengths(text: str, layout: Layout, seconds: int) -> None:
    assert parse_slice(text, layout) == seconds


@pytest.mark.parametrize(("text", "layout"), [("6h", Layout.text), ("0d", Layout.hive), ("1w", Layout.hive),
                                              ("400d", Layout.hive), ("h", Layout.hive)])  # fmt: skip
def test_slice_lengths_a_layout_cannot_take(text: str, layout: Layout) -> None:
    with pytest.raises(UsageError, match="--slice"):
        parse_slice(text, layout)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(UsageError, match="after --start"):
        slices(MIDNIGHT, MIDNIGHT, Layout.hive)


# --- the SQL's text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ['vpc"; DROP TABLE x; --', "a.b", "", "flow logs"])
def test_names_that_could_change_the_query_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="not an Athena"):
        Table("flowlogs", name, Layout.hive)


@pytest.mark.parametrize(
    ("how", "option"),
    [
        (lambda: Aggregation(accounts=["1234' OR '1'='1"]), "--account"),
        (lambda: Aggregation(regions=["eu-west-1'"]), "--aws-region"),
    ],
)
def test_filter_values_that_could_change_the_query_are_refused(how: Any, option: str) -> None:
    with pytest.raises(UsageError, match=option):
        how()


def test_a_table_without_the_fields_edges_need_is_refused() -> None:
    with pytest.raises(UsageError, match="lacks srcport, dstport"):
        Table("flowlogs", "vpc", Layout.text, frozenset({"srcaddr", "dstaddr", "protocol", "packets", "bytes", "start",
                                                         "end", "action", "log_status"}))  # fmt: skip


def test_the_default_text_table_has_no_packet_level_lists_or_vpc() -> None:
    before, first = (edge_sql(Table("flowlogs", "vpc", Layout.text), piece)
                     for piece in slices(MIDNIGHT, MIDNIGHT + HOUR, Layout.text))  # fmt: skip
    assert "pkt_srcaddrs" not in first
    assert "CAST(NULL AS varchar) AS vpc" in first
    # The day before holds files delivered up to an hour early (DELIVERY_MARGIN).
    assert "\"day\" IN ('2025/12/31')" in before and "\"day\" IN ('2026/01/01')" in first


def test_whole_days_of_an_hourly_table_are_named_without_their_hours() -> None:
    piece = slices(MIDNIGHT - 3 * HOUR, MIDNIGHT + 3 * DAY, Layout.parquet)[2]
    sql = edge_sql(Table("flowlogs", "vpc", Layout.parquet), piece)
    assert "(\"date\" = '2026/01/02')" in sql
    assert '"hour"' not in sql


# --- DuckDB runs it: the same edges as prepare, from the same files ---------------------------------------


@pytest.fixture(scope="module")
def logs() -> list[Any]:
    return log_files(FIRST_HOUR, 36)


def _laid_out(root: Path, layout: Layout, logs: list[Any]) -> tuple[duckdb.DuckDBPyConnection, list[Path]]:
    written = write_layout(root, layout, logs)
    con = duckdb.connect()
    create_table(con, root, layout)
    return con, written


def _queried(con: duckdb.DuckDBPyConnection, table: Table, start: int, end: int, how: Aggregation) -> list[FileBatch]:
    """Each slice's batch, named by a default Naming, as `load athena://` makes it."""
    batches = []
    schema = row_schema(list_columns(table, how))
    for piece in slices(start, end, table.layout, parse_slice("1d", table.layout)):
        rows = con.sql(edge_sql(table, piece, how)).to_arrow_table().cast(schema)
        batches.append(batch_of(rows, piece.label, "", Naming()))
    return batches


def _prepared(files: Iterable[Path], start: int, end: int, packet: bool) -> list[FileBatch]:
    options = LoadOptions(start=start, end=end, addresses="packet" if packet else "interface")
    return [prepare(LocalSource(path), options) for path in files]


def _scopes(batches: Iterable[FileBatch]) -> set[tuple[str, str]]:
    """Every address's key and scope, as the batches name them."""
    return {(row["key"], row["scope"]) for batch in batches for row in batch.addresses.to_pylist()}


def _totals(batches: Iterable[FileBatch]) -> dict[tuple[Any, ...], list[Any]]:
    """Edge and bucket -> sums, first and last seen; edge -> the packet-level addresses (an edge keeps one
    list, whatever its buckets), over all batches."""
    totals: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, 0, 0, 0, None, None])
    for batch in batches:
        for row in batch.edges.to_pylist():
            edge = tuple(row[k] for k in ("src", "dst", "port", "protocol", "action"))
            total = totals[(*edge, row["bucket"])]
            for i, name in enumerate(("count", "packets", "bytes", "requests", "replies")):
                total[i] += row[name]
            total[5] = row["first_seen"] if total[5] is None else min(total[5], row["first_seen"])
            total[6] = row["last_seen"] if total[6] is None else max(total[6], row["last_seen"])
            lists = totals.setdefault(edge, [set(), set()])
            lists[0] |= set(row["pkt_srcaddrs"] or ())
            lists[1] |= set(row["pkt_dstaddrs"] or ())
    return dict(totals)


WINDOWS = {
    "whole days": (MIDNIGHT, MIDNIGHT + DAY),
    "cut hours": (MIDNIGHT - 150 * 60, MIDNIGHT + 9 * HOUR + 7 * 60),
}


@pytest.mark.parametrize("layout", list(Layout))
@pytest.mark.parametrize("window", list(WINDOWS))
def test_the_sql_sums_what_prepare_sums(tmp_path: Path, logs: list[Any], layout: Layout, window: str) -> None:
    con, written = _laid_out(tmp_path, layout, logs)
    start, end = WINDOWS[window]
    table = Table("flowlogs", "vpc", layout, frozenset(VERSION_5_COLUMNS))
    queried_batches, prepared_batches = (
        _queried(con, table, start, end, Aggregation()),
        _prepared(written, start, end, False),
    )
    queried = _totals(queried_batches)
    assert queried == _totals(prepared_batches)
    # Addresses named alike: S3's, which the records flag, as an AWS service's.
    assert _scopes(queried_batches) == _scopes(prepared_batches)
    assert {scope for key, scope in _scopes(queried_batches) if key.startswith("52.216.8.")} == {"aws-service"}
    # The two accounts' 10.0.0.x stay two sets of nodes, the NAT's clients ride on their edges, and the
    # window kept records of every kind.
    sums = [total for key, total in queried.items() if len(key) == 6]
    assert {"vpc-0aaa/10.0.0.1", "vpc-0bbb/10.0.0.1"} <= {key[1] for key in queried}
    assert any(lists[0] for key, lists in queried.items() if len(key) == 5)
    assert sum(total[3] for total in sums) > 0 < sum(total[4] for total in sums)
    assert {key[4] for key in queried} == {"ACCEPT", "REJECT"}
    assert sum(total[0] for total in sums) > 1000


def test_packet_addresses_as_the_edges_ends(tmp_path: Path, logs: list[Any]) -> None:
    con, written = _laid_out(tmp_path, Layout.hive, logs)
    start, end = WINDOWS["cut hours"]
    table = Table("flowlogs", "vpc", Layout.hive)
    queried = _totals(_queried(con, table, start, end, Aggregation(packet=True)))
    assert queried == _totals(_prepared(written, start, end, packet=True))
    assert any(key[0].startswith("198.51.100.") for key in queried)


def test_a_text_table_of_the_default_format(tmp_path: Path) -> None:
    """AWS's default format has neither vpc-id nor packet-level addresses: the edges are the same."""
    logs = log_files(FIRST_HOUR, 30)
    for log in logs:
        for record in log.records:
            for name in VERSION_5_COLUMNS[14:]:
                record[name] = None
    con, written = _laid_out(tmp_path, Layout.text, logs)
    start, end = WINDOWS["cut hours"]
    queried = _totals(_queried(con, Table("flowlogs", "vpc", Layout.text), start, end, Aggregation()))
    assert queried == _totals(_prepared(written, start, end, packet=False))


# --- pruning: a slice opens only the files of its partitions ---------------------------------------------------


def _plan(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    return "\n".join(str(row[1]) for row in con.execute(f"EXPLAIN ANALYZE {sql}").fetchall())


def _readers(con: duckdb.DuckDBPyConnection, sql: str, reader: str) -> int:
    """How many scans of files the optimised plan keeps: one per partition branch not pruned."""

    def count(node: dict[str, Any]) -> int:
        return (node["name"] == reader) + sum(count(child) for child in node["children"])

    return sum(count(node) for node in json.loads(con.execute(f"EXPLAIN (FORMAT json) {sql}").fetchall()[0][1]))


def test_hive_partitions_outside_the_slice_are_not_opened(tmp_path: Path, logs: list[Any]) -> None:
    con, written = _laid_out(tmp_path, Layout.hive, logs)
    piece = slices(MIDNIGHT + 2 * HOUR, MIDNIGHT + 5 * HOUR, Layout.hive)[0]
    assert piece.partitions == tuple(range(MIDNIGHT + HOUR, MIDNIGHT + 6 * HOUR, HOUR))
    how = Aggregation(accounts=["111111111111"])
    plan = _plan(con, edge_sql(Table("flowlogs", "vpc", Layout.hive), piece, how))
    assert f"Scanning Files: 5/{len(written)}" in plan
    opened = set(re.findall(r"aws-account-id=(\d+)/.*?day=(\d+)/hour=(\d+)", plan))
    assert opened == {("111111111111", "01", f"{hour:02}") for hour in range(1, 6)}


@pytest.mark.parametrize(
    ("layout", "reader", "length", "partitions"),
    [(Layout.text, "READ_CSV", DAY, 1), (Layout.parquet, "READ_PARQUET", 6 * HOUR, 6)],
)
def test_projected_partitions_outside_the_slice_are_not_read(
    tmp_path: Path, logs: list[Any], layout: Layout, reader: str, length: int, partitions: int
) -> None:
    con, _ = _laid_out(tmp_path, layout, logs)
    all_branches = _readers(con, "SELECT count(*) FROM flowlogs.vpc", reader)
    # The logs' 36 hours: 36 hour partitions, or parts of 3 days.
    assert all_branches == len(ACCOUNTS) * (36 if layout is Layout.parquet else 3)
    # A slice well inside the window, so no filter on the records' times lets DuckDB skip a file by its
    # statistics: what is left out is left out by its partition alone.
    [piece] = [p for p in slices(MIDNIGHT - 2 * DAY, MIDNIGHT + 3 * DAY, layout, length) if p.start == MIDNIGHT]
    assert (piece.lower, piece.upper, len(piece.partitions)) == (None, None, partitions)
    sql = edge_sql(Table("flowlogs", "vpc", layout, frozenset(VERSION_5_COLUMNS)), piece)
    assert _readers(con, sql, reader) == len(ACCOUNTS) * partitions


# --- what Athena bills -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scanned", "megabytes"),
    [([0], 10), ([1], 10), ([10 << 20], 10), ([(10 << 20) + 1], 11), ([3 << 30, 5 << 20], 3072 + 10)],
)
def test_each_query_is_billed_by_the_megabyte_with_a_ten_megabyte_minimum(scanned: list[int], megabytes: int) -> None:
    assert Scanned(["q"] * len(scanned), scanned).cost(5.0) == pytest.approx(megabytes / (1 << 20) * 5.0)
