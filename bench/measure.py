"""Run a command and measure it: wall seconds, and the peak of the summed RSS of its process tree
(`vpcflow load` prepares files in worker processes, so the parent's own RSS is not the whole cost).

Polling the tree for its memory takes CPU from what it measures (a tenth of a 10M-record dry run on
two cores: the JVM and Arrow run dozens of threads, each read in /proc), so a figure of speed alone
comes from `timed`, with nothing watching."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

_POLL_SECONDS = 0.02


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall seconds and stdout of a command that must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    _check(command, done.returncode, done.stderr)
    return seconds, done.stdout


def run_measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str, float]:
    """Wall seconds, stdout, and peak RSS of the whole process tree in MiB (polled every 20 ms)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kib(process.pid))
        time.sleep(_POLL_SECONDS)
    seconds = time.perf_counter() - started
    stdout, stderr = process.communicate()
    _check(command, process.returncode, stderr)
    return seconds, stdout, peak / 1024


def _check(command: list[str], returncode: int, stderr: str) -> None:
    if returncode:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({returncode}): {stderr[-2000:]}")


def _tree_rss_kib(pid: int) -> int:
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += map(int, (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended while being read
    return total
