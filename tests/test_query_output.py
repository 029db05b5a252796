"""What `query run` prints for every value the driver gives, in every format, on the live server; data
shown as literal text (no terminal escapes, no Rich markup); CSV that spreadsheets do not run."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from etl.cli import app
from etl.cli.output import as_table
from etl.graph.store import GraphStore
from tests.test_cli import write_known_log

pytestmark = pytest.mark.integration
runner = CliRunner()
WIDE = {"COLUMNS": "400"}


def run_query(tmp_path: Path, cypher: str, form: str, header: str = "// title: Probe\n") -> Any:
    query = tmp_path / "probe.cypher"
    query.write_text(header + cypher + "\n")
    result = runner.invoke(app, ["query", "run", str(query), "-f", form], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def loaded(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> GraphStore:
    """The known log loaded: Address nodes, FLOW relationships and a LogFile whose contribution is bytes."""
    result = runner.invoke(app, ["load", "--pseudonymize", "none", str(write_known_log(tmp_path / "known.log"))])
    assert result.exit_code == 0, result.output
    return store


# (the Cypher expression, its JSON value, what its CSV cell reads)
VALUES = [
    ("date('2024-01-02')", "2024-01-02", "2024-01-02"),
    ("datetime('2024-01-02T03:04:05Z')", "2024-01-02T03:04:05.000000000+00:00", "2024-01-02T03:04:05.000000000+00:00"),
    ("localdatetime('2024-01-02T03:04:05')", "2024-01-02T03:04:05.000000000", "2024-01-02T03:04:05.000000000"),
    ("time('03:04:05Z')", "03:04:05.000000000+00:00", "03:04:05.000000000+00:00"),
    ("localtime('03:04:05')", "03:04:05.000000000", "03:04:05.000000000"),
    ("duration('P1DT2H')", "P1DT2H", "P1DT2H"),
    ("point({x: 1, y: 2})", {"srid": 7203, "x": 1.0, "y": 2.0}, '{"srid": 7203, "x": 1.0, "y": 2.0}'),
    ("point({latitude: 1.5, longitude: 2.5})", {"srid": 4326, "longitude": 2.5, "latitude": 1.5},
     '{"srid": 4326, "longitude": 2.5, "latitude": 1.5}'),
    ("0.0 / 0.0", "NaN", "NaN"),
    ("1.0 / 0.0", "Infinity", "Infinity"),
    ("-1.0 / 0.0", "-Infinity", "-Infinity"),
    ("-5", -5, "-5"),
    ("-2.5", -2.5, "-2.5"),
    ("[date('2024-01-02'), {d: duration('PT1S'), f: 0.0 / 0.0}]", ["2024-01-02", {"d": "PT1S", "f": "NaN"}],
     '["2024-01-02", {"d": "PT1S", "f": "NaN"}]'),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "as_json", "as_csv"), VALUES, ids=[v[0] for v in VALUES])
def test_every_driver_value_prints_in_every_format(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path, expression: str, as_json: Any, as_csv: str
) -> None:
    cypher = f"RETURN {expression} AS v"
    assert json.loads(run_query(tmp_path, cypher, "json").stdout) == [{"v": as_json}]
    assert list(csv.reader(io.StringIO(run_query(tmp_path, cypher, "csv").stdout))) == [["v"], [as_csv]]
    table = run_query(tmp_path, cypher, "table").stdout
    assert (as_csv if isinstance(as_json, str | int | float) else as_csv[:12]) in table


GRAPH_VALUES = [
    ("MATCH (n) RETURN n", "n"),
    ("MATCH (l:LogFile) RETURN l", "l"),
    ("MATCH (l:LogFile) RETURN l.contribution AS c", "c"),
    ("MATCH ()-[f:FLOW]->() RETURN f", "f"),
    ("MATCH p = ()-[:FLOW]->() RETURN p", "p"),
    ("MATCH (l:LogFile) RETURN [l, {file: l, bytes: l.contribution}] AS both", "both"),
]


@pytest.mark.parametrize(("cypher", "column"), GRAPH_VALUES, ids=[v[0] for v in GRAPH_VALUES])
@pytest.mark.parametrize("form", ["json", "csv", "table"])
def test_nodes_relationships_paths_and_bytes_print(
    loaded: GraphStore, tmp_path: Path, cypher: str, column: str, form: str
) -> None:
    output = run_query(tmp_path, cypher, form).stdout
    if form == "json":
        rows = json.loads(output)
        assert rows and all(column in row for row in rows)
    elif form == "csv":
        assert next(csv.reader(io.StringIO(output))) == [column]
    if "contribution" in cypher or "LogFile" in cypher:
        assert " bytes>" in output  # a byte array prints as its size


def test_a_log_file_node_shows_its_byte_array_as_its_size(loaded: GraphStore, tmp_path: Path) -> None:
    [row] = json.loads(run_query(tmp_path, "MATCH (l:LogFile) RETURN l, l.contribution AS c", "json").stdout)
    assert row["l"]["records"] == 14 and row["c"] == row["l"]["contribution"]
    assert row["c"].startswith("<") and row["c"].endswith(" bytes>") and int(row["c"][1:].split()[0]) > 0


HOSTILE = "evil\x1b]8;;http://x.example\x1b\\[link=http://x.example]click[/link]\x1b[31mred\x07\x9b2J\u202e"


def test_data_in_table_cells_and_titles_is_literal_text(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    cypher = "RETURN $name AS `[bold]col[/bold]`".replace("$name", "'" + HOSTILE.replace("\\", "\\\\") + "'")
    result = run_query(tmp_path, cypher, "table", header="// title: [red]Title\x1b[2J\n")
    text = result.stdout
    assert not any(c in text for c in "\x1b\x07\x9b\u202e")
    assert "[link=http://x.example]click[/link]" in text and "[bold]col[/bold]" in text and "[red]Title" in text
    assert "\\x1b]8;;http://x.example\\x1b\\[link" in text and "\\x07" in text and "\\x9b" in text
    assert "\\u202e" in text and "\\x1b[2J" in text


def test_query_list_shows_titles_as_literal_text() -> None:
    from etl.cli.output import query_table
    from etl.queries import parse_query

    hostile = parse_query(
        "hostile", "// title: [link=http://x.example]t[/link]\x1b[31m\n// param: k int 1 K.\nRETURN $k"
    )
    console = Console(file=io.StringIO(), width=300)
    console.print(query_table([hostile]))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[link=http://x.example]t[/link]\\x1b[31m" in text and "\x1b" not in text and "k: int (1)" in text


def test_load_and_parse_show_file_names_as_literal_text(cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "evil\x1b[31m[link=x.example]y[b].log.gz").write_bytes(b"\x1f\x8bnot gzip at all")
    for args in (["load", "--dry-run", str(folder)], ["parse", str(folder)]):
        result = runner.invoke(app, args, env=WIDE)
        assert result.exit_code in (1, 3), result.output  # nothing loaded, or some files failed
        assert "\x1b" not in result.stderr and "\\x1b[31m[link=x.example]y[b].log.gz" in result.stderr


FORMULAS = ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x.example")']


def test_csv_cells_that_spreadsheets_would_run_get_a_quote(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    listed = ", ".join(json.dumps(f) for f in FORMULAS)
    cypher = f"UNWIND [{listed}] AS s RETURN s, -3 AS negative, -0.5 AS half, 'a=b' AS inside"
    rows = list(csv.reader(io.StringIO(run_query(tmp_path, cypher, "csv").stdout)))
    assert rows[0] == ["s", "negative", "half", "inside"]
    assert [row[0] for row in rows[1:]] == ["'" + f for f in FORMULAS]
    assert {tuple(row[1:]) for row in rows[1:]} == {("-3", "-0.5", "a=b")}
    # JSON is not for spreadsheets: its strings stay as they are
    assert [row["s"] for row in json.loads(run_query(tmp_path, cypher, "json").stdout)] == FORMULAS


def test_json_keeps_text_that_looks_like_markup_or_emoji(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    cypher = "RETURN ':smile: [b]x[/b]' AS s"
    assert json.loads(run_query(tmp_path, cypher, "json").stdout) == [{"s": ":smile: [b]x[/b]"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "run", "top-edges", "-p", "k=99999999999999999999999"], "parameter k takes 64-bit integers"),
        (["query", "run", "top-edges", "-p", "k=-9223372036854775809"], "parameter k takes 64-bit integers"),
        (["query", "run", "new-edges", "-p", "since=99999999999999999999999"], "parameter since takes 64-bit"),
        (["view", "top-edges", "-p", "k=9223372036854775808"], "parameter k takes 64-bit integers"),
        (["view", "top-edges", "-o", "nodir/x.html"], "cannot write nodir/x.html"),
    ],
)
def test_usage_errors_are_one_sentence(
    store: GraphStore, cli_env: dict[str, str], args: list[str], message: str
) -> None:
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_table_marks_pseudonyms_and_hides_the_flags() -> None:
    rows = [
        {"src": "97.68.175.5", "src_pseudonymized": True, "dst": "10.0.3.30", "dst_pseudonymized": False, "count": 3}
    ]
    console = Console(width=200, record=True)
    console.print(as_table(["src", "src_pseudonymized", "dst", "dst_pseudonymized", "count"], rows))
    text = console.export_text()
    assert "~97.68.175.5" in text and "~10.0.3.30" not in text and "pseudonymized" not in text
