"""Parse speed: `vpcflow load --dry-run` (parse, classify, aggregate) against (a) `zcat FILES | wc -l`,
the decompression limit, and (b) flowlogs-reader's FlowRecord over the same lines, in the same run.

Environment: BENCH_RECORDS (default 10,000,000), BENCH_FILES (default 10), BENCH_RUNS (default 3).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from isal import igzip

from etl import demo

OUT = Path(__file__).resolve().parent.parent / "bench-out" / "parse"
VPCFLOW = [sys.executable, "-m", "etl"]


def demo_files(records: int, files: int) -> list[Path]:
    folder = OUT / f"{records}x{files}"
    existing = sorted(folder.glob("*.log.gz"))
    if len(existing) == files:
        return existing
    folder.mkdir(parents=True, exist_ok=True)
    for old in existing:
        old.unlink()
    return sorted(demo.write_demo(folder, records, files=files))


def _timed(command: list[str] | str, shell: bool = False) -> tuple[float, str, int]:
    """Wall seconds, stdout, and the peak RSS (KiB) of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(command, shell=shell, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, result.stdout, peak if peak > before else before


def zcat_seconds(paths: list[Path]) -> float:
    quoted = " ".join(f"'{p}'" for p in paths)
    return _timed(f"zcat {quoted} | wc -l", shell=True)[0]


def ours(paths: list[Path]) -> tuple[float, int]:
    seconds, _, _ = _timed([*VPCFLOW, "load", "--dry-run", *map(str, paths)])
    return seconds, 0


def ours_peak_rss_kib(paths: list[Path]) -> int:
    """Peak RSS of one dry run, measured alone (ru_maxrss of children is a running maximum)."""
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *VPCFLOW, "load", "--dry-run", *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout)


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
    records = int(os.environ.get("BENCH_RECORDS", 10_000_000))
    files = int(os.environ.get("BENCH_FILES", 10))
    runs = int(os.environ.get("BENCH_RUNS", 3))
    paths = demo_files(records, files)
    zcat = statistics.median(zcat_seconds(paths) for _ in range(runs))
    dry = statistics.median(ours(paths)[0] for _ in range(runs))
    baseline = statistics.median(flowlogs_reader_rate(paths[0]) for _ in range(runs))
    figures = {
        "records": records,
        "files": files,
        "zcat_wc_lines_per_s": records / zcat,
        "flowlogs_reader_records_per_s": baseline,
        "vpcflow_dry_run_records_per_s": records / dry,
        "vpcflow_dry_run_seconds": dry,
        "ratio_to_zcat": (records / dry) / (records / zcat),
        "ratio_to_flowlogs_reader": (records / dry) / baseline,
        "peak_rss_mib_all_files": ours_peak_rss_kib(paths) / 1024,
        "peak_rss_mib_one_file": ours_peak_rss_kib(paths[:1]) / 1024,
    }
    for name, value in figures.items():
        print(f"parse  {name:34s} {value:>16,.2f}")
    return figures


if __name__ == "__main__":
    main()
