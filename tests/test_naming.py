"""Known addresses named, unknown ones pseudonymized: and no real address of an unnamed endpoint leaks
into the graph or the rendered page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl import demo
from etl.cli import app
from etl.graph.store import GraphStore
from etl.pseudonymize import KEY_FILE, Pseudonymizer, key_from_hex
from tests.flowlines import read_records

pytestmark = pytest.mark.integration
runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
KEY = "00112233445566778899aabbccddeeff" + "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

EVERYTHING = """
MATCH (n) OPTIONAL MATCH (n)-[r]->()
RETURN properties(n) AS node, properties(r) AS rel
"""


def demo_logs(tmp_path: Path) -> list[Path]:
    return demo.write_demo(tmp_path / "logs", 4_000, files=2, seed=5)


def unnamed_addresses(paths: list[Path], named: set[str]) -> set[str]:
    seen = {r[k] for p in paths for r in read_records(p) for k in ("srcaddr", "dstaddr") if r[k] != "-"}
    return seen - named


def test_nothing_unnamed_leaks(store: GraphStore, cli_env: dict[str, str], tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VPCFLOW_KEY", KEY)
    paths = demo_logs(tmp_path)
    known = ROOT / "known-ips.example.yaml"
    result = runner.invoke(app, ["load", "--known-ips", str(known), str(tmp_path / "logs")])
    assert result.exit_code == 0, result.output

    named = {e["ip"] for e in demo.demo_known_ips() if "ip" in e}
    # Addresses inside a named subnet are named too (the subnet's name); the VPC's CIDR alone is no name.
    subnet_named = {a for a in unnamed_addresses(paths, named) if re.match(r"10\.0\.[0-3]\.", a)}
    secret = unnamed_addresses(paths, named | subnet_named)
    assert len(secret) > 100  # the internet clients and scanners

    _, rows = store.query(EVERYTHING, {})
    stored = repr(rows)
    leaked = {a for a in secret if re.search(rf"(?<![\d.]){re.escape(a)}(?![\d.])", stored)}
    assert leaked == set()

    page = tmp_path / "view.html"
    assert runner.invoke(app, ["view", "top-edges", "-p", "k=500", "-o", str(page)]).exit_code == 0
    html = page.read_text()
    assert not {a for a in secret if re.search(rf"(?<![\d.]){re.escape(a)}(?![\d.])", html)}

    # The named ones are there by name and real address; the others are their pseudonyms, which reveal.
    _, nodes = store.query("MATCH (a:Address) RETURN a.id AS id, a.name AS name, a.pseudonymized AS p", {})
    by_id = {n["id"]: n for n in nodes}
    assert by_id["10.0.3.30"]["name"] == "database" and by_id["10.0.3.30"]["p"] is False
    pseudonymizer = Pseudonymizer(key_from_hex(KEY))
    hidden = {n["id"] for n in nodes if n["p"]}
    assert {pseudonymizer.reveal(p) for p in hidden} == secret
    result = runner.invoke(app, ["reveal", sorted(hidden)[0]])
    assert result.exit_code == 0 and result.output.split()[1] == pseudonymizer.reveal(sorted(hidden)[0])


def test_addresses_sharing_a_name_stay_separate_nodes(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    demo_logs(tmp_path)
    known = ROOT / "known-ips.example.yaml"
    result = runner.invoke(app, ["load", "--pseudonymize", "none", "--known-ips", str(known), str(tmp_path / "logs")])
    assert result.exit_code == 0, result.output
    _, rows = store.query("MATCH (a:Address {name: 'load-balancer'}) RETURN a.id AS id, a.scope AS scope", {})
    assert {(r["id"], r["scope"]) for r in rows} == {("10.0.0.10", "vpc"), ("10.0.0.11", "vpc"), ("10.0.0.12", "vpc")}
    page = tmp_path / "grouped.html"
    result = runner.invoke(app, ["view", "top-edges", "-p", "k=2000", "--group-by", "name", "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert page.read_text().count('"label":"load-balancer"') == 1


def test_a_key_is_generated_once_and_said_once(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "one.log"
    demo.write_demo(path, 200, seed=2)
    home = Path(cli_env.get("VPCFLOW_HOME") or tmp_path / "home")
    (home / KEY_FILE).unlink(missing_ok=True)
    first = runner.invoke(app, ["--home", str(home), "load", str(path)])
    assert first.exit_code == 0 and "generated a pseudonym key" in first.output
    assert (home / KEY_FILE).stat().st_mode & 0o777 == 0o600
    key = (home / KEY_FILE).read_text().strip()
    assert key not in first.output
    path.write_text(path.read_text() + "\n")  # new content: loads again, with the same key
    second = runner.invoke(app, ["--home", str(home), "load", str(path)])
    assert second.exit_code == 0 and "generated" not in second.output
    (home / KEY_FILE).unlink()


def test_a_dry_run_writes_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VPCFLOW_KEY", raising=False)
    path = tmp_path / "one.log"
    demo.write_demo(path, 200, seed=2)
    result = runner.invoke(app, ["--home", str(tmp_path / "home"), "load", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "home" / KEY_FILE).exists() and "generated" not in result.output
