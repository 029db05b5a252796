"""Windows over an edge's time buckets, in Cypher: the sums of the buckets whose start lies in [since, until).

The saved queries spell the same expression out (they are plain Cypher files, pasted into Neo4j Browser
as they are); this module builds it for the queries vpcflow composes itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Window:
    """[start, end) in epoch seconds; None leaves that side open."""

    start: int | None = None
    end: int | None = None

    def __str__(self) -> str:
        return f"{_iso(self.start) or '…'}..{_iso(self.end) or '…'}"

    def params(self, prefix: str) -> dict[str, int | None]:
        return {f"{prefix}_since": self.start, f"{prefix}_until": self.end}


def _iso(moment: int | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def window_sums(rel: str, prefix: str) -> str:
    """[count, packets, bytes] of relationship `rel` in the window of parameters `$<prefix>_since` and
    `$<prefix>_until` (each null for an open side; both null: the edge's totals)."""
    since, until = f"${prefix}_since", f"${prefix}_until"
    return (
        f"CASE WHEN {since} IS NULL AND {until} IS NULL THEN [{rel}.count, {rel}.packets, {rel}.bytes] "
        f"ELSE reduce(t = [0, 0, 0], i IN range(0, size(coalesce({rel}.buckets, [])) - 1) | "
        f"CASE WHEN coalesce({rel}.buckets[i] >= {since}, true) AND coalesce({rel}.buckets[i] < {until}, true) "
        f"THEN [t[0] + {rel}.bucket_count[i], t[1] + {rel}.bucket_packets[i], t[2] + {rel}.bucket_bytes[i]] "
        "ELSE t END) END"
    )
