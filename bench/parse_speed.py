"""Parse speed: `vpcflow load --dry-run` (parse, classify, aggregate) against (a) `zcat FILES | wc -l`,
the decompression limit, and (b) flowlogs-reader's FlowRecord over the same lines, in turn within
each run, for each demo profile in turn.

Environment: BENCH_PROFILE (default internet,small), BENCH_RECORDS (default 10,000,000), BENCH_FILES
(default 10), BENCH_RUNS (default 3).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from isal import igzip

from bench.measure import run_measured, timed
from bench.table import print_table
from etl import demo

OUT = Path(__file__).resolve().parent.parent / "bench-out" / "parse"
VPCFLOW = [sys.executable, "-m", "etl"]


def profiles() -> list[str]:
    """BENCH_PROFILE's demo profiles, the realistic one first by default."""
    return os.environ.get("BENCH_PROFILE", "internet,small").split(",")


def demo_files(records: int, files: int, profile: str = "small", out: Path = OUT) -> list[Path]:
    """The profile's demo files, written once and kept in bench-out/ for the next run."""
    folder = out / f"{profile}-{records}x{files}"
    existing = sorted(folder.glob("*.log.gz"))
    if len(existing) == files:
        return existing
    folder.mkdir(parents=True, exist_ok=True)
    for old in existing:
        old.unlink()
    return sorted(demo.write_demo(folder, records, files=files, profile=profile))


def zcat_seconds(paths: list[Path]) -> float:
    quoted = " ".join(f"'{p}'" for p in paths)
    started = time.perf_counter()
    subprocess.run(f"zcat {quoted} | wc -l", shell=True, capture_output=True, check=True)
    return time.perf_counter() - started


def dry_run(paths: list[Path]) -> list[str]:
    return [*VPCFLOW, "load", "--dry-run", *map(str, paths)]


def ours(paths: list[Path]) -> float:
    """Wall seconds of `vpcflow load --dry-run`, with nothing watching it, as zcat is timed."""
    return timed(dry_run(paths))[0]


def peak_rss(paths: list[Path]) -> float:
    """Peak RSS (MiB, worker processes included) of `vpcflow load --dry-run`, in a run of its own."""
    return run_measured(dry_run(paths))[2]


def flowlogs_reader_rate(path: Path, limit: int = 500_000) -> float:
    """Records/s of FlowRecord over the first `limit` lines of one file, decompression included."""
    from flowlogs_reader import FlowRecord

    started = time.perf_counter()
    count = 0
    with igzip.open(path, "rt") as lines:
        next(lines)  # the header line
        for line in lines:
            FlowRecord.from_cwl_event({"message": line})
            count += 1
            if count == limit:
                break
    return count / (time.perf_counter() - started)


def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    by_profile: dict[str, dict[str, float]] = {}
    for profile in profiles():
        by_profile[profile] = measure(profile)
        figures.update({f"{profile}_{name}": value for name, value in by_profile[profile].items()})
    print_table("parse (medians)", by_profile)
    return figures


def measure(profile: str) -> dict[str, float]:
    """The three readers in turn, run after run (the VM's speed drifts by a fifth within minutes): the
    ratios are taken within each run, and their medians reported beside the medians of each figure."""
    records = int(os.environ.get("BENCH_RECORDS", 10_000_000))
    files = int(os.environ.get("BENCH_FILES", 10))
    runs = int(os.environ.get("BENCH_RUNS", 3))
    paths = demo_files(records, files, profile)
    measured = [(zcat_seconds(paths), ours(paths), flowlogs_reader_rate(paths[0])) for _ in range(runs)]
    zcat, dry, baseline = (statistics.median(run[i] for run in measured) for i in range(3))
    return {
        "records": records,
        "files": files,
        "zcat_wc_lines_per_s": records / zcat,
        "flowlogs_reader_records_per_s": baseline,
        "vpcflow_dry_run_records_per_s": records / dry,
        "vpcflow_dry_run_seconds": dry,
        "ratio_to_zcat": statistics.median(z / d for z, d, _ in measured),
        "ratio_to_flowlogs_reader": statistics.median(records / d / b for _, d, b in measured),
        "peak_rss_mib_all_files": peak_rss(paths),
        "peak_rss_mib_one_file": peak_rss(paths[:1]),
    }


if __name__ == "__main__":
    main()
