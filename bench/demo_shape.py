"""The demo profiles' shape: distinct addresses and distinct edges per file of 250k records and per
file of 1M, counted from the gzip files with str.split, independently of the loader.

An edge is what the graph keys a FLOW by: (srcaddr, dstaddr, service port, protocol, action), the
service port being the lower of the two ports (the non-ephemeral side). NODATA/SKIPDATA lines make
no edge. Environment: BENCH_PROFILE (default internet,small).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from isal import igzip

from etl import demo

SIZES = ((250_000, 4), (1_000_000, 1))  # records per file, files


def profiles() -> list[str]:
    return os.environ.get("BENCH_PROFILE", "internet,small").split(",")


def count(path: Path) -> tuple[int, int]:
    """Distinct addresses and distinct edges of one flow log file."""
    addresses: set[str] = set()
    edges: set[tuple[str, str, int, str, str]] = set()
    with igzip.open(path, "rt") as lines:
        next(lines)  # the header
        for line in lines:
            fields = line.split()
            if fields[13] != "OK":
                continue
            addresses.update(fields[3:5])
            edges.add((fields[3], fields[4], min(int(fields[5]), int(fields[6])), fields[7], fields[12]))
    return len(addresses), len(edges)


def shape(profile: str, scratch: Path) -> dict[str, float]:
    """Mean distinct addresses and edges per file, for each file size, from consecutive files."""
    figures: dict[str, float] = {}
    for records, files in SIZES:
        paths = demo.write_demo(scratch / f"{profile}-{records}", records * files, files=files, profile=profile)
        counted = [count(path) for path in paths]
        figures[f"{profile}_{records}_addresses_per_file"] = sum(a for a, _ in counted) / files
        figures[f"{profile}_{records}_edges_per_file"] = sum(e for _, e in counted) / files
    return figures


def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vpcflow-shape-") as scratch:
        for profile in profiles():
            for name, value in shape(profile, Path(scratch)).items():
                figures[name] = value
                print(f"shape  {name:42s} {value:>12,.0f}", flush=True)
    return figures


if __name__ == "__main__":
    main()
