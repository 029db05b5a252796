"""Turn Cypher result rows into the nodes and edges the HTML view draws."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from neo4j.graph import Node, Path, Relationship

from etl.networks import qualified

NODE_FIELDS = ("name", "group", "role", "scope", "pseudonymized", "first_seen", "last_seen",
               "network", "vpc", "account", "subnet", "az", "eni")  # fmt: skip
EDGE_FIELDS = (
    "port",
    "protocol",
    "action",
    "count",
    "packets",
    "bytes",
    "requests",
    "replies",
    "first_seen",
    "last_seen",
    "flag",  # why the edge is drawn highlighted (a policy violation, say); a query may return one too
    "change",  # new, gone, grown or shrunk: how a diff draws it
    "before_count",
)
GROUP_KEYS = ("name", "group")
_SUMMED = ("count", "packets", "bytes", "requests", "replies")

EdgeKey = tuple[Any, ...]


@dataclass
class ViewGraph:
    """What one view draws: node dicts keyed by ``id``, edge dicts joining ``src`` to ``dst``."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.nodes and not self.edges


def graph_from_rows(rows: list[dict[str, Any]], *, group_by: str | None = None) -> ViewGraph:
    """Collect every node, relationship and path in ``rows``, plus any ``src``/``dst`` column pairs.

    Rows are ``dict(record)``: values are the driver's raw ``Node``/``Relationship``/``Path``
    objects, lists of them, or primitives. ``group_by`` ("name" or "group") merges the nodes that
    share that property into one and sums the edges that then coincide.
    """
    if group_by is not None and group_by not in GROUP_KEYS:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_KEYS)}, not {group_by!r}")
    collector = _Collector()
    for row in rows:
        for value in row.values():
            collector.add_value(value)
        if isinstance(row.get("src"), str) and isinstance(row.get("dst"), str):
            collector.add_src_dst_row(row)
    nodes, edges = list(collector.nodes.values()), list(collector.edges.values())
    _qualify_clashing_labels(nodes)
    if group_by is not None:
        nodes, edges = _merge_groups(nodes, edges, group_by)
    _set_traffic(nodes, edges)
    return ViewGraph(nodes=nodes, edges=edges)


def edge_index(graph: ViewGraph) -> dict[EdgeKey, int]:
    """Each edge's position in ``graph.edges`` by (src, dst, port, protocol, action): how a page refers to it."""
    return {_edge_key(edge): index for index, edge in enumerate(graph.edges)}


def time_window(graph: ViewGraph) -> tuple[int | None, int | None]:
    """Earliest ``first_seen`` and latest ``last_seen`` over the edges (None when unknown)."""
    firsts = [e["first_seen"] for e in graph.edges if e.get("first_seen") is not None]
    lasts = [e["last_seen"] for e in graph.edges if e.get("last_seen") is not None]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


class _Collector:
    """Deduplicates nodes by view id and edges by (src, dst, port, protocol, action)."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[EdgeKey, dict[str, Any]] = {}

    def add_value(self, value: object) -> None:
        if isinstance(value, Node):
            self._add_node(_node_id(value), {f: value.get(f) for f in NODE_FIELDS}, value.get("id"))
        elif isinstance(value, Relationship):
            self._add_relationship(value)
        elif isinstance(value, Path):
            for item in (*value.nodes, *value.relationships):
                self.add_value(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self.add_value(item)

    def add_src_dst_row(self, row: dict[str, Any]) -> None:
        ends = {}
        for end in ("src", "dst"):
            props = {f: row.get(f"{end}_{f}") for f in ("name", "group", "scope", "network", "pseudonymized")}
            # The node's key: an address of a network, unless the row gives it whole.
            ends[end] = str(row.get(f"{end}_key") or qualified(props["network"], row[end]))
            self._add_node(ends[end], props, row[end])
        self._add_edge(ends["src"], ends["dst"], {f: row.get(f) for f in EDGE_FIELDS})

    def _add_relationship(self, rel: Relationship) -> None:
        start, end = rel.start_node, rel.end_node
        # The driver binds both ends of every relationship it returns, paths included;
        # an unbound one has nowhere to be drawn.
        if start is None or end is None:
            return
        self.add_value(start)
        self.add_value(end)
        self._add_edge(_node_id(start), _node_id(end), {f: rel.get(f) for f in EDGE_FIELDS})

    def _add_node(self, node_id: str, props: dict[str, Any], address: str | None) -> None:
        known = self.nodes.get(node_id)
        if known is None:
            address = node_id if address is None else str(address)
            self.nodes[node_id] = {"id": node_id, "address": address, "label": str(props.get("name") or address)} | {
                f: props.get(f) for f in NODE_FIELDS
            }
            return
        # The same address can arrive twice, once with fewer properties (a src/dst row, say).
        for key, value in props.items():
            if known.get(key) is None and value is not None:
                known[key] = value
        if props.get("name") and known["label"] == known["address"]:
            known["label"] = str(props["name"])

    def _add_edge(self, src: str, dst: str, props: dict[str, Any]) -> None:
        edge = {"src": src, "dst": dst} | props
        self.edges.setdefault(_edge_key(edge), edge)


def _node_id(node: Node) -> str:
    # An address's key is its identity (its id, qualified by its network). A node the query returned
    # only as a relationship's endpoint carries no properties, so its element id is all there is.
    value = node.get("key") or node.get("id")
    return node.element_id if value is None else str(value)


def _qualify_clashing_labels(nodes: list[dict[str, Any]]) -> None:
    """An unnamed address shown in two networks (10.0.3.30 of two VPCs) is labelled with its key
    (`vpc-0abc/10.0.3.30`), so the two read apart; a view of one network keeps plain addresses."""
    unnamed = [n for n in nodes if n["label"] == n["address"]]
    clashing = {label for label, count in Counter(n["label"] for n in unnamed).items() if count > 1}
    for node in unnamed:
        if node["label"] in clashing:
            node["label"] = node["id"]


def _edge_key(edge: dict[str, Any]) -> EdgeKey:
    return (edge["src"], edge["dst"], edge.get("port"), edge.get("protocol"), edge.get("action"))


def _merge_groups(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], group_by: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    members: dict[str, list[dict[str, Any]]] = {}
    view_id: dict[str, str] = {}
    for node in nodes:
        value = node.get(group_by)
        merged_id = node["id"] if value in (None, "") else f"{group_by}:{value}"
        view_id[node["id"]] = merged_id
        members.setdefault(merged_id, []).append(node)
    # A node without the property is a group of one under its own id, and stays as it is.
    merged_nodes = [
        group[0] if group[0]["id"] == merged_id else _merged_node(merged_id, group, group_by)
        for merged_id, group in members.items()
    ]
    merged_edges: dict[EdgeKey, dict[str, Any]] = {}
    for edge in edges:
        moved = edge | {"src": view_id[edge["src"]], "dst": view_id[edge["dst"]]}
        key = _edge_key(moved)
        merged_edges[key] = _sum_edges(merged_edges[key], moved) if key in merged_edges else moved
    return merged_nodes, list(merged_edges.values())


def _merged_node(merged_id: str, group: list[dict[str, Any]], group_by: str) -> dict[str, Any]:
    node = {f: _common(n.get(f) for n in group) for f in NODE_FIELDS}
    node["first_seen"] = _fold(min, (n.get("first_seen") for n in group))
    node["last_seen"] = _fold(max, (n.get("last_seen") for n in group))
    node["pseudonymized"] = all(bool(n.get("pseudonymized")) for n in group)
    node[group_by] = group[0][group_by]
    return {"id": merged_id, "label": str(node[group_by])} | node | {"members": sorted(n["id"] for n in group)}


def _sum_edges(total: dict[str, Any], edge: dict[str, Any]) -> dict[str, Any]:
    summed = {f: _fold(sum, (total.get(f), edge.get(f))) for f in _SUMMED}
    return (
        total
        | summed
        | {
            "first_seen": _fold(min, (total.get("first_seen"), edge.get("first_seen"))),
            "last_seen": _fold(max, (total.get("last_seen"), edge.get("last_seen"))),
        }
    )


def _fold(reduce: Callable[[list[Any]], Any], values: Iterable[Any]) -> Any:
    """``reduce`` over the values that are known; None when none is."""
    known = [v for v in values if v is not None]
    return reduce(known) if known else None


def _common(values: Iterable[Any]) -> Any:
    """The one value all members share, else None."""
    distinct = {v for v in values if v is not None}
    return distinct.pop() if len(distinct) == 1 else None


def _set_traffic(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    traffic = dict.fromkeys((n["id"] for n in nodes), 0)
    for edge in edges:
        size = edge.get("bytes") or 0
        traffic[edge["src"]] += size
        if edge["dst"] != edge["src"]:
            traffic[edge["dst"]] += size
    for node in nodes:
        node["traffic"] = traffic[node["id"]]
