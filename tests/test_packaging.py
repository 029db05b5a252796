"""The wheel carries the saved queries and the viewer's assets: installed outside the repo, it lists
the queries and renders a view."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import etl, viewer, json, sys
import etl.cli  # every command's module, and the packages they import
from etl.queries import saved_queries
from viewer import graph_from_rows, render_html
assert etl.__file__.startswith(sys.argv[1]), etl.__file__
assert viewer.__file__.startswith(sys.argv[1]), viewer.__file__
print(json.dumps([q.name for q in saved_queries()]))
rows = [{"src": "10.0.0.1", "dst": "10.0.0.2", "port": 443, "protocol": 6, "action": "ACCEPT", "count": 7}]
html = render_html(graph_from_rows(rows), title="wheel check", params={})
print(len(html), "vis-network" in html, "10.0.0.2" in html)
"""


def test_wheel_installed_outside_the_repo_lists_queries_and_renders(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("vpcflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"queries/top-edges.cypher", "queries/min-count.cypher", "viewer/assets/vis-network.min.js"} <= set(names)
    # Every package of the source tree: the CLI imports them all (a package left out of pyproject's list
    # made an installed `vpcflow` fail on its first command).
    packages = {str(init.parent.relative_to(ROOT)) for init in (ROOT / "etl").rglob("__init__.py")}
    assert packages <= {str(Path(name).parent) for name in names if name.endswith("/__init__.py")}
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel],
        check=True,
        cwd=tmp_path,
    )
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(target)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    listed, rendered = result.stdout.splitlines()
    assert {"top-edges", "min-count"} <= set(json.loads(listed))
    size, has_vis, has_data = rendered.split()
    assert int(size) > 600_000 and has_vis == "True" and has_data == "True"
