"""What the rules read from the graph and what they leave in it: edge histories, `(:Alert)` nodes linked
to what they are about, and `watch`'s mark of how far it has listed."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl.changes.alerts import Alert, History
from etl.policy.observed import End, Reveal, end_of, real_addresses

if TYPE_CHECKING:
    from etl.graph.store import GraphStore

_END = ("key", "id", "name", "group", "scope", "pseudonymized", "prefix", "network", "vpc", "account", "eni")
_COLUMNS = ", ".join(f"{node}.{field} AS {node}_{field}" for node in ("s", "d") for field in _END)
_RETURN = f"""RETURN {_COLUMNS}, f.port AS port, f.protocol AS protocol, f.action AS action,
       f.buckets AS buckets, f.bucket_count AS counts"""
# Every edge with traffic in one of the buckets; every edge into some addresses; every REJECTed edge of some.
TOUCHED = (
    f"MATCH (s:Address)-[f:FLOW]->(d:Address) WHERE any(b IN coalesce(f.buckets, []) WHERE b IN $buckets)\n{_RETURN}"
)
INTO = f"MATCH (s:Address)-[f:FLOW]->(d:Address) WHERE d.key IN $keys\n{_RETURN}"
REFUSED = f"""MATCH (s:Address)-[f:FLOW]->(d:Address) WHERE f.action = 'REJECT' AND (s.key IN $keys OR d.key IN $keys)
{_RETURN}"""
FIRST_SEEN = "MATCH ()-[f:FLOW]->() RETURN min(f.first_seen) AS first"
EXISTING = "MATCH (x:Alert) WHERE x.key IN $keys RETURN collect(x.key) AS keys"
CREATE = """
UNWIND $rows AS r
CREATE (x:Alert {key: r.key, rule: r.rule, severity: r.severity, kind: r.kind, subject: r.subject, bucket: r.bucket,
                 message: r.message, count: r.count, fired_at: r.fired_at})
WITH x, r
UNWIND r.about AS key
MATCH (a:Address {key: key})
CREATE (x)-[:ABOUT]->(a)
"""
ABOUT_FILES = """
UNWIND $rows AS r
MATCH (x:Alert {key: r[0]})
MATCH (l:LogFile {id: r[1]})
CREATE (x)-[:ABOUT]->(l)
"""
LISTED = """
MATCH (x:Alert)
WHERE $since IS NULL OR x.bucket >= $since
OPTIONAL MATCH (x)-[:ABOUT]->(a:Address)
WITH x, collect(a.id) AS addresses
RETURN x.bucket AS bucket, x.severity AS severity, x.rule AS rule, x.kind AS kind, x.subject AS subject,
       x.message AS message, x.count AS count, addresses, x.fired_at AS fired_at
ORDER BY bucket DESC, rule, subject
"""
MARK = "OPTIONAL MATCH (w:WatchMark {sources: $sources}) RETURN max(w.listed_to) AS mark"
SET_MARK = "MERGE (w:WatchMark {sources: $sources}) SET w.listed_to = $mark"


def histories(store: GraphStore, buckets: Iterable[int], reveal: Reveal | None) -> list[History]:
    """The edges with traffic in `buckets`, every edge into the public addresses among their ends (whose
    first contact is what a new-destination rule asks), and every REJECTed edge of their ends (the
    trailing averages); each with its whole history."""
    touched = _query(store, TOUCHED, {"buckets": sorted(buckets)})
    public = sorted({row["d_key"] for row in touched if row["d_scope"] == "public"})
    ends = sorted({row[f"{node}_key"] for row in touched if row["action"] == "REJECT" for node in ("s", "d")})
    rows = {_edge_key(r): r for r in (*touched, *_query(store, INTO, {"keys": public}),
                                      *_query(store, REFUSED, {"keys": ends}))}  # fmt: skip
    return _histories(list(rows.values()), reveal)


def _query(store: GraphStore, text: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    return store.query(text, parameters)[1]


def _edge_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["s_key"], row["d_key"], row["port"], row["protocol"], row["action"])


def _histories(rows: Sequence[Mapping[str, Any]], reveal: Reveal | None) -> list[History]:
    addresses = {row[f"{n}_key"]: {f: row[f"{n}_{f}"] for f in _END} for row in rows for n in ("s", "d")}
    listed = list(addresses.values())
    ends: dict[str, End] = {
        a["key"]: end_of(a, real) for a, real in zip(listed, real_addresses(listed, reveal), strict=True)
    }
    found = []
    for row in rows:
        counts: defaultdict[int, int] = defaultdict(int)
        for bucket, count in zip(row["buckets"] or [], row["counts"] or [], strict=True):
            counts[bucket] += count
        kept = {bucket: count for bucket, count in sorted(counts.items()) if count > 0}
        found.append(History(ends[row["s_key"]], ends[row["d_key"]], row["port"], row["protocol"], row["action"], kept))
    return found


def baseline(store: GraphStore, length: int) -> int | None:
    """The graph's first bucket."""
    first = store.query(FIRST_SEEN, {})[1][0]["first"]
    return None if first is None else first // length * length


def keep(store: GraphStore, alerts: Sequence[Alert]) -> list[Alert]:
    """Store the alerts not stored yet, linked to what they are about; those are returned (the new ones)."""
    if not alerts:
        return []
    stored = set(store.query(EXISTING, {"keys": [a.key for a in alerts]})[1][0]["keys"])
    new = list({a.key: a for a in alerts if a.key not in stored}.values())
    if new:
        now = int(time.time())
        rows = [{"key": a.key, **a.entry(), "bucket": a.bucket, "about": list(a.about), "fired_at": now} for a in new]
        store.query(CREATE, {"rows": rows}, writes=True)
        files = [[a.key, a.file] for a in new if a.file]
        if files:
            store.query(ABOUT_FILES, {"rows": files}, writes=True)
    return new


def listed(store: GraphStore, since: int | None) -> list[dict[str, Any]]:
    return _query(store, LISTED, {"since": since})


def mark(store: GraphStore, sources: str) -> int | None:
    value = store.query(MARK, {"sources": sources})[1][0]["mark"]
    return None if value is None else int(value)


def set_mark(store: GraphStore, sources: str, value: int) -> None:
    store.query(SET_MARK, {"sources": sources, "mark": value}, writes=True)
