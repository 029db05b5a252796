"""An independent reading of flow-log text for tests: plain str.split, no code from `etl`.

It is the specification the loader is checked against: one edge per (src, dst, lower port, protocol,
action) over records whose log-status is OK.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)


def read_records(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:  # type: ignore[operator]
        lines = [line.split() for line in handle if line.strip()]
    fields = V2.split()
    records = []
    for tokens in lines:
        if tokens[0] == "version":
            fields = tokens
            continue
        records.append(dict(zip(fields, tokens, strict=True)))
    return records


def expected_edges(paths: list[Path]) -> dict[tuple[str, str, int, int, str], tuple[int, int, int]]:
    """(src, dst, port, protocol, action) -> (count, packets, bytes)."""
    count: Counter[tuple[str, str, int, int, str]] = Counter()
    packets: Counter[tuple[str, str, int, int, str]] = Counter()
    octets: Counter[tuple[str, str, int, int, str]] = Counter()
    for path in paths:
        for r in read_records(path):
            if r["log-status"] != "OK":
                continue
            key = (
                r["srcaddr"],
                r["dstaddr"],
                min(int(r["srcport"]), int(r["dstport"])),
                int(r["protocol"]),
                r["action"],
            )
            count[key] += 1
            packets[key] += int(r["packets"])
            octets[key] += int(r["bytes"])
    return {key: (count[key], packets[key], octets[key]) for key in count}
