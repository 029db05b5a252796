"""Where each node is drawn, computed when the view is written, and what each node folds into.

The page opens laid out, its physics off: positions come from igraph's Fruchterman-Reingold layout (C,
a fraction of a second for 5,000 nodes and 20,000 edges), run with a random generator of its own and a
fixed seed, so the same rows always give the same picture. "Resume layout" in the page runs
vis-network's physics from there.
"""

from __future__ import annotations

import ipaddress
import random
import statistics
from typing import Any

import igraph

EDGE_LENGTH = 160.0  # pixels: the median edge is drawn this long; leaves around a hub need the room
_SEED = 7
# igraph's grid variant is near linear: 0.14 s for 1,000 nodes where the exact one takes 2 s; fewer
# iterations for large views keep 5,000 nodes near half a second.
_GRID_FROM = 100
_FEWER_ITERATIONS_FROM = 2_000
FOLDS = ("group", "subnet", "prefix", "public")  # what a node can fold into; "public": public unnamed ones only


def place(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    """Set `x` and `y` on every node."""
    if not nodes:
        return
    index = {node["id"]: i for i, node in enumerate(nodes)}
    pairs = sorted({(min(a, b), max(a, b)) for e in edges if (a := index[e["src"]]) != (b := index[e["dst"]])})
    graph = igraph.Graph(n=len(nodes), edges=pairs)
    igraph.set_random_number_generator(random.Random(_SEED))
    try:
        iterations = 500 if len(nodes) < _FEWER_ITERATIONS_FROM else 250
        coords = graph.layout_fruchterman_reingold(niter=iterations, grid=len(nodes) >= _GRID_FROM).coords
    finally:
        igraph.set_random_number_generator(random)
    lengths = [_distance(coords[a], coords[b]) for a, b in pairs]
    scale = EDGE_LENGTH / (statistics.median(lengths) or 1.0) if lengths else EDGE_LENGTH
    for node, (x, y) in zip(nodes, coords, strict=True):
        node["x"], node["y"] = round(x * scale), round(y * scale)  # whole pixels, as vis-network reports them


def _distance(a: list[float], b: list[float]) -> float:
    return float(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5)


# Public unnamed addresses fold by the longest of these (IPv4, IPv6) prefixes that leaves few enough
# nodes: internet clients are spread thin, so a /24 each often folds nothing.
PUBLIC_PREFIXES = ((24, 64), (16, 48), (8, 32), (0, 0))


def fold_keys(node: dict[str, Any], public: tuple[int, int] = PUBLIC_PREFIXES[0]) -> dict[str, str]:
    """The folded node each way of folding puts this node in; a node a way leaves alone has no key for it.

    Named addresses stay themselves under `prefix`: a name says more than its /24."""
    keys = {}
    if node.get("group"):
        keys["group"] = f"group {node['group']}"
    if node.get("subnet"):
        keys["subnet"] = f"subnet {node['subnet']}"
    ip = _unnamed_address(node)
    if ip is not None:
        keys["prefix"] = _prefix(ip, PUBLIC_PREFIXES[0])
        if node.get("scope") == "public":
            keys["public"] = _prefix(ip, public)
    return keys


def public_prefixes(nodes: list[dict[str, Any]], limit: int) -> tuple[int, int]:
    """The longest prefixes that fold the public unnamed addresses into at most `limit` nodes: few
    enough to read, each small enough to unfold at once."""
    public = [ip for n in nodes if n.get("scope") == "public" and (ip := _unnamed_address(n)) is not None]
    for lengths in PUBLIC_PREFIXES:
        if len({_prefix(ip, lengths) for ip in public}) <= limit:
            return lengths
    return PUBLIC_PREFIXES[-1]


def _unnamed_address(node: dict[str, Any]) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if node.get("name") or node.get("members"):
        return None
    try:
        return ipaddress.ip_address(str(node.get("address")))
    except ValueError:
        return None  # a public prefix node already, or an id that is no address


def _prefix(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, lengths: tuple[int, int]) -> str:
    return str(ipaddress.ip_network(f"{ip}/{lengths[0] if ip.version == 4 else lengths[1]}", strict=False))
