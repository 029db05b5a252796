"""A small VPC graph whose every answer the saved-query tests know, written through the store.

Three load balancer addresses share one name; two web servers; a database and a cache in group
`data`; a NAT gateway; on-prem LDAP over a peering link; the instance metadata service (named, in
no group); an AWS API endpoint; an NTP server; one pseudonymized internet client; two scanners.
Counts, packets and bytes are chosen so that ranking by each gives a different top three. The VPC's
addresses sit in three availability zones.
"""

from __future__ import annotations

from typing import NamedTuple

from etl.graph.store import GraphStore

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3_600


class Address(NamedTuple):
    id: str
    name: str | None
    group: str | None
    scope: str
    pseudonymized: bool = False
    az: str | None = None
    role: str | None = None


class Flow(NamedTuple):
    src: str
    dst: str
    port: int
    protocol: int
    action: str
    count: int  # type: ignore[assignment]  # the FLOW property's name; it hides tuple.count, unused here
    packets: int
    bytes: int
    first_seen: int = T0
    last_seen: int = T0 + HOUR


LB_A, LB_B, LB_C = "10.0.0.10", "10.0.0.11", "10.0.0.12"
NAT, WEB_1, WEB_2 = "10.0.0.5", "10.0.1.11", "10.0.1.12"
DB, CACHE = "10.0.3.30", "10.0.3.40"
LDAP, METADATA = "172.16.5.5", "169.254.169.254"
AWS_API, NTP = "52.94.133.131", "203.0.113.123"
CLIENT = "pub-7f3a9c"  # a pseudonym: the client's real address never reaches the graph
SCANNER_1, SCANNER_2 = "192.0.2.1", "192.0.2.5"
AZ_1, AZ_2, AZ_3 = "euw1-az1", "euw1-az2", "euw1-az3"

ADDRESSES = (
    Address(LB_A, "load-balancer", "public", "vpc", az=AZ_1),
    Address(LB_B, "load-balancer", "public", "vpc", az=AZ_2),
    Address(LB_C, "load-balancer", "public", "vpc", az=AZ_3),
    Address(NAT, "nat-gateway", "public", "vpc", az=AZ_1, role="nat-gateway"),
    Address(WEB_1, "web-1", "web", "vpc", az=AZ_1),
    Address(WEB_2, "web-2", "web", "vpc", az=AZ_2),
    Address(DB, "database", "data", "vpc", az=AZ_1),
    Address(CACHE, "cache", "data", "vpc", az=AZ_2),
    Address(LDAP, "ldap", "corp", "private"),
    Address(METADATA, "instance-metadata", None, "special"),
    Address(AWS_API, None, None, "aws-service"),
    Address(NTP, None, None, "public"),
    Address(CLIENT, None, None, "public", pseudonymized=True),
    Address(SCANNER_1, None, None, "public"),
    Address(SCANNER_2, None, None, "public"),
)

FLOWS = (
    Flow(CLIENT, LB_A, 443, 6, "ACCEPT", 400, 4000, 2_000_000),
    Flow(CLIENT, LB_B, 443, 6, "ACCEPT", 300, 2900, 1_500_000),
    Flow(CLIENT, LB_C, 443, 6, "ACCEPT", 30, 290, 150_000, T0 + 2 * HOUR, T0 + 3 * HOUR),
    Flow(LB_A, CLIENT, 443, 6, "ACCEPT", 40, 400, 600_000),
    Flow(LB_A, WEB_1, 80, 6, "ACCEPT", 350, 3500, 1_800_000),
    Flow(LB_B, WEB_2, 80, 6, "ACCEPT", 250, 2500, 1_200_000),
    Flow(LB_A, WEB_2, 80, 6, "ACCEPT", 50, 500, 250_000),
    Flow(WEB_1, DB, 5432, 6, "ACCEPT", 200, 5000, 8_000_000),
    Flow(WEB_2, DB, 5432, 6, "ACCEPT", 150, 2800, 6_000_000),
    Flow(WEB_1, CACHE, 6379, 6, "ACCEPT", 500, 1000, 100_000),
    Flow(WEB_2, CACHE, 6379, 6, "ACCEPT", 450, 900, 90_000),
    Flow(WEB_1, NAT, 443, 6, "ACCEPT", 20, 200, 50_000),
    Flow(NAT, AWS_API, 443, 6, "ACCEPT", 20, 200, 50_000),
    Flow(NAT, NTP, 123, 17, "ACCEPT", 10, 10, 760, T0 + 600, T0 + HOUR),
    Flow(WEB_1, LDAP, 389, 6, "ACCEPT", 30, 300, 45_000),
    Flow(WEB_2, METADATA, 80, 6, "ACCEPT", 12, 24, 9_000),
    Flow(DB, LDAP, 636, 6, "REJECT", 2, 2, 120, T0 + 7_000, T0 + 7_200),
    Flow(SCANNER_1, LB_A, 22, 6, "REJECT", 5, 5, 200),
    Flow(SCANNER_1, LB_A, 3389, 6, "REJECT", 4, 4, 160),
    Flow(SCANNER_1, LB_B, 22, 6, "REJECT", 3, 3, 120),
    Flow(SCANNER_1, WEB_1, 23, 6, "REJECT", 2, 2, 80, T0 + HOUR, T0 + 2 * HOUR),
    Flow(SCANNER_2, LB_A, 22, 6, "REJECT", 1, 1, 40, T0 + 5_400, T0 + 5_400),
)

_WRITE_ADDRESSES = """
UNWIND $rows AS r
CREATE (:Address {key: r.id, id: r.id, name: r.name, group: r.group, scope: r.scope, pseudonymized: r.pseudonymized,
                  az: r.az, role: r.role})
"""
_WRITE_FLOWS = """
UNWIND $rows AS r
MATCH (s:Address {id: r.src})
MATCH (d:Address {id: r.dst})
CREATE (s)-[:FLOW {port: r.port, protocol: r.protocol, action: r.action, count: r.count, packets: r.packets,
                   bytes: r.bytes, first_seen: r.first_seen, last_seen: r.last_seen}]->(d)
"""
# An address is seen as long as its edges are.
_SET_SEEN = """
MATCH (a:Address)-[f:FLOW]-()
WITH a, min(f.first_seen) AS first, max(f.last_seen) AS last
SET a.first_seen = first, a.last_seen = last
"""


def write_fixture_graph(store: GraphStore) -> None:
    store.query(_WRITE_ADDRESSES, {"rows": [a._asdict() for a in ADDRESSES]}, writes=True)
    store.query(_WRITE_FLOWS, {"rows": [f._asdict() for f in FLOWS]}, writes=True)
    store.query(_SET_SEEN, {}, writes=True)
