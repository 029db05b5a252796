"""How long a 5,000-node / 20,000-edge view takes to lay out and freeze in headless Chromium.

Run from the repository root: ``PYTHONPATH=. python bench/view_layout.py``.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from tests.browser import launch_chromium, wait_until_laid_out
from viewer import ViewGraph, graph_from_rows, render_html

NODES = 5_000
EDGES = 20_000
HUBS = 50
SCOPES = ("vpc", "private", "public", "aws-service", "special")
OUT = Path(__file__).resolve().parent.parent / "bench-out" / "view_layout.html"


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


def time_layout(page_path: Path) -> dict[str, float]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        started = time.perf_counter()
        page.goto(page_path.as_uri())
        wait_until_laid_out(page, timeout_ms=300_000)
        wall_ms = (time.perf_counter() - started) * 1000
        stabilised_ms = page.evaluate("() => window.vpcflowView.stabilisedMs")
        browser.close()
    return {"stabilised_ms": stabilised_ms, "wall_ms_to_frozen": round(wall_ms)}


def main() -> dict[str, Any]:
    started = time.perf_counter()
    graph: ViewGraph = graph_from_rows(synthetic_rows())
    build_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    html = render_html(graph, title="Synthetic layout benchmark", params={"nodes": NODES, "edges": EDGES})
    render_ms = (time.perf_counter() - started) * 1000
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(html, encoding="utf-8")
    figures: dict[str, Any] = {
        "nodes": len(graph.nodes),
        "edges": len(graph.edges),
        "graph_from_rows_ms": round(build_ms),
        "render_html_ms": round(render_ms),
        "html_bytes": len(html.encode()),
        **time_layout(OUT),
    }
    for name, value in figures.items():
        print(f"{name}: {value}")
    return figures


if __name__ == "__main__":
    main()
