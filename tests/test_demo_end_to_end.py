"""`vpcflow demo` -> `load` -> `view`, as `make demo` runs them, on the live server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.graph.store import GraphStore
from tests.flowlines import expected_edges

pytestmark = pytest.mark.integration
runner = CliRunner()


def page_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert match, "the page carries its data"
    return json.loads(match.group(1))


def test_demo_load_view(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--records", "20000", "--files", "2", "-o", str(tmp_path / "logs")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "logs").glob("*.log.gz"))
    assert len(files) == 2
    assert runner.invoke(app, ["load", "--pseudonymize", "none", str(tmp_path / "logs")]).exit_code == 0

    html_path = tmp_path / "view.html"
    result = runner.invoke(app, ["view", "top-edges", "--param", "k=40", "-o", str(html_path)])
    assert result.exit_code == 0, result.output
    html = html_path.read_text()
    data = page_data(html)

    expected = expected_edges(files)
    busiest = sorted(expected.items(), key=lambda item: -item[1][0])[:40]
    # Nodes are drawn under their keys (the demo's account qualifies its private addresses) and labelled
    # with their plain addresses: one network alone reads as before.
    address = {n["id"]: n["address"] for n in data["nodes"]}
    assert all(n["label"] in (n["name"], n["address"]) for n in data["nodes"])
    shown = {
        (address[e["src"]], address[e["dst"]], e["port"], e["protocol"], e["action"]): e["count"] for e in data["edges"]
    }
    assert len(shown) == 40
    for key, count in shown.items():
        assert expected[key][0] == count
    # the 40 shown are the busiest 40 (ties at the cut may swap members of equal count)
    assert min(shown.values()) == busiest[-1][1][0]
    assert {n["address"] for n in data["nodes"]} == {a for key in shown for a in key[:2]}
    assert data["meta"]["params"] == {"k": 40, "by": "count"}
    assert "vis-network" in html
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html), "nothing is fetched"
