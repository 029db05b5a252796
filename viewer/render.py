"""Render a ViewGraph as one self-contained HTML page: vis-network and the data are inlined."""

from __future__ import annotations

import json
import re
from importlib.resources import files

from etl.sources.timewindow import iso_time
from viewer.graph import ViewGraph, time_window
from viewer.layout import FOLDS, fold_keys, place, public_prefixes

EMPTY_GRAPH_MESSAGE = (
    "the query returned no nodes or relationships to draw; return nodes/relationships/paths, or src and dst columns"
)

FOLD_ABOVE = 1_000  # nodes: a view with more opens with its public unnamed addresses folded
PUBLIC_FOLDS = 300  # at most this many nodes for them, by the longest prefix that allows it
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

# Inside <script>, a "</script>" or "<!--" in the data would end or derail the element, and
# U+2028/U+2029 end string literals in pre-ES2019 engines. JSON's \u escapes mean the same
# characters to JSON.parse, so escaping them changes nothing but the HTML parser's view.
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def render_html(
    graph: ViewGraph,
    *,
    title: str,
    params: dict[str, object],
    subtitle: str | None = None,
    findings: list[dict[str, object]] | None = None,
    fold: str | None = None,
) -> str:
    """The page for ``graph``; raises ValueError when there is nothing to draw. ``findings`` fill the side
    panel: ``{"title", "items": [{"text", "edges": [index in graph.edges]}]}`` per heading. ``fold`` is
    how the page opens folded (none, group, subnet, prefix, public); by default it folds public unnamed
    addresses when there are more than FOLD_ABOVE nodes, and the header says so."""
    if graph.is_empty:
        raise ValueError(EMPTY_GRAPH_MESSAGE)
    if fold is not None and fold not in ("none", *FOLDS):
        raise ValueError(f"folding takes none, {', '.join(FOLDS)}, not {fold!r}")
    nodes = [dict(node) for node in graph.nodes]
    place(nodes, graph.edges)
    public = public_prefixes(nodes, PUBLIC_FOLDS)
    for node in nodes:
        node["fold"] = fold_keys(node, public)
    first, last = time_window(graph)
    meta: dict[str, object] = {
        "title": title,
        "subtitle": subtitle,
        "params": params,
        "window": {"from": iso_time(first), "to": iso_time(last)},
    }
    if findings:
        meta["findings"] = findings
    meta["fold"] = _folding(fold, len(nodes), public)
    parts = {
        "vis_network": _asset("assets/vis-network.min.js"),
        "data": script_json({"meta": meta, "nodes": nodes, "edges": graph.edges}),
    }
    # One pass over the template only, so text inside the inlined parts is never substituted.
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], _asset("template.html"))


def _folding(fold: str | None, count: int, public: tuple[int, int]) -> dict[str, str | None]:
    if fold is not None:
        return {"mode": fold, "reason": None}
    if count > FOLD_ABOVE:
        by = f"/{public[0]} or /{public[1]}" if public[0] else "one node per IP version"
        reason = f"public unnamed addresses by {by}: {count:,} nodes is more than {FOLD_ABOVE:,}; click one to unfold"
        return {"mode": "public", "reason": reason}
    return {"mode": "none", "reason": None}


def script_json(value: object) -> str:
    """JSON that is safe to place inside a ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str, separators=(",", ":"))
    return text.translate(_SCRIPT_ESCAPES)


def _asset(name: str) -> str:
    return files("viewer").joinpath(name).read_text(encoding="utf-8")
