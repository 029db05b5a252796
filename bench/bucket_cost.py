"""What time buckets cost a load (issue 15): the same files loaded by this checkout and by the last commit
before buckets (PRE_BUCKETS, checked out beside it with `git worktree`), in turn (A B A B), each into a
fresh embedded store: a cold `vpcflow load`, and its `--dry-run` (the client's share). The files are
write_speed's, of BENCH_PROFILE (default internet). Medians of BENCH_RUNS (default 3) and the ratio of
the medians; peak memory of the process tree.

Needs git and the repository's history (a clone has it); without them it says so and measures nothing.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.measure import run_measured
from bench.parse_speed import VPCFLOW
from bench.table import print_table
from bench.write_speed import write_files

PRE_BUCKETS = "e6d0558"  # issue 14's last commit; ac45cf2 added the buckets
ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def checkout(commit: str) -> Iterator[Path | None]:
    """The commit's tree in a temporary worktree, or None when git or the commit is not there."""
    with tempfile.TemporaryDirectory(prefix="vpcflow-pre-buckets-") as scratch:
        tree = Path(scratch) / "tree"
        added = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), commit],
                               capture_output=True, text=True, check=False)  # fmt: skip
        if added.returncode:
            yield None
            return
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True, check=False
            )


def _load(tree: Path, paths: list[Path], home: Path, dry_run: bool) -> tuple[float, float]:
    """Wall seconds and peak MiB of a load by the code in `tree` (first on the import path)."""
    home.mkdir(mode=0o700)
    env = {**os.environ, "VPCFLOW_HOME": str(home), "NEO4J_URI": "", "PYTHONPATH": str(tree)}
    flags = ["--dry-run"] if dry_run else []
    command = [*VPCFLOW, "load", "--pseudonymize", "none", *flags, *map(str, paths)]
    seconds, _, peak = run_measured(command, env)
    return seconds, peak


def main() -> dict[str, float]:
    profile = os.environ.get("BENCH_PROFILE", "internet").split(",")[0]
    runs = int(os.environ.get("BENCH_RUNS", 3))
    paths = write_files(profile)
    with checkout(PRE_BUCKETS) as before, tempfile.TemporaryDirectory() as scratch:
        if before is None:
            print(f"skipped: this checkout has no git history with {PRE_BUCKETS} to compare with")
            return {}
        figures: dict[str, float] = {}
        for dry_run, name in ((False, "load"), (True, "dry_run")):
            measured: dict[str, list[tuple[float, float]]] = {"now": [], "before": []}
            for run in range(runs):
                for label, tree in (("now", ROOT), ("before", before)):
                    home = Path(scratch) / f"{name}-{label}-{run}"
                    measured[label].append(_load(tree, paths, home, dry_run))
            for label, results in measured.items():
                figures[f"{name}_{label}_s"] = statistics.median(s for s, _ in results)
                figures[f"{name}_{label}_peak_mib"] = statistics.median(p for _, p in results)
            figures[f"{name}_ratio"] = figures[f"{name}_now_s"] / figures[f"{name}_before_s"]
    print_table(f"time buckets: {len(paths)} files, now against {PRE_BUCKETS} (before buckets)", {profile: figures})
    return figures
