"""Every saved query on the live Bolt server against a graph whose answers are known; the header format."""

from __future__ import annotations

import re
from typing import Any

import pytest

from etl.errors import QueryError, UsageError
from etl.graph.store import GraphStore
from etl.queries import browser_text, cypher_literal, find_query, parse_query, saved_queries
from tests.fixture_graph import (
    AWS_API,
    AZ_1,
    AZ_2,
    CACHE,
    CLIENT,
    DB,
    HOUR,
    LB_A,
    LB_B,
    LB_C,
    LDAP,
    METADATA,
    NAT,
    NTP,
    SCANNER_1,
    SCANNER_2,
    T0,
    WEB_1,
    WEB_2,
    write_fixture_graph,
)

EDGE_COLUMNS = ["src", "src_name", "src_scope", "src_group", "src_network", "src_pseudonymized", "dst", "dst_name",
                "dst_scope", "dst_group", "dst_network", "dst_pseudonymized", "port", "protocol", "action", "count", "packets", "bytes", "first_seen",
                "last_seen"]  # fmt: skip

LB_EDGES = {(CLIENT, LB_A, 443), (CLIENT, LB_B, 443), (CLIENT, LB_C, 443), (LB_A, CLIENT, 443), (LB_A, WEB_1, 80),
            (LB_B, WEB_2, 80), (LB_A, WEB_2, 80), (SCANNER_1, LB_A, 22), (SCANNER_1, LB_A, 3389),
            (SCANNER_1, LB_B, 22), (SCANNER_2, LB_A, 22)}  # fmt: skip
LDAP_DEPTH_2 = {(WEB_1, LDAP, 389), (DB, LDAP, 636), (LB_A, WEB_1, 80), (WEB_1, DB, 5432), (WEB_1, CACHE, 6379),
                (WEB_1, NAT, 443), (SCANNER_1, WEB_1, 23), (WEB_2, DB, 5432)}  # fmt: skip
SCANNER_1_EDGES = {(SCANNER_1, LB_A, 22), (SCANNER_1, LB_A, 3389), (SCANNER_1, LB_B, 22), (SCANNER_1, WEB_1, 23)}
NEW_SINCE_ONE_HOUR = [(CLIENT, LB_C, 443), (DB, LDAP, 636), (SCANNER_2, LB_A, 22), (SCANNER_1, WEB_1, 23)]


def run(store: GraphStore, name: str, *assignments: str) -> tuple[list[str], list[dict[str, Any]]]:
    """A saved query by name, its parameters bound from `name=value` text as the CLI binds them."""
    query = find_query(name)
    write_fixture_graph(store)
    return store.query(query.text, query.bind(list(assignments)))


# (query, parameters, the fields each row is reduced to, the rows in order); order matters where it ranks.
RANKED = [
    ("top-edges", ["k=3"], ("src", "dst", "count"), [(WEB_1, CACHE, 500), (WEB_2, CACHE, 450), (CLIENT, LB_A, 400)]),
    ("top-edges", ["k=3", "by=bytes"], ("src", "dst", "bytes"),
     [(WEB_1, DB, 8_000_000), (WEB_2, DB, 6_000_000), (CLIENT, LB_A, 2_000_000)]),
    ("top-edges", ["by=packets", "k=3"], ("src", "dst", "packets"),
     [(WEB_1, DB, 5000), (CLIENT, LB_A, 4000), (LB_A, WEB_1, 3500)]),
    ("rejected", ["k=2"], ("src", "dst", "port", "action", "count"),
     [(SCANNER_1, LB_A, 22, "REJECT", 5), (SCANNER_1, LB_A, 3389, "REJECT", 4)]),
    ("egress", [], ("src", "dst", "port", "dst_scope", "bytes"),
     [(LB_A, CLIENT, 443, "public", 600_000), (NAT, AWS_API, 443, "aws-service", 50_000), (NAT, NTP, 123, "public", 760)]),
    ("new-edges", ["since=2026-01-01T01:00:00Z"], ("src", "dst", "port"), NEW_SINCE_ONE_HOUR),
    ("new-edges", [f"since={T0 + HOUR}"], ("src", "dst", "port"), NEW_SINCE_ONE_HOUR),
    ("new-edges", ["since=2026-01-01T02:00:00+01:00"], ("src", "dst", "port"), NEW_SINCE_ONE_HOUR),
    ("new-edges", ["k=2"], ("src", "dst", "first_seen"), [(CLIENT, LB_C, T0 + 2 * HOUR), (DB, LDAP, T0 + 7_000)]),
    ("top-talkers", ["k=3"], ("id", "name", "bytes_out", "bytes_in", "bytes", "count_out", "count_in"),
     [(DB, "database", 120, 14_000_000, 14_000_120, 2, 350),
      (WEB_1, "web-1", 8_195_000, 1_800_080, 9_995_080, 750, 352),
      (WEB_2, "web-2", 6_099_000, 1_450_000, 7_549_000, 612, 300)]),
    ("cross-az", [], ("src", "dst", "src_az", "dst_az", "bytes"),
     [(WEB_2, DB, AZ_2, AZ_1, 6_000_000), (LB_A, WEB_2, AZ_1, AZ_2, 250_000), (WEB_1, CACHE, AZ_1, AZ_2, 100_000)]),
    ("cross-az", ["price=1.5", "k=1"], ("bytes", "cost"), [(6_000_000, 6_000_000 * 1.5 / 2**30)]),
    # The gateway's one inside leg: what it processes, once; its edges to the outside are the same bytes.
    ("nat-gateway", [], ("src", "dst", "gateway", "gateway_bytes", "bytes", "cost"),
     [(WEB_1, NAT, "nat-gateway", 50_000, 50_000, 50_000 * 0.045 / 2**30)]),
    ("nat-gateway", ["price=2"], ("gateway_cost",), [(50_000 * 2 / 2**30,)]),
]  # fmt: skip

# (query, parameters, the fields each row is reduced to, the set of rows).
SETS = [
    ("min-count", ["min=300"], ("src", "dst", "count"),
     {(WEB_1, CACHE, 500), (WEB_2, CACHE, 450), (CLIENT, LB_A, 400), (LB_A, WEB_1, 350), (CLIENT, LB_B, 300)}),
    ("rejected", [], ("src", "dst", "port"), SCANNER_1_EDGES | {(SCANNER_2, LB_A, 22), (DB, LDAP, 636)}),
    ("talks-to", [], ("src", "dst", "port"), {(WEB_1, DB, 5432), (WEB_2, DB, 5432), (DB, LDAP, 636)}),
    ("talks-to", [f"who={DB}", "depth=1"], ("src", "dst", "port"),
     {(WEB_1, DB, 5432), (WEB_2, DB, 5432), (DB, LDAP, 636)}),
    ("talks-to", ["who=load-balancer"], ("src", "dst", "port"), LB_EDGES),
    ("talks-to", ["who=ldap", "depth=2"], ("src", "dst", "port"), LDAP_DEPTH_2),
    ("talks-to", ["who=nobody", "depth=2"], ("src", "dst", "port"), set()),
    ("by-port", ["port=5432"], ("src", "dst", "protocol"), {(WEB_1, DB, 6), (WEB_2, DB, 6)}),
    ("by-port", ["port=123"], ("src", "dst", "protocol"), {(NAT, NTP, 17)}),
    ("by-port", [], ("src", "dst", "action"),
     {(CLIENT, LB_A, "ACCEPT"), (CLIENT, LB_B, "ACCEPT"), (CLIENT, LB_C, "ACCEPT"), (LB_A, CLIENT, "ACCEPT"),
      (WEB_1, NAT, "ACCEPT"), (NAT, AWS_API, "ACCEPT")}),
    ("scanners", [], ("src", "dst", "port", "rejected_ports", "rejected_hosts"),
     {(*edge, 3, 3) for edge in SCANNER_1_EDGES}),
    ("scanners", ["min_ports=1", "min_hosts=99"], ("src", "dst", "port"),
     SCANNER_1_EDGES | {(SCANNER_2, LB_A, 22), (DB, LDAP, 636)}),
    ("scanners", ["min_ports=2", "min_hosts=99"], ("src", "dst", "port"), SCANNER_1_EDGES),
    ("scanners", ["min_ports=99", "min_hosts=99"], ("src", "dst", "port"), set()),
]  # fmt: skip

BY_NAME_FIELDS = ("src", "dst", "port", "action", "count", "src_addresses", "dst_addresses")
BY_NAME = {
    (CLIENT, "load-balancer", 443, "ACCEPT", 730, 1, 3), ("load-balancer", CLIENT, 443, "ACCEPT", 40, 1, 1),
    ("web-1", "cache", 6379, "ACCEPT", 500, 1, 1), ("web-2", "cache", 6379, "ACCEPT", 450, 1, 1),
    ("load-balancer", "web-1", 80, "ACCEPT", 350, 1, 1), ("load-balancer", "web-2", 80, "ACCEPT", 300, 2, 1),
    ("web-1", "database", 5432, "ACCEPT", 200, 1, 1), ("web-2", "database", 5432, "ACCEPT", 150, 1, 1),
    ("web-1", "ldap", 389, "ACCEPT", 30, 1, 1), ("nat-gateway", AWS_API, 443, "ACCEPT", 20, 1, 1),
    ("web-1", "nat-gateway", 443, "ACCEPT", 20, 1, 1), ("web-2", "instance-metadata", 80, "ACCEPT", 12, 1, 1),
    ("nat-gateway", NTP, 123, "ACCEPT", 10, 1, 1), (SCANNER_1, "load-balancer", 22, "REJECT", 8, 1, 2),
    (SCANNER_1, "load-balancer", 3389, "REJECT", 4, 1, 1), (SCANNER_1, "web-1", 23, "REJECT", 2, 1, 1),
    ("database", "ldap", 636, "REJECT", 2, 1, 1), (SCANNER_2, "load-balancer", 22, "REJECT", 1, 1, 1),
}  # fmt: skip
BY_GROUP_FROM_WEB = {
    ("web", "data", 6379, "ACCEPT", 950, 2, 1), ("web", "data", 5432, "ACCEPT", 350, 2, 1),
    ("web", "corp", 389, "ACCEPT", 30, 1, 1), ("web", "public", 443, "ACCEPT", 20, 1, 1),
    ("web", METADATA, 80, "ACCEPT", 12, 1, 1),
}  # fmt: skip

TESTED = {case[0] for case in RANKED + SETS} | {"by-name"}


def reduce(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(row[f] for f in fields) for row in rows]


def case_id(case: tuple[Any, ...]) -> str:
    return " ".join([case[0], *case[1]])


@pytest.mark.integration
@pytest.mark.parametrize(("name", "params", "fields", "expected"), RANKED, ids=map(case_id, RANKED))
def test_ranking_queries_give_the_known_rows_in_order(
    store: GraphStore, name: str, params: list[str], fields: tuple[str, ...], expected: list[tuple[Any, ...]]
) -> None:
    _, rows = run(store, name, *params)
    assert reduce(rows, fields) == expected


@pytest.mark.integration
@pytest.mark.parametrize(("name", "params", "fields", "expected"), SETS, ids=map(case_id, SETS))
def test_queries_give_the_known_rows(
    store: GraphStore, name: str, params: list[str], fields: tuple[str, ...], expected: set[tuple[Any, ...]]
) -> None:
    _, rows = run(store, name, *params)
    assert set(reduce(rows, fields)) == expected
    assert len(rows) == len(expected), "a row came back twice"


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(TESTED - {"top-talkers"}))
def test_edge_queries_return_the_columns_the_view_draws(store: GraphStore, name: str) -> None:
    columns, rows = run(store, name)
    assert rows, f"{name} gave no rows on the fixture graph"
    assert columns[: len(EDGE_COLUMNS)] == EDGE_COLUMNS


@pytest.mark.integration
def test_edge_rows_carry_both_ends_and_the_whole_edge(store: GraphStore) -> None:
    _, rows = run(store, "rejected", "k=1")
    assert rows == [
        {"src": SCANNER_1, "src_name": None, "src_scope": "public", "src_group": None, "src_network": None,
         "src_pseudonymized": False, "dst": LB_A, "dst_name": "load-balancer", "dst_scope": "vpc",
         "dst_group": "public", "dst_network": None, "dst_pseudonymized": False,
         "port": 22, "protocol": 6, "action": "REJECT", "count": 5, "packets": 5, "bytes": 200,
         "first_seen": T0, "last_seen": T0 + HOUR}
    ]  # fmt: skip


@pytest.mark.integration
def test_by_name_merges_addresses_that_share_a_name(store: GraphStore) -> None:
    _, rows = run(store, "by-name")
    assert set(reduce(rows, BY_NAME_FIELDS)) == BY_NAME and len(rows) == len(BY_NAME)
    into_lbs = next(r for r in rows if r["src"] == CLIENT and r["dst"] == "load-balancer")
    expected = {
        "src_name": None,
        "src_scope": "public",
        "dst_name": "load-balancer",
        "dst_scope": "vpc",
        "dst_group": "public",
        "packets": 7190,
        "bytes": 3_650_000,
        "first_seen": T0,
        "last_seen": T0 + 3 * HOUR,
    }
    assert {key: into_lbs[key] for key in expected} == expected


@pytest.mark.integration
def test_by_group_keeps_ungrouped_addresses_with_their_names(store: GraphStore) -> None:
    _, rows = run(store, "by-name", "key=group")
    from_web = [r for r in rows if r["src"] == "web"]
    assert set(reduce(from_web, BY_NAME_FIELDS)) == BY_GROUP_FROM_WEB and len(from_web) == len(BY_GROUP_FROM_WEB)
    to_metadata = next(r for r in from_web if r["dst"] == METADATA)
    assert (to_metadata["src_name"], to_metadata["src_group"], to_metadata["src_scope"]) == (None, "web", "vpc")
    assert (to_metadata["dst_name"], to_metadata["dst_group"], to_metadata["dst_scope"]) == (
        "instance-metadata", None, "special")  # fmt: skip
    to_ldap = next(r for r in rows if r["src"] == "data" and r["dst"] == "corp")
    assert (to_ldap["action"], to_ldap["dst_scope"], to_ldap["dst_name"]) == ("REJECT", "private", None)


def test_every_saved_query_has_a_test_here() -> None:
    assert {q.name for q in saved_queries()} == TESTED


@pytest.mark.parametrize("query", saved_queries(), ids=lambda q: q.name)
def test_every_saved_query_declares_exactly_the_parameters_it_uses(query: Any) -> None:
    cypher = "\n".join(line for line in query.text.splitlines() if not line.lstrip().startswith("//"))
    assert set(re.findall(r"\$(\w+)", cypher)) == {p.name for p in query.params}
    assert query.title != query.name and query.description
    assert all(p.description for p in query.params)


HEADER = """// title: Test
// description: A query for the header tests.
// param: k int 5 How many.
// param: by string count Rank by.
// choices: by=count|bytes
// param: depth int 1 Hops.
// choices: depth = 1 | 2
// param: since time 2026-01-01 From.
// param: ratio float 0.5 A share.
// param: rejected bool false REJECT only.
// view: group-by=name
MATCH (n) RETURN n LIMIT $k
"""


def test_the_header_gives_typed_defaults_choices_and_view_hints() -> None:
    query = parse_query("test", HEADER)
    assert (query.title, query.description, query.view) == (
        "Test",
        "A query for the header tests.",
        {"group-by": "name"},
    )
    assert [(p.name, p.type, p.default, p.choices) for p in query.params] == [
        ("k", "int", 5, ()),
        ("by", "string", "count", ("count", "bytes")),
        ("depth", "int", 1, (1, 2)),
        ("since", "time", T0, ()),
        ("ratio", "float", 0.5, ()),
        ("rejected", "bool", False, ()),
    ]
    assert query.bind(["by=bytes", "depth=2", "k=7", "rejected=yes"]) == {
        "k": 7, "by": "bytes", "depth": 2, "since": T0, "ratio": 0.5, "rejected": True
    }  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("1767225600", T0),
        ("-60", -60),
        ("2026-01-01", T0),
        ("2026-01-01T06:00", T0 + 6 * HOUR),
        ("2026-01-01T06:00:00Z", T0 + 6 * HOUR),
        ("2026-01-01T06:00:00+02:00", T0 + 4 * HOUR),
    ],
)
def test_a_time_is_epoch_seconds_or_iso_8601_in_utc(raw: str, seconds: int) -> None:
    assert parse_query("test", HEADER).bind([f"since={raw}"])["since"] == seconds


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("by=size", "parameter by takes one of count, bytes, not 'size'"),
        ("depth=3", "parameter depth takes one of 1, 2, not '3'"),
        ("k=many", "parameter k takes an integer, not 'many'"),
        ("ratio=nan", "parameter ratio takes a number, not 'nan'"),
        ("rejected=maybe", "parameter rejected takes true or false, not 'maybe'"),
        ("since=yesterday", "parameter since takes epoch seconds or an ISO 8601 time such as 2026-01-01T06:00:00Z"),
        ("kk=3", "test has no parameter 'kk'; its parameters: k, by, depth, since, ratio, rejected"),
        ("k", "--param takes name=value, not 'k'"),
        ("k=9223372036854775808", "parameter k takes 64-bit integers (-2**63 to 2**63-1), not 9223372036854775808"),
        ("k=-9223372036854775809", "parameter k takes 64-bit integers"),
        ("since=9223372036854775808", "parameter since takes 64-bit integers"),
    ],
)
def test_a_bad_parameter_says_what_is_valid(assignment: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_query("test", HEADER).bind([assignment])


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("// param: k integer 5", "should read 'NAME TYPE DEFAULT description'"),
        ("// param: my-k int 5", "NAME a Cypher identifier"),
        ("// param: k int five", "parameter k takes an integer, not 'five'"),
        ("// choices: k=1|2", "should read 'NAME=a|b|c' after the '// param:' of NAME"),
        ("// param: k int 5\n// choices: k 1|2", "should read 'NAME=a|b|c'"),
        ("// param: k int 5\n// choices: k=1|x", "parameter k takes an integer, not 'x'"),
        ("// param: k int 5\n// choices: k=1|2", "the default of k, 5, is not one of its choices"),
        ("// view: group-by", "should read 'key=value'"),
        ("// writes: maybe", "'// writes: maybe' should read 'true' or 'false'"),
    ],
)
def test_a_bad_header_is_a_query_error_naming_the_file(header: str, message: str) -> None:
    with pytest.raises(QueryError, match=r"^bad\.cypher: .*" + re.escape(message)):
        parse_query("bad", f"{header}\nMATCH (n) RETURN n\n", "bad.cypher")


def test_the_largest_64_bit_integers_bind() -> None:
    query = parse_query("test", HEADER)
    assert query.bind(["k=9223372036854775807"])["k"] == 2**63 - 1
    assert query.bind(["k=-9223372036854775808"])["k"] == -(2**63)


def test_only_a_query_whose_header_says_so_writes() -> None:
    assert parse_query("w", "// title: W\n// writes: true\nMATCH (n) DETACH DELETE n\n").writes
    assert not parse_query("test", HEADER).writes
    assert not any(query.writes for query in saved_queries())


def test_the_header_ends_at_the_first_line_of_cypher() -> None:
    query = parse_query("late", "// title: Late\nMATCH (n)\n// param: k int 5 Not a header line.\nRETURN n\n")
    assert (query.title, query.params) == ("Late", ())


def test_browser_text_sets_each_parameter_then_gives_the_query() -> None:
    query = parse_query("test", HEADER)
    values = query.bind(["by=bytes", "since=2026-01-01T06:00:00Z"])
    assert browser_text(query, values) == (
        ":param k => 5;\n"
        ":param by => 'bytes';\n"
        ":param depth => 1;\n"
        f":param since => {T0 + 6 * HOUR};\n"
        ":param ratio => 0.5;\n"
        ":param rejected => false;\n" + HEADER
    )


LITERALS = [0, -7, 2**40, 0.5, 1e20, -2.5e-7, True, False, None, "plain", "it's", 'say "hi"', "back\\slash",
            "two\nlines\tand tab", "</script>", "ünïcödé"]  # fmt: skip


@pytest.mark.parametrize("value", LITERALS, ids=repr)
def test_cypher_literals_read_back_as_the_same_value(store: GraphStore, value: Any) -> None:
    # What Neo4j Browser does with the right side of `=>`: RETURN it.
    _, rows = store.query(f"RETURN {cypher_literal(value)} AS v", {})
    assert rows == [{"v": value}] and type(rows[0]["v"]) is type(value)


def test_browser_text_of_every_saved_query_declares_each_parameter() -> None:
    for query in saved_queries():
        text = browser_text(query, query.bind([]))
        declared = re.findall(r"^:param (\w+) => .+;$", text, re.MULTILINE)
        assert declared == [p.name for p in query.params] and text.endswith(query.text)
