"""Windows over an edge's time buckets, in Cypher: the sums of the buckets whose start lies in [since, until).

The saved queries spell the same expression out (they are plain Cypher files, pasted into Neo4j Browser
as they are); this module builds it for the queries vpcflow composes itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from etl.errors import UsageError
from etl.sources.timewindow import iso_time, parse_time


@dataclass(frozen=True)
class Window:
    """[start, end) in epoch seconds; None leaves that side open."""

    start: int | None = None
    end: int | None = None

    def __str__(self) -> str:
        return f"{iso_time(self.start) or '…'}..{iso_time(self.end) or '…'}"

    def params(self, prefix: str) -> dict[str, int | None]:
        """The window as the parameters `window_sums(rel, prefix)` reads."""
        return {f"{prefix}_since": self.start, f"{prefix}_until": self.end}

    def as_json(self) -> dict[str, str | None]:
        return {"start": iso_time(self.start), "end": iso_time(self.end)}

    def shown(self) -> dict[str, object]:
        """The ends that were given, as a view's header shows them."""
        return {k: v for k, v in self.as_json().items() if v is not None}

    def described(self) -> str:
        if self.start is None and self.end is None:
            return "over all the graph holds"
        return f"from {iso_time(self.start) or 'the first record'} to {iso_time(self.end) or 'the last'}"


def window_of(start: str | None, end: str | None, wrong_way: str) -> Window:
    """The window between two times as `--start` takes them (either may be left out); `wrong_way` is
    the sentence for an end before the start."""
    now = datetime.now(UTC)
    moments = [int(parse_time(t, now).timestamp()) if t and t.strip() else None for t in (start, end)]
    if moments[0] is not None and moments[1] is not None and moments[0] >= moments[1]:
        raise UsageError(wrong_way)
    return Window(*moments)


def parse_range(text: str, option: str) -> Window:
    """`START..END`, either side empty for an open one."""
    start, sep, end = text.partition("..")
    if not sep:
        raise UsageError(f"{option} takes START..END, like 2026-01-05..2026-01-06 or 14d..7d, not {text!r}")
    return window_of(start, end, f"{option} {text!r} ends before it starts")


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
