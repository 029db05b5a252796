"""Views in headless Chromium (issue 16).

1. 5,000 nodes / 20,000 edges (synthetic, every address on a hub plus random pairs): time to write the
   HTML (rows to graph, layout, page) and from navigation to interactive (positions drawn, `ready`);
   beside it, in the same run, the view before layouts came with the page (BEFORE_LAYOUT, checked out
   with `git worktree`): physics from scratch until its layout froze.
2. BENCH_VIEW_EDGES (default 50,000) edges of the internet demo profile, as `prepare` makes them: the
   page opens folded (public unnamed addresses by /24), time to interactive, then the time to unfold its
   largest folded node. The HTML's size per 1,000 edges for both.

Medians of BENCH_RUNS (default 3) page loads.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from bench.bucket_cost import checkout
from bench.table import print_table
from tests.browser import launch_chromium, wait_until_laid_out
from viewer import graph_from_rows, render_html

NODES = 5_000
EDGES = 20_000
HUBS = 50
SCOPES = ("vpc", "private", "public", "aws-service", "special")
OUT = Path(__file__).resolve().parent.parent / "bench-out"
BEFORE_LAYOUT = "329b516"  # the last commit whose views laid themselves out in the page


def synthetic_rows(seed: int = 7) -> list[dict[str, Any]]:
    """src/dst rows: every address talks to a hub, then random pairs up to EDGES distinct edges."""
    rng = random.Random(seed)
    ids = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(NODES)]
    pairs = {(ids[i], ids[rng.randrange(HUBS)], 443) for i in range(HUBS, NODES)}
    while len(pairs) < EDGES:
        src, dst = rng.sample(ids, 2)
        pairs.add((src, dst, rng.choice((22, 53, 80, 443, 5432))))
    return [_row(rng, src, dst, port) for src, dst, port in sorted(pairs)]


def _row(rng: random.Random, src: str, dst: str, port: int) -> dict[str, Any]:
    count = int(10 ** rng.uniform(0, 5))
    first = 1_717_200_000 + rng.randrange(3_600)
    return {
        "src": src,
        "dst": dst,
        "src_scope": SCOPES[int(src.rsplit(".", 1)[1]) % len(SCOPES)],
        "dst_scope": SCOPES[int(dst.rsplit(".", 1)[1]) % len(SCOPES)],
        "port": port,
        "protocol": 17 if port == 53 else 6,
        "action": "REJECT" if rng.random() < 0.1 else "ACCEPT",
        "count": count,
        "packets": count * 6,
        "bytes": count * 4_200,
        "first_seen": first,
        "last_seen": first + rng.randrange(86_400),
    }


def internet_rows(edges: int) -> list[dict[str, Any]]:
    """The first `edges` edges of internet-profile files (250k records each, as many as it takes), each
    end with its scope and name, as `prepare` makes them."""
    from etl.demo import write_demo
    from etl.pipeline import LoadOptions, prepare
    from etl.sources.local import LocalSource

    # A file of 250k records holds 5,000-7,000 distinct edges; the profile's clients and scanners
    # recur, so twelve files hold about 43,000 (more records, clients or scanners did not add more).
    files = max(1, edges // 4_000)
    folder = OUT / f"view-internet-{edges}"
    paths = sorted(folder.glob("*.log.gz")) or write_demo(folder, 250_000 * files, files=files, profile="internet")
    rows: list[dict[str, Any]] = []
    for path in paths:
        batch = prepare(LocalSource(path), LoadOptions())
        ends = {a["key"]: a for a in batch.addresses.to_pylist()}
        for edge in batch.flows.table.select(
            ["src", "dst", "port", "protocol", "action", "count", "bytes"]
        ).to_pylist():
            rows.append(
                edge | {f"{end}_{f}": ends[edge[end]][f] for end in ("src", "dst") for f in ("scope", "name", "group")}
            )
            if len(rows) == edges:
                return rows
    return rows


def write_page(rows: list[dict[str, Any]], path: Path) -> dict[str, float]:
    started = time.perf_counter()
    graph = graph_from_rows(rows)
    html = render_html(graph, title="View benchmark", params={"edges": len(rows)})
    path.write_text(html, encoding="utf-8")
    return {"nodes": len(graph.nodes), "edges": len(graph.edges), "write_html_ms": (time.perf_counter() - started) * 1000,
            "html_kib_per_1000_edges": len(html.encode()) / 1024 / len(graph.edges) * 1000}  # fmt: skip


def open_page(page: Page, path: Path) -> float:
    """Milliseconds from navigation to the view's ready flag, as the page counts them."""
    page.goto(path.as_uri())
    wait_until_laid_out(page, timeout_ms=300_000)
    return float(page.evaluate("() => vpcflowView.readyMs ?? vpcflowView.stabilisedMs"))


UNFOLD = """async () => {
  const view = vpcflowView;
  const largest = view.nodes.get().filter(n => n.folded).sort((a, b) => b.members - a.members)[0];
  const started = performance.now();
  view.state.open.add(largest.key);
  view.redraw();
  await new Promise(done => view.network.once("afterDrawing", done));
  return [performance.now() - started, largest.members, view.nodes.length];
}"""


def before_layout_page(rows: list[dict[str, Any]], tree: Path, path: Path) -> None:
    """The page the viewer of BEFORE_LAYOUT writes for the same rows (its code first on the import path)."""
    script = ("import json, sys; from viewer import graph_from_rows, render_html; "
              "rows = json.load(sys.stdin); open(sys.argv[1], 'w').write(render_html(graph_from_rows(rows), "
              "title='View benchmark', params={}))")  # fmt: skip
    subprocess.run([sys.executable, "-c", script, str(path)], input=json.dumps(rows), text=True, check=True,
                   env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree)  # fmt: skip


def main() -> dict[str, Any]:
    runs = int(os.environ.get("BENCH_RUNS", 3))
    OUT.mkdir(exist_ok=True)
    synthetic, internet = synthetic_rows(), internet_rows(int(os.environ.get("BENCH_VIEW_EDGES", 50_000)))
    figures: dict[str, dict[str, float]] = {"5k nodes / 20k edges": {}, "internet": {}}
    written = {name: [write_page(rows, OUT / f"view-{n}.html") for _ in range(runs)]
               for n, (name, rows) in enumerate((("5k nodes / 20k edges", synthetic), ("internet", internet)))}  # fmt: skip
    for name, results in written.items():
        figures[name] |= {key: statistics.median(r[key] for r in results) for key in results[0]}
    with sync_playwright() as playwright, checkout(BEFORE_LAYOUT) as tree, tempfile.TemporaryDirectory() as scratch:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        interactive, all_lines = [], []
        for _ in range(runs):
            interactive.append(open_page(page, OUT / "view-0.html"))
            page.wait_for_function("() => vpcflowView.linesMs !== null", timeout=300_000)
            all_lines.append(page.evaluate("() => vpcflowView.linesMs"))
        figures["5k nodes / 20k edges"] |= {
            "interactive_ms": statistics.median(interactive),
            "all_lines_drawn_ms": statistics.median(all_lines),
        }
        opened, unfolded, drawn = [], [], []
        for _ in range(runs):
            opened.append(open_page(page, OUT / "view-1.html"))
            drawn.append(page.evaluate("() => [vpcflowView.nodes.length, vpcflowView.edges.length]"))
            unfolded.append(page.evaluate(UNFOLD))
        figures["internet"] |= {"interactive_ms": statistics.median(opened), "nodes_drawn_at_open": drawn[0][0],
                                "lines_drawn_at_open": drawn[0][1], "unfold_largest_ms": statistics.median(u[0] for u in unfolded),
                                "largest_fold_members": unfolded[0][1]}  # fmt: skip
        if tree is not None:
            before = Path(scratch) / "before.html"
            before_layout_page(synthetic, tree, before)
            frozen = [open_page(page, before) for _ in range(runs)]
            figures["5k nodes / 20k edges"][f"before_{BEFORE_LAYOUT}_frozen_ms"] = statistics.median(frozen)
        browser.close()
    print_table("views in headless Chromium (medians)", figures)
    return figures


if __name__ == "__main__":
    main()
