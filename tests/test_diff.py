"""`vpcflow diff`: two days whose edges differ in known ways, compared from counts made from the lines."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.graph.store import GraphStore
from tests.test_demo_end_to_end import page_data

runner = CliRunner()
T0, DAY, HOUR = 1_767_225_600, 86_400, 3_600
V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
WEB, DB, CACHE, BACKUP, API, NEWCOMER = "10.0.1.11", "10.0.3.30", "10.0.3.40", "10.0.9.9", "52.94.1.1", "10.0.4.4"
# (src, dst, port, records on day one, records on day two)
EDGES = [
    (WEB, DB, 5432, 4, 4),  # the same both days: not listed
    (WEB, CACHE, 6379, 2, 9),  # grew
    (WEB, API, 443, 8, 3),  # shrank
    (DB, BACKUP, 873, 5, 0),  # gone
    (NEWCOMER, DB, 5432, 0, 6),  # new, from an address first seen on day two
    (WEB, BACKUP, 22, 0, 1),  # new, between addresses both seen before
]


def _lines() -> str:
    lines = []
    for src, dst, port, *days in EDGES:
        for day, records in enumerate(days):
            for n in range(records):
                start = T0 + day * DAY + HOUR + n
                lines.append(
                    f"2 123456789012 eni-0 {src} {dst} 40000 {port} 6 2 {100 + n} {start} {start + 60} ACCEPT OK\n"
                )
    return V2 + "\n" + "".join(lines)


def _bytes(records: int) -> int:
    return sum(100 + n for n in range(records))


@pytest.fixture
def loaded(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "two-days.log").write_text(_lines())
    result = runner.invoke(app, ["load", "--pseudonymize", "none", str(tmp_path / "two-days.log")])
    assert result.exit_code == 0, result.output


def _diff(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["diff", "--before", "2026-01-01..2026-01-02", "--after", "2026-01-02..2026-01-03",
                                 "--format", "json", *args])  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _edge(entry: dict[str, Any]) -> tuple[str, str, int]:
    return (entry["src"], entry["dst"], entry["port"])


def test_diff_lists_exactly_what_changed(loaded: None) -> None:
    found = _diff()
    expected = {(s, d, p): (one, two) for s, d, p, one, two in EDGES}
    assert [(_edge(e), e["count"], e["bytes"], e["before_count"]) for e in found["new"]] == [
        ((s, d, p), two, _bytes(two), 0) for (s, d, p), (one, two) in sorted(expected.items(), key=lambda i: -i[1][1])
        if not one
    ]  # fmt: skip
    assert [(_edge(e), e["before_count"], e["before_bytes"], e["count"]) for e in found["gone"]] == [
        ((DB, BACKUP, 873), 5, _bytes(5), 0)
    ]
    changed = {_edge(e): e for e in found["changed"]}
    assert set(changed) == {(WEB, CACHE, 6379), (WEB, API, 443)}
    for edge, entry in changed.items():
        one, two = expected[edge]
        assert (entry["before_count"], entry["count"], entry["count_change"]) == (one, two, two - one)
        assert entry["count_ratio"] == round(two / one, 4)
        assert (entry["bytes_change"], entry["bytes_ratio"]) == (
            _bytes(two) - _bytes(one),
            round(_bytes(two) / _bytes(one), 4),
        )
    assert [_edge(e) for e in found["changed"]] == [(WEB, CACHE, 6379), (WEB, API, 443)]  # +7 before -5
    assert [a["id"] for a in found["new_addresses"]] == [NEWCOMER]
    assert found["new_addresses"][0]["first_seen"] == T0 + DAY + HOUR


def test_top_keeps_the_edges_that_changed_most(loaded: None) -> None:
    assert [_edge(e) for e in _diff("--top", "1")["changed"]] == [(WEB, CACHE, 6379)]


def test_the_drawing(loaded: None, tmp_path: Path) -> None:
    page = tmp_path / "diff.html"
    result = runner.invoke(
        app, ["diff", "--before", "2026-01-01..2026-01-02", "--after", "2026-01-02..", "-o", str(page)]
    )
    assert result.exit_code == 0, result.output
    assert "New edges (2)" in result.stdout and "Gone edges (1)" in result.stdout
    data = page_data(page.read_text())
    address = {n["id"]: n["address"] for n in data["nodes"]}
    changes = Counter(e["change"] for e in data["edges"])
    assert changes == {"new": 2, "gone": 1, "grown": 1, "shrunk": 1}
    gone = [e for e in data["edges"] if e["change"] == "gone"]
    assert [(address[e["src"]], address[e["dst"]], e["before_count"]) for e in gone] == [(DB, BACKUP, 5)]
    assert data["meta"]["params"] == {"before": "2026-01-01T00:00:00Z..2026-01-02T00:00:00Z",
                                      "after": "2026-01-02T00:00:00Z..…"}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--before", "2026-01-01", "--after", "2026-01-02.."], "--before takes START..END"),
        (["--before", "2026-01-02..2026-01-01", "--after", "2026-01-02.."], "ends before it starts"),
        (["--before", "..2026-01-02", "--after", "..2026-01-03"], "--after needs a start"),
        (["--before", "yesterday..", "--after", "2026-01-02.."], "'yesterday' is not a time"),
    ],
)
def test_windows_are_checked(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["diff", *args])
    assert result.exit_code == 2 and message in result.output
