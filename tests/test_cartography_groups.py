"""read_cartography on a live server: the fixture graph of tests/cartography_graph.py under each
generation of Cartography's labels reads back as the same groups, rules and interfaces."""

from __future__ import annotations

import pytest

from etl.errors import UsageError
from etl.graph.store import GraphStore
from etl.policy.cartography import read_cartography
from etl.policy.groups import INBOUND, OUTBOUND, GroupInventory
from tests.cartography_graph import (
    ACCOUNT,
    BASTION,
    CURRENT,
    DB,
    ENI_BASTION,
    ENI_DB,
    ENI_WEB,
    GENERATIONS,
    VPC,
    WEB,
    Generation,
    write_cartography_graph,
)
from tests.fixture_graph import write_fixture_graph

TCP, ICMP, ALL = 6, 1, None

# (group, direction, protocol, from port, to port, CIDR, referenced group)
CIDR_RULES = {
    (WEB, INBOUND, TCP, 443, 443, "0.0.0.0/0", None),
    (WEB, INBOUND, TCP, 443, 443, "10.0.0.0/8", None),
    (WEB, OUTBOUND, ALL, None, None, "0.0.0.0/0", None),
    (DB, INBOUND, ICMP, None, None, "10.0.0.0/16", None),
    (BASTION, INBOUND, TCP, 22, 22, "203.0.113.0/24", None),
    (BASTION, INBOUND, ALL, None, None, "10.9.0.0/16", None),
    (BASTION, OUTBOUND, TCP, 443, 443, "0.0.0.0/0", None),
}
# Only from 0.108, through the group-level ALLOWS_TRAFFIC_FROM, on the rules that have no CIDR.
GROUP_RULES = {
    (WEB, INBOUND, TCP, 22, 22, None, BASTION),
    (DB, INBOUND, TCP, 5432, 5432, None, WEB),
}


def rule_tuples(inventory: GroupInventory) -> set[tuple[object, ...]]:
    return {
        (r.group, r.direction, r.protocol, r.from_port, r.to_port, r.peer.cidr, r.peer.group)
        for g in inventory.groups
        for r in g.rules
        if r.group == g.id and r.peer.prefix_list is None
    }


@pytest.mark.parametrize("generation", GENERATIONS, ids=[g.name for g in GENERATIONS])
def test_groups_and_rules(store: GraphStore, generation: Generation) -> None:
    write_cartography_graph(store, generation)
    inventory = read_cartography(store)
    assert {(g.id, g.name, g.vpc, g.account) for g in inventory.groups} == {
        (WEB, "web", VPC, ACCOUNT),
        (DB, "db", VPC, ACCOUNT),
        (BASTION, "bastion", VPC, ACCOUNT),
    }
    assert rule_tuples(inventory) == CIDR_RULES | (GROUP_RULES if generation.allows_traffic_from else set())
    assert sum(len(g.rules) for g in inventory.groups) == len(rule_tuples(inventory))  # no rule twice


@pytest.mark.parametrize("generation", GENERATIONS, ids=[g.name for g in GENERATIONS])
def test_interfaces(store: GraphStore, generation: Generation) -> None:
    write_cartography_graph(store, generation)
    interfaces = {(i.id, i.vpc, i.account, i.addresses, i.groups) for i in read_cartography(store).interfaces}
    ipv6 = ("2001:db8::11",) if generation is CURRENT else ()
    assert interfaces == {
        (ENI_WEB, VPC, ACCOUNT, ("10.0.1.11", "10.0.1.12", "198.51.100.7", *ipv6), (WEB,)),
        (ENI_DB, VPC, ACCOUNT, ("10.0.3.30",), (DB, WEB)),
        # No subnet synced: its VPC is its group's.
        (ENI_BASTION, VPC, ACCOUNT, ("10.0.0.5", "198.51.100.9"), (BASTION,)),
    }


def test_both_generations_in_one_graph_read_once(store: GraphStore) -> None:
    """Current Cartography nodes answer to both labels: each group, rule and interface is read once."""
    write_cartography_graph(store, CURRENT)
    inventory = read_cartography(store)
    assert len(inventory.groups) == 3
    assert len(inventory.interfaces) == 3
    assert sum(len(g.rules) for g in inventory.groups) == len(CIDR_RULES | GROUP_RULES)


@pytest.mark.parametrize("graph", ["empty", "flows only"])
def test_no_cartography_data_is_a_usage_error(store: GraphStore, graph: str) -> None:
    if graph == "flows only":
        write_fixture_graph(store)
    with pytest.raises(
        UsageError, match=r"^no Cartography security groups were found in the graph: `cartography` must have synced EC2"
    ):
        read_cartography(store)
