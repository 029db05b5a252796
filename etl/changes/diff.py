"""Two windows of the graph side by side: edges that appeared, that disappeared, that changed most, and
addresses first seen in the later window."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl.changes.windows import Window, window_sums

if TYPE_CHECKING:
    from etl.graph.store import GraphStore

_ENDS = ", ".join(
    f"{node}.{field} AS {end}{suffix}"
    for end, node in (("src", "s"), ("dst", "d"))
    for field, suffix in (("key", "_key"), ("id", ""), ("name", "_name"), ("scope", "_scope"), ("group", "_group"),
                          ("network", "_network"), ("pseudonymized", "_pseudonymized"))
)  # fmt: skip
# count, packets and bytes are the later window's, as `top-edges` over it would show them.
EDGES = f"""
MATCH (s:Address)-[f:FLOW]->(d:Address)
WITH s, d, f, {window_sums("f", "before")} AS b, {window_sums("f", "after")} AS a
WHERE b[0] > 0 OR a[0] > 0
RETURN {_ENDS}, f.port AS port, f.protocol AS protocol, f.action AS action,
       a[0] AS count, a[1] AS packets, a[2] AS bytes, b[0] AS before_count, b[1] AS before_packets,
       b[2] AS before_bytes, f.first_seen AS first_seen, f.last_seen AS last_seen
"""
NEW_ADDRESSES = """
MATCH (a:Address)
WHERE a.first_seen >= $first AND ($until IS NULL OR a.first_seen < $until)
RETURN a.key AS key, a.id AS id, a.name AS name, a.scope AS scope, a.group AS group, a.network AS network,
       a.first_seen AS first_seen, a.last_seen AS last_seen
ORDER BY first_seen, key
"""


@dataclass(frozen=True)
class Diff:
    new: list[dict[str, Any]]
    gone: list[dict[str, Any]]
    changed: list[dict[str, Any]]  # the `top` that changed most, by count then bytes
    new_addresses: list[dict[str, Any]]

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        return {"new": self.new, "gone": self.gone, "changed": self.changed, "new_addresses": self.new_addresses}


def compare(rows: Sequence[Mapping[str, Any]], new_addresses: list[dict[str, Any]], top: int) -> Diff:
    """Edge rows of EDGES sorted into new, gone and changed; the rest did not change."""
    new, gone, changed = [], [], []
    for row in rows:
        entry = dict(row)
        before, after = entry["before_count"], entry["count"]
        if not before:
            new.append(entry)
        elif not after:
            gone.append(entry)
        elif before != after or entry["before_bytes"] != entry["bytes"]:
            changed.append(entry | _change(entry))
    changed.sort(key=lambda e: (-abs(e["count_change"]), -abs(e["bytes_change"]), _order(e)))
    return Diff(sorted(new, key=_by_count), sorted(gone, key=_by_before), changed[:top], new_addresses)


def _change(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "count_change": entry["count"] - entry["before_count"],
        "count_ratio": round(entry["count"] / entry["before_count"], 4),
        "bytes_change": entry["bytes"] - entry["before_bytes"],
        "bytes_ratio": round(entry["bytes"] / entry["before_bytes"], 4) if entry["before_bytes"] else None,
    }


def _order(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    return (entry["src_key"], entry["dst_key"], entry["port"], entry["protocol"], entry["action"])


def _by_count(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    return (-entry["count"], *_order(entry))


def _by_before(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    return (-entry["before_count"], *_order(entry))


def diff(store: GraphStore, before: Window, after: Window, top: int) -> Diff:
    _, rows = store.query(EDGES, before.params("before") | after.params("after"))
    first = after.start if after.start is not None else before.end
    _, addresses = store.query(NEW_ADDRESSES, {"first": first, "until": after.end})
    return compare(rows, addresses, top)
