"""Write speed through the real CLI, as a user meets it (issue 12): BENCH_WRITE_FILES demo files (default
6) of BENCH_WRITE_RECORDS records each (default 250,000) loaded by `python -m etl load --pseudonymize
none` into a fresh embedded store (a new VPCFLOW_HOME each run, so a cold server); write time = load
time - `--dry-run` time on the same files; edge rows written (from the load summary) per second of
write time. Then copies of the files that differ by one appended NODATA line (the ledger skips
identical bytes), loaded into the same store: every edge exists, so it is added to. Medians of
BENCH_RUNS (default 3). A load also starts and stops the embedded server: `fixed_seconds` is that
cost alone (a one-record file's load less its dry run), and the `_less_fixed` rates leave it out.
"""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path

from isal import igzip

from bench.measure import timed
from bench.parse_speed import VPCFLOW, demo_files
from etl import demo
from etl.batch import FileBatch
from etl.pipeline import LoadOptions, prepare
from etl.sources.local import LocalSource

OUT = Path(__file__).resolve().parent.parent / "bench-out" / "write"
_EDGES = re.compile(r"edges (?:written|found)\D*([\d,]+)")


def nodata_line() -> bytes:
    return f"2 {demo.DEMO_ACCOUNT} eni-0000000000000000a - - - - - - - {demo.DEMO_START} {demo.DEMO_START + 60} - NODATA\n".encode()


def touched_copies(paths: list[Path], folder: Path) -> list[Path]:
    """Each file again under the same name in `folder`, one NODATA line longer: other bytes, same edges."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in paths:
        copy = folder / path.name
        if not copy.exists():
            with igzip.open(path, "rb") as source, igzip.open(copy, "wb", compresslevel=1) as target:
                target.write(source.read() + nodata_line())
        copies.append(copy)
    return copies


def load(paths: list[Path], home: Path, *, dry_run: bool = False) -> tuple[float, int]:
    """Wall seconds of `vpcflow load` (or its dry run) and the edge rows its summary reports."""
    env = {**os.environ, "VPCFLOW_HOME": str(home), "NEO4J_URI": ""}
    flags = ["--dry-run"] if dry_run else []
    seconds, stdout = timed([*VPCFLOW, "load", "--pseudonymize", "none", *flags, *map(str, paths)], env)
    found = _EDGES.search(stdout)
    if not found:
        raise RuntimeError(f"no edge count in the load summary: {stdout[-500:]}")
    return seconds, int(found.group(1).replace(",", ""))


def one_run(paths: list[Path], copies: list[Path], home: Path) -> dict[str, float]:
    """New edges, then the same edges again, into the fresh store at `home`; dry runs beside each."""
    dry_new, _ = load(paths, home, dry_run=True)
    new, rows_new = load(paths, home)
    dry_existing, _ = load(copies, home, dry_run=True)
    existing, rows_existing = load(copies, home)
    return {"load_new_s": new, "dry_new_s": dry_new, "rows_new": rows_new,
            "load_existing_s": existing, "dry_existing_s": dry_existing, "rows_existing": rows_existing}  # fmt: skip


def fixed_seconds(folder: Path, runs: int) -> float:
    """What a load costs beyond its dry run when it writes next to nothing: server start, schema, stop.
    The file holds one edge rather than NODATA alone, which would measure a file with no edges' path."""
    path = folder / "one-record.log"
    edge = f"2 {demo.DEMO_ACCOUNT} eni-0000000000000000a 198.51.100.7 10.0.0.10 50000 443 6 3 300 {demo.DEMO_START} {demo.DEMO_START + 60} ACCEPT OK\n"
    path.write_bytes(demo.HEADER.encode() + b"\n" + edge.encode())
    loads = [load([path], folder / f"home-fixed-{run}")[0] for run in range(runs)]
    dries = [load([path], folder / "home-fixed-dry", dry_run=True)[0] for _ in range(runs)]
    return statistics.median(loads) - statistics.median(dries)


def write_files(profile: str) -> list[Path]:
    files = int(os.environ.get("BENCH_WRITE_FILES", 6))
    records = int(os.environ.get("BENCH_WRITE_RECORDS", 250_000))
    return demo_files(records * files, files, profile, OUT)


def batches(profile: str, count: int) -> list[FileBatch]:
    """What `prepare` makes of the first `count` of the profile's files, for the in-process writers."""
    return [prepare(LocalSource(path), LoadOptions()) for path in write_files(profile)[:count]]


def measure(profile: str, scratch: Path, runs: int, fixed: float) -> dict[str, float]:
    paths = write_files(profile)
    files, records = len(paths), int(os.environ.get("BENCH_WRITE_RECORDS", 250_000))
    copies = touched_copies(paths, paths[0].parent.with_name(paths[0].parent.name + "-again"))
    measured = [one_run(paths, copies, scratch / f"{profile}-home-{run}") for run in range(runs)]
    figures: dict[str, float] = {"files": files, "records_per_file": records}
    for phase in ("new", "existing"):
        load_s = statistics.median(m[f"load_{phase}_s"] for m in measured)
        write_s = load_s - statistics.median(m[f"dry_{phase}_s"] for m in measured)
        rows = statistics.median(m[f"rows_{phase}"] for m in measured)
        figures |= {f"cli_{phase}_edge_rows": rows, f"cli_{phase}_load_s": load_s, f"cli_{phase}_write_s": write_s,
                    f"cli_{phase}_rows_per_write_s": rows / write_s,
                    f"cli_{phase}_rows_per_s_less_fixed": rows / (write_s - fixed) if write_s > fixed else 0.0}  # fmt: skip
    return figures | {"cli_fixed_seconds": fixed}
