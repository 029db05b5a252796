"""What the graph saw, as conversations: client, server, service port, protocol and action.

Security groups are stateful, so a check reasons about conversations, not log lines: the reply to a
request belongs to the request's conversation. An edge says which way its records went through its
`requests` (records to the service port) and `replies` (records from it); an edge that is mostly replies
is its destination's conversation with its source as the server. Where the records cannot tell (both
ports equal, as ICMP's 0 and 0, or an edge written before the counts existed), an edge whose reverse is
just as undecided and was seen first is a reply to it (an echo reply follows its request); otherwise the
source is the client. A REJECTed edge's source is always the client: security groups are stateful and
never refuse the reply to what they allowed, so a refused record is an attempt (a scanner whose source
port happens to be lower than the port it probes makes its edge look like a reply).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl.policy.protocols import protocol_name

if TYPE_CHECKING:
    from etl.graph.store import GraphStore

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ADDRESSES = """
MATCH (a:Address)
RETURN a.key AS key, a.id AS id, a.name AS name, a.group AS group, a.scope AS scope,
       a.pseudonymized AS pseudonymized, a.prefix AS prefix, a.network AS network, a.vpc AS vpc,
       a.account AS account, a.eni AS eni
"""
# An edge seen in the window counts whole: the graph keeps one total per edge.
EDGES = """
MATCH (s:Address)-[f:FLOW]->(d:Address)
WHERE ($start IS NULL OR f.last_seen >= $start) AND ($end IS NULL OR f.first_seen < $end)
RETURN s.key AS src, d.key AS dst, f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes, f.requests AS requests, f.replies AS replies,
       f.first_seen AS first_seen, f.last_seen AS last_seen
"""
SUMS = ("count", "packets", "bytes")


@dataclass(frozen=True)
class End:
    """An address of the graph, with what a policy or a security group can select it by. `net` is
    its real address (a /32 or /128), or its public prefix; None for a pseudonym whose key is not at hand."""

    key: str
    id: str
    net: IPNetwork | None = None
    name: str | None = None
    group: str | None = None
    scope: str | None = None
    network: str | None = None
    vpc: str | None = None
    account: str | None = None
    eni: str | None = None
    pseudonymized: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id


@dataclass(frozen=True)
class Conversation:
    client: End
    server: End
    port: int
    protocol: int
    action: str
    count: int
    packets: int
    bytes: int
    first_seen: int | None
    last_seen: int | None

    def entry(self) -> dict[str, Any]:
        """The JSON form: ends by their graph id and name."""
        return {
            "client": self.client.id,
            "client_name": self.client.name,
            "server": self.server.id,
            "server_name": self.server.name,
            "port": self.port,
            "protocol": self.protocol,
            "count": self.count,
            "packets": self.packets,
            "bytes": self.bytes,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }

    def row(self, flag: str | None = None) -> dict[str, Any]:
        """The view's row: the client as `src`, the server as `dst`, the ends by their keys."""
        ends = {
            f"{side}_{field}": getattr(end, field)
            for side, end in (("src", self.client), ("dst", self.server))
            for field in ("key", "name", "group", "scope", "network", "pseudonymized")
        }
        return {"src": self.client.id, "dst": self.server.id, **ends, "action": self.action, "flag": flag} | {
            k: v for k, v in self.entry().items() if k in ("port", "protocol", *SUMS, "first_seen", "last_seen")
        }

    def edge_key(self) -> tuple[str, str, int, int, str]:
        """The key of its edge in a view of `row`s."""
        return (self.client.key, self.server.key, self.port, self.protocol, self.action)

    def describe(self) -> str:
        return (
            f"{self.client.label} → {self.server.label} "
            f"{protocol_name(self.protocol)}/{self.port} {self.action}, {self.count:,} records"
        )


Reveal = Callable[[Sequence[str]], list[str]]


def end_of(row: Mapping[str, Any], real: str | None) -> End:
    """An address row of ADDRESSES as an End whose real address is `real`."""
    ident = str(row["id"])
    return End(
        key=str(row.get("key") or ident),
        id=ident,
        net=_net(real),
        name=row.get("name"),
        group=row.get("group"),
        scope=row.get("scope"),
        network=row.get("network"),
        vpc=row.get("vpc"),
        account=row.get("account"),
        eni=row.get("eni"),
        pseudonymized=bool(row.get("pseudonymized")),
    )


def real_addresses(rows: Sequence[Mapping[str, Any]], reveal: Reveal | None) -> list[str | None]:
    """Each address row's real address: its id, or what `reveal` makes of a pseudonym (all in one batch);
    None for a pseudonym without `reveal`, and for a pseudonymized public prefix."""
    hidden = [i for i, row in enumerate(rows) if row.get("pseudonymized")]
    revealable = [i for i in hidden if not rows[i].get("prefix") and _net(str(rows[i]["id"])) is not None]
    reals: list[str | None] = [None if row.get("pseudonymized") else str(row["id"]) for row in rows]
    if reveal is not None:
        for i, real in zip(revealable, reveal([str(rows[i]["id"]) for i in revealable]), strict=True):
            reals[i] = real
    return reals


def _net(address: str | None) -> IPNetwork | None:
    if address is None:
        return None
    try:
        return ipaddress.ip_network(address, strict=False)
    except ValueError:  # a store's id that is no address (an older pseudonym form, say)
        return None


def conversations(edges: Iterable[Mapping[str, Any]], ends: Mapping[str, End]) -> list[Conversation]:
    """Edge rows of EDGES folded into conversations; an edge whose end is unknown is skipped."""
    edges = list(edges)
    undecided = {_key(e): e.get("first_seen") for e in edges if _undecided(e)}
    totals: dict[tuple[str, str, int, int, str], dict[str, Any]] = {}
    for edge in edges:
        src, dst = ends.get(edge["src"]), ends.get(edge["dst"])
        if src is None or dst is None:
            continue
        client, server = (dst, src) if _is_reply(edge, undecided) else (src, dst)
        key = (client.key, server.key, edge["port"], edge["protocol"], edge["action"])
        total = totals.setdefault(key, {"client": client, "server": server, "first_seen": None, "last_seen": None}
                                  | dict.fromkeys(SUMS, 0))  # fmt: skip
        for name in SUMS:
            total[name] += edge.get(name) or 0
        total["first_seen"] = _fold(min, total["first_seen"], edge.get("first_seen"))
        total["last_seen"] = _fold(max, total["last_seen"], edge.get("last_seen"))
    return sorted(
        (Conversation(port=k[2], protocol=k[3], action=k[4], **t) for k, t in totals.items()),
        key=lambda c: (-c.count, c.client.key, c.server.key, c.port, c.protocol, c.action),
    )


EdgeKey = tuple[Any, Any, Any, Any, Any]


def _key(edge: Mapping[str, Any], reverse: bool = False) -> EdgeKey:
    src, dst = (edge["dst"], edge["src"]) if reverse else (edge["src"], edge["dst"])
    return (src, dst, edge["port"], edge["protocol"], edge["action"])


def _undecided(edge: Mapping[str, Any]) -> bool:
    return (edge.get("requests") or 0) == (edge.get("replies") or 0)


def _is_reply(edge: Mapping[str, Any], undecided: Mapping[EdgeKey, int | None]) -> bool:
    if edge["action"] == "REJECT":
        return False
    if not _undecided(edge):
        return (edge.get("replies") or 0) > (edge.get("requests") or 0)
    first, reverse_first = edge.get("first_seen"), undecided.get(_key(edge, reverse=True))
    return first is not None and reverse_first is not None and reverse_first < first


def _fold(pick: Callable[[int, int], int], known: int | None, more: int | None) -> int | None:
    if known is None or more is None:
        return more if known is None else known
    return pick(known, more)


def observe(
    store: GraphStore, start: int | None, end: int | None, reveal: Reveal | None
) -> tuple[list[End], list[Conversation]]:
    """Every address of the graph, and the conversations of the edges seen in [start, end)."""
    _, rows = store.query(ADDRESSES, {})
    ends = [end_of(row, real) for row, real in zip(rows, real_addresses(rows, reveal), strict=True)]
    _, edges = store.query(EDGES, {"start": start, "end": end})
    return ends, conversations(edges, {e.key: e for e in ends})
