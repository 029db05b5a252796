"""`vpcflow reveal` tells a pseudonym of the graph from an address that cannot be one (live server, real CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.graph.store import GraphStore
from etl.pseudonymize import Pseudonymizer, key_from_hex
from tests.test_cli import write_known_log

pytestmark = pytest.mark.integration
runner = CliRunner()
KEY = "00112233445566778899aabbccddeeff" + "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PSEUDONYMS = Pseudonymizer(key_from_hex(KEY))
CLIENT = "198.51.100.7"  # unknown: stored as its pseudonym
DATABASE = "10.0.3.30"  # named in the known-ips file: stored as itself


@pytest.fixture
def loaded(store: GraphStore, cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GraphStore:
    monkeypatch.setenv("VPCFLOW_KEY", KEY)
    known = tmp_path / "known-ips.yaml"
    known.write_text(f"- ip: {DATABASE}\n  name: database\n")
    result = runner.invoke(app, ["load", "--known-ips", str(known), str(write_known_log(tmp_path / "known.log"))])
    assert result.exit_code == 0, result.output
    return store


def test_a_pseudonym_of_the_graph_reveals_quietly(loaded: GraphStore) -> None:
    pseudonym = PSEUDONYMS.pseudonym(CLIENT)
    result = runner.invoke(app, ["reveal", pseudonym])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"{pseudonym}\t{CLIENT}\n", "")


def test_a_pseudonym_as_a_view_marks_it_reveals_too(loaded: GraphStore) -> None:
    marked = "~" + PSEUDONYMS.pseudonym(CLIENT)  # as views and tables show it
    result = runner.invoke(app, ["reveal", marked])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"{marked}\t{CLIENT}\n", "")


@pytest.mark.parametrize(
    ("address", "warning"),
    [
        (DATABASE, f"warning: {DATABASE} is not a pseudonym: the graph holds it as the real address of 'database'"),
        ("203.0.113.99", "warning: 203.0.113.99 is not an address in the graph, so not one of its pseudonyms"),
        ("2001:db8::99", "warning: 2001:db8::99 is not an address in the graph, so not one of its pseudonyms"),
    ],
)
def test_an_address_that_cannot_be_a_pseudonym_is_said_and_exits_1(
    loaded: GraphStore, address: str, warning: str
) -> None:
    pseudonym = PSEUDONYMS.pseudonym(CLIENT)
    result = runner.invoke(app, ["reveal", pseudonym, address])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [f"{pseudonym}\t{CLIENT}", f"{address}\t{PSEUDONYMS.reveal(address)}"]
    assert result.stderr.splitlines() == [warning]


def test_a_real_address_of_an_unpseudonymized_load_is_said(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VPCFLOW_KEY", KEY)
    runner.invoke(app, ["load", "--pseudonymize", "none", str(write_known_log(tmp_path / "known.log"))])
    result = runner.invoke(app, ["reveal", CLIENT])
    assert result.exit_code == 1
    assert result.stderr == f"warning: {CLIENT} is not a pseudonym: the graph holds it as a real address\n"


def test_without_the_graph_reveal_prints_and_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VPCFLOW_KEY", KEY)
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:9")
    pseudonym = PSEUDONYMS.pseudonym(CLIENT)
    result = runner.invoke(app, ["reveal", pseudonym])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{pseudonym}\t{CLIENT}\n"
    assert result.stderr.startswith("warning: cannot check that these are pseudonyms of the graph: cannot reach")
