"""The worker pool of a load: stopping it must end its processes, or the file its thread prepares,
whatever they are doing."""

import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from etl import demo
from etl.pipeline import FileResult, LoadOptions, load, prepare
from etl.sources.local import LocalSource
from etl.workers import STOP_CHECK_SECONDS, done_unless_stopped, preparers, stop_now
from tests.processes import parent_of, signal_child


def test_a_stopped_pool_ends_workers_that_would_never_finish() -> None:
    """Workers busy for an hour (as one blocked writing a result nobody reads) end at once, and so does
    the pool's manager thread, which the interpreter joins at exit: a loader that stops can exit."""
    pool = preparers(workers=2, files=2)
    futures = [pool.submit(time.sleep, 3600) for _ in range(2)]
    pids = list(pool._processes)  # type: ignore[attr-defined]  # a spawn pool starts one per task, up to 2
    manager = pool._executor_manager_thread  # type: ignore[attr-defined]
    assert len(pids) == 2 and manager is not None
    stop_now(pool)
    manager.join(timeout=30)
    alive = [pid for pid in pids if parent_of(pid) == os.getpid()]
    for pid in alive:  # leave nothing behind when the test fails; only our own children, still there
        signal_child(os.getpid(), pid, signal.SIGKILL)
    assert not manager.is_alive() and not alive
    assert all(future.done() for future in futures)


def test_waiting_for_a_file_gives_way_to_a_stop_within_a_fraction_of_a_second() -> None:
    """The stop flag is looked at between short waits: a signal handled by another thread wakes nobody."""
    preparing: Future[None] = Future()
    asked: list[float] = []

    def stop() -> str | None:
        asked.append(time.monotonic())
        return "stopped by SIGTERM" if len(asked) > 3 else None

    assert not done_unless_stopped(preparing, stop)
    assert len(asked) == 4 and asked[-1] - asked[0] < 3 * STOP_CHECK_SECONDS + 1
    preparing.set_result(None)
    assert done_unless_stopped(preparing, lambda: None)


def _pools_after_preparing(path: str) -> tuple[str, int]:
    prepare(LocalSource(Path(path)), LoadOptions(), "")
    return pa.default_memory_pool().backend_name, pa.mimalloc_memory_pool().max_memory()


def test_a_worker_allocates_all_of_arrow_from_one_pool(tmp_path: Path) -> None:
    """Arrow's C++ code (CSV reading, grouping) takes the pool ARROW_DEFAULT_MEMORY_POOL names, which
    `pa.set_memory_pool` does not change: a worker that set only that ran mimalloc beside glibc, and a
    dry run peaked at a fifth more memory. Nothing may reach mimalloc."""
    paths = demo.write_demo(tmp_path, 20_000, files=2)
    with preparers(workers=2, files=2) as pool:
        assert list(pool.map(_pools_after_preparing, map(str, paths))) == [("system", 0), ("system", 0)]


def test_workers_of_the_installed_command_import_no_cli(tmp_path: Path) -> None:
    """A spawned worker imports the parent's main module again: for the `vpcflow` script that once
    meant the whole CLI (Typer, Rich, every command), half a second per worker. Each process reports
    its imports (PYTHONPROFILEIMPORTTIME): the loader imports the CLI, its two workers only the pipeline."""
    paths = demo.write_demo(tmp_path, 20_000, files=2)
    script = Path(sys.executable).parent / "vpcflow"
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "VPCFLOW_HOME": str(tmp_path / "home"), "NEO4J_URI": ""}
    run = subprocess.run([script, "load", "--dry-run", *map(str, paths)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    imported = Counter(
        line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")
    )
    assert imported["etl.pipeline"] == 3  # the loader and both workers
    assert imported["etl.cli"] == 1 and imported["typer"] == 1


class _Counted(io.RawIOBase):
    """A file whose reader counts the bytes it has handed out."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("rb")
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self.handle.readinto(buffer)
        self.given += count
        return count

    def close(self) -> None:
        self.handle.close()
        super().close()


class _CountedSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.reader: _Counted | None = None

    @property
    def id(self) -> str:
        return str(self.path)

    def digest(self) -> str:
        return LocalSource(self.path).digest()

    def open(self) -> BinaryIO:
        self.reader = _Counted(self.path)
        return io.BufferedReader(self.reader, 1 << 16)  # type: ignore[return-value]


def test_a_stopped_load_ends_the_file_its_thread_prepares_at_the_next_block(tmp_path: Path) -> None:
    """One preparer is a thread of the loader, which cannot be killed as a worker process is: the file it
    prepares stops at its next block, and the load does not wait for the rest of it."""
    path = demo.write_demo(tmp_path, 600_000, files=1)[0]
    source = _CountedSource(path)
    summary = load([source], None, LoadOptions(workers=1), stop=lambda: "stopped by test" if source.reader else None)
    assert summary.files == [FileResult(source.id, "failed", "not loaded: stopped by test")]
    assert source.reader is not None and 0 < source.reader.given < path.stat().st_size / 2
    assert source.reader.closed
