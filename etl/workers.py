"""Where files are prepared: worker processes, so that parsing runs on every core.

Threads cannot do it: decompression, CSV and grouping release the GIL, but the Python between them
does not, and with two threads a 2-core machine got 1.7x one thread's speed, not 2x. Processes are
spawned, not forked: the embedded graph server may be running a JVM inside this process. (A fork
server starts workers faster, by 3% of a 10M-record dry run, but its workers inherit the environment
and working directory it had when it started, not the load's: AWS credentials, relative paths.)
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import Any

from etl import logs

STOP_CHECK_SECONDS = 0.2  # how soon a stop signal is seen while a file is prepared
WORKERS = 2  # processes preparing files when --workers is not given, but for the embedded server


def default_workers(embedded: bool) -> int:
    """Files prepared at once when --workers is not given: into the embedded server, one, in a thread.

    That server runs in this process, and on a 2-core machine its writer and its JIT compiler use both
    cores for the whole load (a cold load's write time: 5-20k internet-profile edge rows/s), while one
    preparer makes about 45k a second: a second worker process added only its memory. 10M
    internet-profile records into a fresh store, all processes counted: 1.88 GiB peak in 153 s with
    two workers, 1.39-1.47 GiB in 149-150 s with one thread, 193-202 s with two threads (2026-12-03).
    A dry run or a Neo4j server, which may be elsewhere and write faster, keep WORKERS."""
    return 1 if embedded else WORKERS


class Stopped(Exception):
    """A file whose preparation was stopped between two of its blocks, for a load that stops."""


class _Thread(ThreadPoolExecutor):
    """One file at a time in a thread of this process. A thread cannot be killed as a worker process is:
    `stopping` ends the file it prepares at its next block, so a stopped load does not wait for the rest
    of a large file."""

    def __init__(self) -> None:
        super().__init__(1)
        self.stopping = threading.Event()


def preparers(workers: int, files: int) -> Executor:
    """`workers` processes for several files; one worker, or one file, gets a thread, spared the
    start of a process."""
    if workers > 1 and files > 1:
        return ProcessPoolExecutor(
            min(workers, files),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), logs.debugging()),
        )
    return _Thread()


def stopping(pool: Executor) -> threading.Event | None:
    """What a file prepared by `pool` looks at between blocks; None for processes, which are killed."""
    return pool.stopping if isinstance(pool, _Thread) else None


def stop_now(pool: Executor) -> None:
    """Cancel the files not begun and end the worker processes at once, for a load that stops.

    A pool broken by a dead worker ends the workers it knows of, but can miss one being started at
    that moment (workers start as files are submitted): it prepares its file, blocks for ever writing
    a result nobody reads, and the interpreter's exit waits on it (CPython 3.11: a loader that never
    exited, 1 run in 84 under load). Python 3.14 has `terminate_workers()`; before it, the pool's table
    of processes is the only way to them, and `shutdown` empties it, so it is read first. SIGKILL, as
    workers ignore SIGTERM; they only read, so nothing is left half done. A thread stops at its file's
    next block."""
    if isinstance(pool, _Thread):
        pool.stopping.set()
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()


def done_unless_stopped(future: Future[Any], stop: Callable[[], str | None]) -> bool:
    """Wait for a file being prepared; False as soon as `stop` gives a reason to stop instead.

    Short waits: a signal the kernel hands to another thread sets the stop flag without waking this one."""
    while stop() is None:
        if wait([future], timeout=STOP_CHECK_SECONDS).done:
            return True
    return False


def _start_worker(parent: int, debug: bool) -> None:
    # Ctrl-C reaches the whole process group, and so does SIGTERM from `timeout` (it signals its group)
    # or from systemd (the whole control group): the parent handles them, stops the pool, says what
    # was not loaded. A worker that died of them would break the pool first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logs.configure(debug)  # a spawned process starts with no logging: --debug reaches it only this way
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A parent killed outright (SIGKILL) cannot stop its pool: its workers notice and leave."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
