"""Processes a test started, and signals to them that can reach nobody else.

`os.kill(0, sig)` signals the caller's whole process group (pytest, make, CI) and `os.kill(-1, sig)`
every process the user may signal, so a pid that may be missing (a worker of a loader that has
already exited) must never fall back to one of those. A pid is signalled through a pidfd opened
before it is checked: once open, the pidfd names that process and no later holder of its number.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def children(pid: int) -> list[int]:
    """The live children of `pid` (none once it has exited)."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        return [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    return []


def parent_of(pid: int) -> int | None:
    """The parent of `pid`, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # after "pid (comm) state": comm may hold spaces and ")"


def signal_child(parent: int, pid: int | None, signum: int) -> None:
    """Send `signum` to `pid`, which must be a live child of `parent`; fail the test otherwise."""
    assert pid is not None and pid > 0, f"no process to signal (pid {pid}): has {parent} already ended?"
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        raise AssertionError(f"process {pid} has already ended") from None
    try:
        assert parent_of(pid) == parent, f"process {pid} is not a child of {parent} (any more)"
        signal.pidfd_send_signal(pidfd, signum)
    finally:
        os.close(pidfd)
