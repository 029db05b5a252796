"""Time buckets: each edge keeps its counts per bucket, exactly, through reloads and changed files."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from etl.batch import FLOW_SCHEMA, distinct_edges, per_edge
from etl.buckets import DAY, HOUR, bucket_text, parse_bucket
from etl.cli import app
from etl.errors import UsageError
from etl.graph.store import GraphStore
from tests.test_demo_end_to_end import page_data

runner = CliRunner()
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
WEB, DB, CACHE = "10.0.1.11", "10.0.3.30", "10.0.3.40"


def _line(src: str, dst: str, port: int, packets: int, start: int) -> str:
    return (
        f"2 123456789012 eni-0a {src} {dst} 40000 {port} 6 {packets} {packets * 100} {start} {start + 60} ACCEPT OK\n"
    )


# (src, dst, port, packets, start): day 1 in the morning and just before midnight, day 2 after it.
DAY_ONE = [(WEB, DB, 5432, 3, T0 + 9 * HOUR), (WEB, DB, 5432, 4, T0 + 10 * HOUR), (WEB, CACHE, 6379, 1, T0 + HOUR)]
MIDNIGHT = [(WEB, DB, 5432, 5, T0 + DAY - 120), (WEB, DB, 5432, 6, T0 + DAY + 30), (WEB, CACHE, 6379, 2, T0 + DAY + 60)]
DAY_TWO = [(WEB, DB, 5432, 7, T0 + DAY + 8 * HOUR), (WEB, DB, 5432, 2, T0 + DAY + 8 * HOUR + 5)]

BUCKETED = """
MATCH (s:Address)-[f:FLOW]->(d:Address)
RETURN s.id AS src, d.id AS dst, f.port AS port, f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.buckets AS buckets, f.bucket_count AS bucket_count, f.bucket_packets AS bucket_packets,
       f.bucket_bytes AS bucket_bytes
"""


def _write(path: Path, rows: list[tuple[str, str, int, int, int]]) -> Path:
    path.write_text(V2 + "\n" + "".join(_line(*row) for row in rows))
    return path


def _expected(rows: list[tuple[str, str, int, int, int]], seconds: int) -> dict[tuple[str, str, int], Counter[int]]:
    """Per edge, records per bucket start, from the lines as written."""
    found: dict[tuple[str, str, int], Counter[int]] = {}
    for src, dst, port, _, start in rows:
        found.setdefault((src, dst, port), Counter())[start // seconds * seconds] += 1
    return found


def _graph(store: GraphStore) -> dict[tuple[str, str, int], dict[str, Any]]:
    _, rows = store.query(BUCKETED, {})
    return {(r["src"], r["dst"], r["port"]): r for r in rows}


def _per_bucket(row: dict[str, Any], name: str = "bucket_count") -> Counter[int]:
    """A bucket's sum over its entries (a bucket may have several: a reload's, out-of-order files')."""
    sums: Counter[int] = Counter()
    for bucket, value in zip(row["buckets"], row[name], strict=True):
        sums[bucket] += value
    return +sums  # drops buckets that sum to nothing


def _load(*args: str) -> None:
    result = runner.invoke(app, ["load", "--pseudonymize", "none", *args])
    assert result.exit_code == 0, result.output


def test_each_edge_keeps_its_counts_per_day(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    files = [_write(tmp_path / f"{n}.log", rows) for n, rows in enumerate((DAY_ONE, MIDNIGHT, DAY_TWO))]
    _load(*map(str, files))
    graph = _graph(store)
    expected = _expected(DAY_ONE + MIDNIGHT + DAY_TWO, DAY)
    assert {edge: _per_bucket(row) for edge, row in graph.items()} == expected
    for row in graph.values():
        assert row["buckets"] == sorted(set(row["buckets"]))  # files in time order: one entry per bucket
        assert sum(row["bucket_count"]) == row["count"] and sum(row["bucket_bytes"]) == row["bytes"]
        assert sum(row["bucket_packets"]) == row["packets"]
    web_db = graph[(WEB, DB, 5432)]
    assert web_db["bucket_packets"] == [3 + 4 + 5, 6 + 7 + 2]  # the midnight file splits between the days


def test_reloads_and_changed_files_keep_every_bucket_exact(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    first, second = _write(tmp_path / "a.log", DAY_ONE), _write(tmp_path / "b.log", MIDNIGHT + DAY_TWO)
    _load(str(first), str(second))
    _load("--reload", str(second))
    assert {e: _per_bucket(r) for e, r in _graph(store).items()} == _expected(DAY_ONE + MIDNIGHT + DAY_TWO, DAY)
    _write(second, DAY_TWO)  # the file changed: its new content replaces what it added
    _load(str(second))
    graph = _graph(store)
    assert {e: _per_bucket(r) for e, r in graph.items()} == _expected(DAY_ONE + DAY_TWO, DAY)
    assert {e: _per_bucket(r, "bucket_packets") for e, r in graph.items()}[(WEB, DB, 5432)] == {T0: 7, T0 + DAY: 9}


def test_the_store_keeps_the_bucket_it_was_first_loaded_with(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _load("--bucket", "1h", str(_write(tmp_path / "a.log", DAY_ONE)))
    assert {e: _per_bucket(r) for e, r in _graph(store).items()} == _expected(DAY_ONE, HOUR)
    refused = runner.invoke(app, ["load", "--bucket", "1d", str(_write(tmp_path / "b.log", DAY_TWO))])
    assert refused.exit_code == 2
    assert "this store keeps 1h buckets, chosen when it was first loaded, not 1d" in refused.output
    _load(str(tmp_path / "b.log"))  # without --bucket: the store's
    assert {e: _per_bucket(r) for e, r in _graph(store).items()} == _expected(DAY_ONE + DAY_TWO, HOUR)


# -- pure parts ---------------------------------------------------------------------------------------------


def _rows(*rows: tuple[str, int, int]) -> pa.Table:
    """(dst, bucket, count) rows of one source and port."""
    base = {"src": "a", "port": 443, "protocol": 6, "action": "ACCEPT", "requests": 0, "replies": 0,
            "first_seen": 0, "last_seen": 0, "pkt_srcaddrs": None, "pkt_dstaddrs": None}  # fmt: skip
    listed = [base | {"dst": d, "bucket": b, "count": c, "packets": 2 * c, "bytes": 100 * c} for d, b, c in rows]
    return pa.Table.from_pylist(listed, FLOW_SCHEMA)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("b", DAY, 3), ("c", DAY, 4)], {"b": ([DAY], [3]), "c": ([DAY], [4])}),  # one bucket: the fast path
        ([("b", 2 * DAY, 3), ("c", DAY, 4), ("b", DAY, 1)], {"b": ([DAY, 2 * DAY], [1, 3]), "c": ([DAY], [4])}),
    ],
)
def test_rows_fold_into_one_per_edge_with_buckets_ascending(
    rows: list[tuple[str, int, int]], expected: dict[str, tuple[list[int], list[int]]]
) -> None:
    folded = {r["dst"]: r for r in per_edge(_rows(*rows)).to_pylist()}
    assert {d: (r["buckets"], r["bucket_count"]) for d, r in folded.items()} == expected
    assert {d: r["count"] for d, r in folded.items()} == {d: sum(c) for d, (_, c) in expected.items()}
    assert {d: r["bucket_bytes"] for d, r in folded.items()} == {
        d: [100 * n for n in c] for d, (_, c) in expected.items()
    }


@pytest.mark.parametrize(
    ("rows", "edges"),
    [([("b", DAY, 3), ("c", DAY, 4)], 2), ([("b", 2 * DAY, 3), ("c", DAY, 4), ("b", DAY, 1)], 2), ([], 0)],
)
def test_rows_count_as_their_distinct_edges(rows: list[tuple[str, int, int]], edges: int) -> None:
    assert distinct_edges(_rows(*rows)) == edges == per_edge(_rows(*rows)).num_rows


def test_a_dry_run_counts_an_edge_across_midnight_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "midnight.log", MIDNIGHT)
    result = runner.invoke(app, ["--home", str(tmp_path / "home"), "load", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"edges found\s*│\s*2\s*│", result.output), (
        result.output
    )  # web-db on both days, web-cache on the second


@pytest.mark.parametrize(("text", "seconds"), [("1d", DAY), ("1h", HOUR), ("6h", 6 * HOUR), ("15m", 900)])
def test_bucket_lengths(text: str, seconds: int) -> None:
    assert parse_bucket(text) == seconds and bucket_text(seconds) == text


@pytest.mark.parametrize("text", ["7h", "2d", "0h", "1w", "day", ""])
def test_a_bucket_must_divide_a_day(text: str) -> None:
    with pytest.raises(UsageError, match="--bucket takes a length that divides a day"):
        parse_bucket(text)


# -- windows in the saved queries ------------------------------------------------------------------------------

SCANNER, API = "198.51.100.9", "52.94.1.1"
# (src, dst, port, packets, start, action) over two days; the scanner tries three hosts on day two only.
TWO_DAYS = [
    *((WEB, DB, 5432, n, T0 + n * HOUR, "ACCEPT") for n in range(1, 4)),
    *((WEB, API, 443, n, T0 + DAY + n * HOUR, "ACCEPT") for n in range(1, 3)),
    (WEB, API, 443, 9, T0 + 5 * HOUR, "ACCEPT"),
    (WEB, DB, 5432, 4, T0 + DAY + HOUR, "ACCEPT"),
    (WEB, CACHE, 6379, 1, T0 + 2 * HOUR, "ACCEPT"),
    *((SCANNER, host, 22, 1, T0 + DAY + 60 * n, "REJECT") for n, host in enumerate((WEB, DB, CACHE))),
    (SCANNER, DB, 23, 1, T0 + 30, "REJECT"),
]
DAYS = {"day one": (T0, T0 + DAY), "day two": (T0 + DAY, T0 + 2 * DAY), "all": (None, None)}


def _window_rows(since: int | None, until: int | None) -> list[tuple[str, str, int, int, int, str]]:
    return [r for r in TWO_DAYS if (since is None or r[4] >= since) and (until is None or r[4] < until)]


def _sums(rows: list[tuple[str, str, int, int, int, str]]) -> dict[tuple[str, str, int], tuple[int, int, int]]:
    found: dict[tuple[str, str, int], tuple[int, int, int]] = {}
    for src, dst, port, packets, _, _ in rows:
        count, total, octets = found.get((src, dst, port), (0, 0, 0))
        found[(src, dst, port)] = (count + 1, total + packets, octets + packets * 100)
    return found


@pytest.fixture
def two_days(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    lines = [_line(s, d, p, n, t).replace("ACCEPT", a) for s, d, p, n, t, a in TWO_DAYS]
    (tmp_path / "two-days.log").write_text(V2 + "\n" + "".join(lines))
    _load(str(tmp_path / "two-days.log"))


def _run(query: str, since: int | None, until: int | None, *params: str) -> list[dict[str, Any]]:
    window = [f"since={since}"] * (since is not None) + [f"until={until}"] * (until is not None)
    args = [a for p in (*params, *window) for a in ("-p", p)]
    result = runner.invoke(app, ["query", "run", query, *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


# Each query with its parameters and which of the window's edges it returns.
EDGE_QUERIES = {
    "top-edges": ((), lambda r: True),
    "min-count": (("min=2",), None),  # below: at least two records in the window
    "rejected": ((), lambda r: r[5] == "REJECT"),
    "by-port": (("port=5432",), lambda r: r[2] == 5432),
    "egress": ((), lambda r: r[1] == API),
    "talks-to": ((f"who={DB}",), lambda r: DB in (r[0], r[1])),
    "by-name": ((), lambda r: True),  # nothing is named: every end is its address
    "scanners": (("min_hosts=3",), lambda r: r[0] == SCANNER),  # it tries three hosts on day two, one on day one
}


@pytest.mark.parametrize("query", sorted(EDGE_QUERIES))
@pytest.mark.parametrize("day", sorted(DAYS))
def test_windows_in_saved_queries_give_the_window_totals(two_days: None, query: str, day: str) -> None:
    params, keep = EDGE_QUERIES[query]
    since, until = DAYS[day]
    expected = _sums([r for r in _window_rows(since, until) if keep is None or keep(r)])
    if query == "min-count":
        expected = {edge: sums for edge, sums in expected.items() if sums[0] >= 2}
    if query == "scanners" and day == "day one":
        expected = {}  # one host that day: no scanner in the window
    got = {
        (r["src"], r["dst"], r["port"]): (r["count"], r["packets"], r["bytes"])
        for r in _run(query, since, until, *params)
    }
    assert got == expected


@pytest.mark.parametrize("day", sorted(DAYS))
def test_top_talkers_in_a_window(two_days: None, day: str) -> None:
    since, until = DAYS[day]
    sent: Counter[str] = Counter()
    received: Counter[str] = Counter()
    for src, dst, _, packets, _, _ in _window_rows(since, until):
        sent[src] += packets * 100
        received[dst] += packets * 100
    got = {r["id"]: (r["bytes_out"], r["bytes_in"]) for r in _run("top-talkers", since, until, "k=100")}
    assert got == {a: (sent[a], received[a]) for a in sent.keys() | received.keys()}


def test_a_view_shows_its_window(two_days: None, tmp_path: Path) -> None:
    page = tmp_path / "day-two.html"
    result = runner.invoke(app, ["view", "top-edges", "-p", "since=2026-01-02", "-o", str(page)])
    assert result.exit_code == 0, result.output
    data = page_data(page.read_text())
    assert data["meta"]["params"] == {"k": 50, "by": "count", "since": "2026-01-02T00:00:00Z"}
    address = {n["id"]: n["address"] for n in data["nodes"]}
    drawn = {(address[e["src"]], address[e["dst"]], e["port"]): e["count"] for e in data["edges"]}
    assert drawn == {edge: sums[0] for edge, sums in _sums(_window_rows(T0 + DAY, None)).items()}
