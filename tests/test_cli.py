"""The CLI against the live server: exit codes, messages, formats."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from etl.cli import app
from etl.graph.embedded import BoltEndpoint
from etl.graph.store import GraphStore

runner = CliRunner()


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command and group of the app, found by walking it as sqlite-utils' tests/test_docs.py does
    (typer 0.29 carries its own click: a group is what has subcommands)."""
    paths = [list(path)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths += command_paths(sub, (*path, name))
    return paths


COMMANDS = command_paths(typer.main.get_command(app))

LINES = [
    # src dst srcport dstport protocol packets bytes action, repeated `times`
    ("10.0.2.21", "10.0.3.30", 40000, 5432, 6, 10, 1000, "ACCEPT", 5),
    ("10.0.3.30", "10.0.2.21", 5432, 40001, 6, 20, 4000, "ACCEPT", 5),
    ("198.51.100.7", "10.0.0.10", 50000, 443, 6, 3, 300, "ACCEPT", 3),
    ("192.0.2.9", "10.0.0.10", 60000, 22, 6, 1, 40, "REJECT", 1),
]


def ephemeral(port: int, i: int) -> int:
    """Clients pick a fresh ephemeral port per connection; servers keep theirs."""
    return port + i if port >= 32768 else port


def write_known_log(path: Path) -> Path:
    lines = []
    for src, dst, sport, dport, proto, packets, octets, action, times in LINES:
        for i in range(times):
            lines.append(
                f"2 1 eni-1 {src} {dst} {ephemeral(sport, i)} {ephemeral(dport, i)} "
                f"{proto} {packets} {octets} {1700000000 + i} {1700000060 + i} {action} OK"
            )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "vpcflow")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output.splitlines()) > 4


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {"parse", "reveal", "known-ips", "known-ips discover", "query run", "db serve", "view"} <= names


def test_module_entry_point_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "etl", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "load" in result.stdout and "query" in result.stdout


def test_query_list_names_the_saved_queries() -> None:
    result = runner.invoke(app, ["query", "list"])
    assert result.exit_code == 0
    assert "top-edges" in result.output and "min-count" in result.output
    assert "k: int (50)" in result.output and "min: int (10)" in result.output


@pytest.mark.integration
def test_query_run_formats(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    assert (
        runner.invoke(app, ["load", "--pseudonymize", "none", str(write_known_log(tmp_path / "known.log"))]).exit_code
        == 0
    )
    result = runner.invoke(app, ["query", "run", "top-edges", "--param", "k=2", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["src"], r["dst"], r["port"], r["count"], r["packets"], r["bytes"]) for r in rows] == [
        ("10.0.2.21", "10.0.3.30", 5432, 5, 50, 5000),
        ("10.0.3.30", "10.0.2.21", 5432, 5, 100, 20000),
    ]
    result = runner.invoke(app, ["query", "run", "min-count", "-p", "min=3", "-f", "csv"])
    assert result.exit_code == 0, result.output
    parsed = list(csv.DictReader(io.StringIO(result.output)))
    assert {(r["src"], r["dst"], r["count"]) for r in parsed} == {
        ("10.0.2.21", "10.0.3.30", "5"),
        ("10.0.3.30", "10.0.2.21", "5"),
        ("198.51.100.7", "10.0.0.10", "3"),
    }
    result = runner.invoke(app, ["query", "run", "top-edges", "-p", "k=1"], env={"COLUMNS": "250"})
    assert result.exit_code == 0 and "10.0.2.21" in result.output and "2023-11-14" in result.output


@pytest.mark.integration
def test_query_file_by_path_and_cypher_errors(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    assert (
        runner.invoke(app, ["load", "--pseudonymize", "none", str(write_known_log(tmp_path / "known.log"))]).exit_code
        == 0
    )
    query = tmp_path / "rejected.cypher"
    query.write_text(
        "// title: Rejected\nMATCH (s)-[f:FLOW {action: 'REJECT'}]->(d) RETURN s.id AS src, f.port AS port\n"
    )
    result = runner.invoke(app, ["query", "run", str(query), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"src": "192.0.2.9", "port": 22}]
    query.write_text("MATCH (s RETURN s\n")
    result = runner.invoke(app, ["query", "run", str(query)])
    assert result.exit_code == 1
    assert "rejected the query" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "run", "top-edges", "-p", "kk=3"], "has no parameter 'kk'; its parameters: k"),
        (["query", "run", "top-edges", "-p", "k=many"], "takes an integer, not 'many'"),
        (["query", "run", "nope"], "no saved query 'nope'"),
        (["query", "run", "top-edges", "-f", "xml"], "--format takes one of table, json, csv"),
        (["load", "/no/such/path"], "no such file or folder"),
        (["db", "reset"], "add --yes"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


@pytest.mark.integration
def test_db_status_and_reset(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    assert (
        runner.invoke(app, ["load", "--pseudonymize", "none", str(write_known_log(tmp_path / "known.log"))]).exit_code
        == 0
    )
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 0
    assert store.agent in result.output
    assert "addresses: 5" in result.output and "flows:     4" in result.output and "log files: 1" in result.output
    result = runner.invoke(app, ["db", "reset", "--yes"])
    assert result.exit_code == 0
    assert store.counts() == {"addresses": 0, "flows": 0, "files": 0}


@pytest.mark.integration
def test_wrong_password_is_one_sentence(
    bolt: tuple[BoltEndpoint, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = bolt[0]
    monkeypatch.setenv("NEO4J_URI", endpoint.uri)
    monkeypatch.setenv("NEO4J_USER", endpoint.user)
    monkeypatch.setenv("NEO4J_PASSWORD", "wrong-password-do-not-print")
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 1
    assert "refused the credentials" in result.output
    assert "wrong-password-do-not-print" not in result.output and "Traceback" not in result.output


def test_unreachable_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:9")
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 1
    assert "cannot reach the graph server at bolt://127.0.0.1:9" in result.output


def test_store_in_use_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEO4J_URI", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    with (home / "embedded.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = subprocess.run(
            [sys.executable, "-m", "etl", "--home", str(home), "db", "status"],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
    assert result.returncode == 1
    assert "is in use by another vpcflow process" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3 and "Exception" not in result.stderr


def test_query_show_for_neo4j_browser() -> None:
    result = runner.invoke(app, ["query", "show", "top-edges", "--browser", "-p", "k=5", "-p", "by=bytes"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:2] == [":param k => 5;", ":param by => 'bytes';"]
    assert "LIMIT $k" in result.output
    result = runner.invoke(app, ["query", "show", "top-edges", "-p", "by=size"])
    assert result.exit_code == 2 and "takes one of count, bytes, packets" in result.output
