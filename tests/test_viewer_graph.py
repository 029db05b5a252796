"""graph_from_rows and render_html without a browser or a server."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any

import pytest
from neo4j.graph import Node, Path, Relationship

from etl.graph.store import GraphStore
from etl.queries import saved_queries
from tests.fixture_graph import write_fixture_graph
from viewer import ViewGraph, graph_from_rows, render_html
from viewer.graph import time_window
from viewer.layout import fold_keys, public_prefixes
from viewer.render import EMPTY_GRAPH_MESSAGE, script_json

try:  # neo4j 6 moved the Bolt hydrators under _codec.hydration.bolt
    from neo4j._codec.hydration.bolt.v1.hydration_handler import _GraphHydrator
except ImportError:  # neo4j 5
    from neo4j._codec.hydration.v1.hydration_handler import _GraphHydrator  # type: ignore[no-redef]


class Result:
    """Driver graph objects built by the driver's own hydrator, as one query result would hold them."""

    def __init__(self) -> None:
        self._hydrator = _GraphHydrator()
        self._legacy_ids: dict[str, int] = {}

    def _legacy_id(self, element_id: str) -> int:
        return self._legacy_ids.setdefault(element_id, len(self._legacy_ids))

    def address(self, element_id: str, **props: Any) -> Node:
        return self._hydrator.hydrate_node(self._legacy_id(element_id), ["Address"], props, element_id)

    def flow(self, start: str, end: str, **props: Any) -> Relationship:
        element_id = f"r{len(self._legacy_ids)}"
        ids = (self._legacy_id(element_id), self._legacy_id(start), self._legacy_id(end))
        return self._hydrator.hydrate_relationship(*ids, "FLOW", props, element_id, start, end)


def flow_props(**overrides: Any) -> dict[str, Any]:
    props = {"port": 443, "protocol": 6, "action": "ACCEPT", "count": 2, "packets": 10, "bytes": 1000}
    return props | {"first_seen": 100, "last_seen": 200} | overrides


def edge_set(graph: ViewGraph, *fields: str) -> set[tuple[Any, ...]]:
    return {tuple(e[f] for f in ("src", "dst", *fields)) for e in graph.edges}


def node_set(graph: ViewGraph, *fields: str) -> set[tuple[Any, ...]]:
    return {tuple(n[f] for f in ("id", *fields)) for n in graph.nodes}


@pytest.fixture
def result() -> Result:
    web = {"id": "10.0.1.10", "name": "web-1", "group": "web", "scope": "vpc"}
    db = {"id": "10.0.2.20", "name": "db", "group": "database", "scope": "vpc"}
    built = Result()
    built.address("n1", **web)
    built.address("n2", **db)
    built.address("n3", id="203.0.113.9", scope="public")
    return built


def test_nodes_and_relationships_are_keyed_by_the_id_property(result: Result) -> None:
    rows: list[dict[str, Any]] = [
        {"s": result.address("n1"), "f": result.flow("n1", "n2", **flow_props()), "d": result.address("n2")},
        {"s": result.address("n3"), "f": result.flow("n3", "n1", **flow_props(action="REJECT")), "d": None},
    ]
    graph = graph_from_rows(rows)
    assert node_set(graph, "label", "scope") == {
        ("10.0.1.10", "web-1", "vpc"),
        ("10.0.2.20", "db", "vpc"),
        ("203.0.113.9", "203.0.113.9", "public"),
    }
    assert edge_set(graph, "port", "action", "count") == {
        ("10.0.1.10", "10.0.2.20", 443, "ACCEPT", 2),
        ("203.0.113.9", "10.0.1.10", 443, "REJECT", 2),
    }


def test_relationships_alone_bring_their_endpoints(result: Result) -> None:
    graph = graph_from_rows([{"f": result.flow("n1", "n2", **flow_props())}])
    assert node_set(graph, "name") == {("10.0.1.10", "web-1"), ("10.0.2.20", "db")}


def test_an_endpoint_the_result_never_described_is_keyed_by_element_id(result: Result) -> None:
    graph = graph_from_rows([{"f": result.flow("n1", "unseen", **flow_props())}])
    assert edge_set(graph) == {("10.0.1.10", "unseen")}
    assert node_set(graph, "label") == {("10.0.1.10", "web-1"), ("unseen", "unseen")}


@pytest.mark.parametrize("shape", ["path", "list"])
def test_paths_and_lists_are_walked(result: Result, shape: str) -> None:
    hop1 = result.flow("n3", "n1", **flow_props())
    hop2 = result.flow("n1", "n2", **flow_props(port=5432))
    value = Path(result.address("n3"), hop1, hop2) if shape == "path" else [hop1, [hop2]]
    graph = graph_from_rows([{"value": value, "ids": ["x", 1], "n": 3}])
    assert edge_set(graph, "port") == {
        ("203.0.113.9", "10.0.1.10", 443),
        ("10.0.1.10", "10.0.2.20", 5432),
    }
    assert len(graph.nodes) == 3


def test_duplicates_collapse_but_distinct_services_stay_apart(result: Result) -> None:
    same = result.flow("n1", "n2", **flow_props())
    rows: list[dict[str, Any]] = [
        {"f": same},
        {"f": same, "s": result.address("n1")},
        {"f": result.flow("n1", "n2", **flow_props(port=80))},
        {"f": result.flow("n1", "n2", **flow_props(protocol=17))},
        {"f": result.flow("n1", "n2", **flow_props(action="REJECT"))},
    ]
    graph = graph_from_rows(rows)
    assert len(graph.nodes) == 2
    assert len(graph.edges) == 4
    assert sum(e["count"] for e in graph.edges) == 8


SRC_DST_ROWS = [
    {"src": "10.0.1.10", "dst": "10.0.2.20", "src_name": "web-1", "src_group": "web", "port": 5432,
     "protocol": 6, "action": "ACCEPT", "count": 5, "packets": 50, "bytes": 5000,
     "first_seen": 1_700_000_000, "last_seen": 1_700_000_600},
    {"src": "10.0.1.11", "dst": "10.0.2.20", "src_name": "web-2", "src_group": "web", "port": 5432,
     "protocol": 6, "action": "ACCEPT", "count": 7, "packets": 70, "bytes": 7000,
     "first_seen": 1_699_999_000, "last_seen": 1_700_000_100},
    {"src": "10.0.1.11", "dst": "10.0.2.20", "port": 5432, "protocol": 6, "action": "REJECT", "count": 1,
     "packets": 1, "bytes": 40, "first_seen": 1_700_000_050, "last_seen": 1_700_000_050},
    {"src": "203.0.113.9", "dst": "10.0.1.10", "dst_name": "web-1", "src_scope": "public", "port": 443,
     "protocol": 6, "action": "ACCEPT", "count": 3, "packets": 9, "bytes": 900,
     "first_seen": 1_700_000_200, "last_seen": 1_700_001_000},
]  # fmt: skip


def test_src_dst_columns_give_nodes_and_edges() -> None:
    graph = graph_from_rows(SRC_DST_ROWS)
    assert node_set(graph, "label", "group", "scope") == {
        ("10.0.1.10", "web-1", "web", None),
        ("10.0.1.11", "web-2", "web", None),
        ("10.0.2.20", "10.0.2.20", None, None),
        ("203.0.113.9", "203.0.113.9", None, "public"),
    }
    assert edge_set(graph, "action", "count", "bytes") == {
        ("10.0.1.10", "10.0.2.20", "ACCEPT", 5, 5000),
        ("10.0.1.11", "10.0.2.20", "ACCEPT", 7, 7000),
        ("10.0.1.11", "10.0.2.20", "REJECT", 1, 40),
        ("203.0.113.9", "10.0.1.10", "ACCEPT", 3, 900),
    }


def test_a_later_row_fills_in_what_an_earlier_one_lacked() -> None:
    rows = [{"src": "10.0.0.1", "dst": "10.0.0.2"}, {"src": "10.0.0.2", "dst": "10.0.0.1", "dst_name": "nat"}]
    assert node_set(graph_from_rows(rows), "label", "name") == {
        ("10.0.0.1", "nat", "nat"),
        ("10.0.0.2", "10.0.0.2", None),
    }


def test_traffic_is_the_bytes_of_a_nodes_edges() -> None:
    rows = [*SRC_DST_ROWS, {"src": "10.0.2.20", "dst": "10.0.2.20", "bytes": 11}]
    traffic = {n["id"]: n["traffic"] for n in graph_from_rows(rows).nodes}
    assert traffic == {
        "10.0.1.10": 5000 + 900,
        "10.0.1.11": 7000 + 40,
        "10.0.2.20": 5000 + 7000 + 40 + 11,
        "203.0.113.9": 900,
    }


def test_group_by_group_merges_nodes_and_sums_coinciding_edges() -> None:
    graph = graph_from_rows(SRC_DST_ROWS, group_by="group")
    assert node_set(graph, "label") == {
        ("group:web", "web"),
        ("10.0.2.20", "10.0.2.20"),
        ("203.0.113.9", "203.0.113.9"),
    }
    web = next(n for n in graph.nodes if n["id"] == "group:web")
    assert web["members"] == ["10.0.1.10", "10.0.1.11"]
    assert edge_set(graph, "action", "count", "packets", "bytes", "first_seen", "last_seen") == {
        ("group:web", "10.0.2.20", "ACCEPT", 12, 120, 12000, 1_699_999_000, 1_700_000_600),
        ("group:web", "10.0.2.20", "REJECT", 1, 1, 40, 1_700_000_050, 1_700_000_050),
        ("203.0.113.9", "group:web", "ACCEPT", 3, 9, 900, 1_700_000_200, 1_700_001_000),
    }


def test_group_by_name_keeps_unnamed_nodes_apart() -> None:
    rows = [
        {"src": "10.0.0.1", "dst": "10.0.0.9", "src_name": "nat", "count": 1},
        {"src": "10.0.0.2", "dst": "10.0.0.9", "src_name": "nat", "count": 2},
        {"src": "10.0.0.3", "dst": "10.0.0.9", "count": 4},
    ]
    graph = graph_from_rows(rows, group_by="name")
    assert edge_set(graph, "count") == {("name:nat", "10.0.0.9", 3), ("10.0.0.3", "10.0.0.9", 4)}


def test_a_merged_node_keeps_what_all_its_members_share(result: Result) -> None:
    members = [
        result.address("p1", id="x1", group="web", scope="vpc", pseudonymized=True, first_seen=5, last_seen=9),
        result.address("p2", id="x2", group="web", scope="public", pseudonymized=True, first_seen=3, last_seen=7),
        result.address("p3", id="x3", group="db", scope="vpc", pseudonymized=False),
        result.address("p4", id="x4", group="db", scope="vpc", pseudonymized=True),
    ]
    graph = graph_from_rows([{"addresses": members}], group_by="group")
    assert node_set(graph, "scope", "pseudonymized", "first_seen", "last_seen") == {
        ("group:web", None, True, 3, 9),
        ("group:db", "vpc", False, None, None),
    }


def test_group_by_accepts_only_name_or_group() -> None:
    with pytest.raises(ValueError, match="group_by must be one of name, group"):
        graph_from_rows(SRC_DST_ROWS, group_by="scope")


@pytest.mark.parametrize(
    "rows",
    [[], [{"n": 1, "name": "x"}], [{"src": "10.0.0.1"}], [{"src": 1, "dst": 2}]],
    ids=["no rows", "primitives", "src without dst", "non-string src/dst"],
)
def test_rows_without_graph_values_give_an_empty_graph_render_refuses(rows: list[dict[str, Any]]) -> None:
    graph = graph_from_rows(rows)
    assert graph == ViewGraph(nodes=[], edges=[])
    with pytest.raises(ValueError, match=re.escape(EMPTY_GRAPH_MESSAGE)):
        render_html(graph, title="t", params={})


def test_time_window_spans_the_edges() -> None:
    assert time_window(graph_from_rows(SRC_DST_ROWS)) == (1_699_999_000, 1_700_001_000)
    assert time_window(graph_from_rows([{"src": "a", "dst": "b"}])) == (None, None)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("</script><script>alert(1)</script>", "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"),
        ("<!-- a & b", "\\u003c!-- a \\u0026 b"),
        ("line\u2028sep\u2029para", "line\\u2028sep\\u2029para"),
    ],
)
def test_script_json_escapes_what_could_end_a_script_element(text: str, escaped: str) -> None:
    encoded = script_json({"name": text})
    assert escaped in encoded
    assert not set("<>&\u2028\u2029") & set(encoded)
    assert json.loads(encoded) == {"name": text}


def page_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


def test_render_inlines_everything_and_carries_the_header_data() -> None:
    graph = graph_from_rows(SRC_DST_ROWS)
    html = render_html(graph, title="Database clients", params={"port": 5432}, subtitle="db.cypher")
    assert "@version 10.1.2" in html and "vis.js is dual licensed" in html
    data = page_data(html)
    assert data["meta"] == {
        "title": "Database clients",
        "subtitle": "db.cypher",
        "params": {"port": 5432},
        "window": {"from": "2023-11-14T21:56:40Z", "to": "2023-11-14T22:30:00Z"},
        "fold": {"mode": "none", "reason": None},
    }
    # The nodes as given, with where they are drawn and what they fold into.
    assert [{k: v for k, v in n.items() if k not in ("x", "y", "fold")} for n in data["nodes"]] == graph.nodes
    assert all(isinstance(n["x"], int) and isinstance(n["y"], int) for n in data["nodes"])
    assert data["edges"] == graph.edges


def test_the_same_rows_give_the_same_picture() -> None:
    pages = [page_data(render_html(graph_from_rows(SRC_DST_ROWS), title="t", params={})) for _ in range(2)]
    positions = [[(n["id"], n["x"], n["y"]) for n in page["nodes"]] for page in pages]
    assert positions[0] == positions[1] and len({(x, y) for _, x, y in positions[0]}) == len(positions[0])


@pytest.mark.parametrize(
    ("node", "keys"),
    [
        ({"address": "203.0.113.9", "scope": "public"}, {"prefix": "203.0.113.0/24", "public": "203.0.113.0/24"}),
        ({"address": "2001:db8::17", "scope": "public"}, {"prefix": "2001:db8::/64", "public": "2001:db8::/64"}),
        ({"address": "10.0.3.30", "scope": "vpc", "subnet": "subnet-0a", "group": "data"},
         {"prefix": "10.0.3.0/24", "subnet": "subnet subnet-0a", "group": "group data"}),
        ({"address": "10.0.3.30", "name": "database", "scope": "vpc"}, {}),  # a name stays itself
        ({"address": "203.0.113.0/24", "scope": "public"}, {}),  # a public prefix already
    ],
)  # fmt: skip
def test_what_a_node_folds_into(node: dict[str, Any], keys: dict[str, str]) -> None:
    assert fold_keys(node) == keys


def test_folding_is_checked() -> None:
    with pytest.raises(ValueError, match="folding takes none, group, subnet, prefix, public, not 'hexagons'"):
        render_html(graph_from_rows(SRC_DST_ROWS), title="t", params={}, fold="hexagons")


def test_a_hostile_name_stays_data() -> None:
    hostile = "</script><script>alert(1)</script>"
    html = render_html(graph_from_rows([{"src": hostile, "dst": "10.0.0.1"}]), title=hostile, params={})
    assert html.count("<script") == 3
    assert hostile not in html
    assert page_data(html)["meta"]["title"] == hostile


def test_the_template_loads_nothing_from_elsewhere() -> None:
    template = files("viewer").joinpath("template.html").read_text(encoding="utf-8")
    assert not re.search(r"https?:|//cdn|<link|<img|\bsrc=|url\(|@import", template)
    assert "default-src 'none'" in template


def test_vendored_vis_network_cannot_close_its_script_element() -> None:
    source = files("viewer").joinpath("assets/vis-network.min.js").read_text(encoding="utf-8").lower()
    assert "</script" not in source and "<!--" not in source


EDGE_QUERIES = [q for q in saved_queries() if q.name != "top-talkers"]


@pytest.mark.integration
@pytest.mark.parametrize("query", EDGE_QUERIES, ids=lambda q: q.name)
def test_every_edge_query_draws_exactly_its_rows(store: GraphStore, query: Any) -> None:
    write_fixture_graph(store)
    _, rows = store.query(query.text, query.bind([]))
    graph = graph_from_rows(rows)
    assert edge_set(graph, "port", "protocol", "action", "count") == {
        (r["src"], r["dst"], r["port"], r["protocol"], r["action"], r["count"]) for r in rows
    }
    assert len(graph.edges) == len(rows)
    assert {n["id"] for n in graph.nodes} == {r["src"] for r in rows} | {r["dst"] for r in rows}
    names = {(r["src"], r["src_name"]) for r in rows} | {(r["dst"], r["dst_name"]) for r in rows}
    assert node_set(graph, "label") == {(node, name or node) for node, name in names}


def test_public_addresses_fold_by_the_longest_prefix_that_leaves_few_enough() -> None:
    spread = [{"address": f"{a}.{b}.7.9", "scope": "public"} for a in range(1, 41) for b in range(10)]  # 400 /16s
    assert public_prefixes(spread, 300) == (8, 32)  # 40 /8s; 400 /24s and /16s are too many
    assert public_prefixes(spread, 400) == (24, 64)
    assert public_prefixes([*spread, {"address": "10.0.0.1", "scope": "vpc"}], 40) == (8, 32)  # others not counted
    assert public_prefixes(spread, 10) == (0, 0)
