"""Sources -> parse -> aggregate -> addresses -> store, one file at a time, files prepared in parallel."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from etl.aggregate import RECORD_FIELDS, Context, EdgeAccumulator
from etl.batch import FileBatch, distinct_edges
from etl.buckets import DAY
from etl.errors import SourceError, StoreUnavailableError, VpcflowError
from etl.formats import read_tables
from etl.identified import identified
from etl.identify import Naming
from etl.parse import ParseStats
from etl.sources.timewindow import account_of
from etl.workers import Stopped, done_unless_stopped, preparers, stop_now, stopping

if TYPE_CHECKING:
    from etl.graph.store import GraphStore

log = logging.getLogger(__name__)
# isal's stub declares its error an instance; it is a class (igzip_lib.IsalError).
_ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]

# Files whose ledger entries one query asks for (LedgerAhead).
LEDGER_AHEAD = 32

__all__ = ["FileResult", "LoadOptions", "LoadSummary", "ParseStats", "load", "prepare", "records"]


class Source(Protocol):
    @property
    def id(self) -> str: ...

    def digest(self) -> str: ...

    def open(self) -> BinaryIO: ...


@dataclass(frozen=True)
class LoadOptions:
    fields: Sequence[str] | None = None
    max_errors: int | None = None
    reload: bool = False
    workers: int = 2
    start: int | None = None  # epoch seconds; records ending before are left out
    end: int | None = None  # epoch seconds; records starting at or after it are left out
    naming: Naming = field(default_factory=Naming)
    addresses: str = "interface"  # or "packet": edges join pkt-srcaddr/pkt-dstaddr where records have them
    bucket: int = DAY  # seconds: the store's time bucket (GraphStore.time_bucket)


@dataclass
class FileResult:
    source_id: str
    status: str  # loaded | skipped | failed
    detail: str = ""
    stats: ParseStats = field(default_factory=ParseStats)
    edges: int = 0
    buckets: frozenset[int] = frozenset()  # the time buckets a loaded file wrote to
    last_seen: int | None = None  # the end of its latest record


Prepared = FileResult | FileBatch  # what a worker hands back: a file skipped or failed, or its rows

# What the libraries that read a file can raise on a hostile one, besides the SourceError the readers
# turn most of it into: json's RecursionError, pyarrow's ArrowException family (ArrowInvalid is a
# ValueError, ArrowTypeError a TypeError, ArrowNotImplementedError neither), a decoder's ValueError
# or UnicodeError, isal's error on a corrupt stream, MemoryError for a file that does not fit. Each
# fails its file, with the traceback at debug level, and the load goes on. Not caught: a lost server
# (StoreUnavailableError) or pool (BrokenExecutor) stops the load, and KeyboardInterrupt and
# SystemExit are not Exceptions.
FILE_FAULTS: tuple[type[BaseException], ...] = (
    pa.ArrowException, ValueError, TypeError, LookupError, ArithmeticError, RecursionError, MemoryError,
    OSError, EOFError, _ISAL_ERROR,
)  # fmt: skip


@dataclass
class LoadSummary:
    files: list[FileResult] = field(default_factory=list)
    stats: ParseStats = field(default_factory=ParseStats)
    edges_written: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def add(self, result: FileResult) -> None:
        """One file's (or slice's) outcome: a loaded one's counts go to the totals, another's malformed lines."""
        self.files.append(result)
        if result.status == "loaded":
            self.stats.add(result.stats)
            self.edges_written += result.edges
        else:
            self.stats.malformed.update(result.stats.malformed)

    @property
    def exit_code(self) -> int:
        """0 all loaded or already loaded; 1 nothing could be loaded; 3 some files failed."""
        failed = self.count("failed")
        if not failed:
            return 0
        return 1 if failed == len(self.files) else 3


def _in_window(table: pa.Table, options: LoadOptions, stats: ParseStats) -> pa.Table:
    """Records whose [start, end] meets the window; the others are counted, not kept."""
    keep = None
    if options.start is not None and "end" in table.column_names:
        keep = pc.fill_null(pc.greater_equal(table["end"], options.start), True)
    if options.end is not None and "start" in table.column_names:
        before_end = pc.fill_null(pc.less(table["start"], options.end), True)
        keep = before_end if keep is None else pc.and_(keep, before_end)
    if keep is None:
        return table
    outside = table.filter(pc.invert(keep))
    if outside.num_rows:
        stats.outside_window += outside.num_rows
        stats.records -= outside.num_rows
        if "log-status" in outside.column_names:
            statuses = outside["log-status"].to_pylist()
            stats.nodata -= statuses.count("NODATA")
            stats.skipdata -= statuses.count("SKIPDATA")
    return table.filter(keep)


def records(
    source: Source, options: LoadOptions, stats: ParseStats, columns: Collection[str] | None = None
) -> Iterator[pa.Table]:
    """The source's records inside the time window, as typed tables; counts go to `stats`.

    With `columns`, only those fields are read and checked; `start` and `end` must be among them
    when the options set a time window."""
    log.debug("opening %s", source.id)
    try:
        with source.open() as raw:
            for table in read_tables(raw, options.fields, stats, options.max_errors, columns):
                yield _in_window(table, options, stats)
    except (OSError, EOFError, _ISAL_ERROR) as error:  # isal's error: a corrupt deflate stream
        raise SourceError(f"cannot be read: {error}") from error


def prepare(
    source: Source, options: LoadOptions, digest: str | None = None, stop: threading.Event | None = None
) -> FileBatch:
    """Parse and aggregate one source into the rows the store writes. Reads; never writes.

    `digest` identifies the bytes in the ledger; by default the source's own. Once `stop` is set, the
    next block raises Stopped."""
    edges, addresses, stats, seconds = _identified(source, options, stop)
    clock = time.perf_counter()
    batch = FileBatch(source.id, source.digest() if digest is None else digest, edges, addresses, stats)
    batch.seconds = seconds | {"rows": time.perf_counter() - clock}
    return batch


def _identified(
    source: Source, options: LoadOptions, stop: threading.Event | None
) -> tuple[pa.Table, pa.Table, ParseStats, dict[str, float]]:
    """The source's edges (batch.FLOW_SCHEMA) and addresses (batch.ADDRESS_SCHEMA), its counts, and
    the seconds each stage took."""
    stats = ParseStats()
    context = Context(account_of(source.id), options.naming.known.switch_times, options.bucket)
    accumulator = EdgeAccumulator(packet=options.addresses == "packet", context=context)
    clock = time.perf_counter()
    aggregating = 0.0
    for table in records(source, options, stats, RECORD_FIELDS):
        if stop is not None and stop.is_set():
            raise Stopped(source.id)
        started = time.perf_counter()
        accumulator.add(table)
        aggregating += time.perf_counter() - started
    parsed = time.perf_counter()
    stats.packet_differs = accumulator.packet_differs
    edges, addresses = identified(accumulator, options.naming, stats)
    malformed = sum(stats.malformed.values())
    if stats.records == 0 and malformed:
        raise SourceError(f"no flow-log records in it ({malformed} malformed lines)")
    seconds = {
        "parse": parsed - clock - aggregating,
        "aggregate": aggregating,  # the final fold of the edges counts as identifying them
        "identify": time.perf_counter() - parsed,
    }
    return edges, addresses, stats, seconds


def _prepare_and_trim(
    source: Source, options: LoadOptions, digest: str | None = None, stop: threading.Event | None = None
) -> FileBatch:
    """`prepare`, as a worker runs it: what the file freed goes back to the system after it."""
    try:
        return prepare(source, options, digest, stop)
    finally:
        release_freed_memory()


def _dry_run(source: Source, options: LoadOptions, stop: threading.Event | None = None) -> FileResult:
    """A file prepared for a dry run: only its counts go back to the loader. Its rows, which nothing
    writes, cost a worker process 0.3 s per 1M-record internet-profile file to pickle and send (42 MB),
    and their ledger entry (edge keys, a compressed contribution) 0.05 s to build. They are freed
    before the memory goes back to the system, not after it."""
    try:
        edges, addresses, stats, seconds = _identified(source, options, stop)
        _log_stages(source.id, seconds)
        counted = FileResult(source.id, "loaded", "dry run", stats, distinct_edges(edges))
        del edges, addresses
        return counted
    finally:
        release_freed_memory()


def release_freed_memory() -> None:
    """Hand memory freed but kept by the allocator back to the system (glibc's malloc_trim, through
    Arrow's system pool). A worker kept a 1M-record file's ~120 MiB of parse buffers after it; while
    the writer is slower than the workers, they wait between files holding it, and a load of 10M
    internet-profile records peaked 0.3 GiB higher for it, all processes counted."""
    pa.default_memory_pool().release_unused()


def _submit(
    pool: Executor, at: int, source: Source, options: LoadOptions, ledger: LedgerAhead | None
) -> Future[Prepared]:
    """The file prepared by a worker, unless the ledger already holds its bytes; `ledger` None is a dry
    run, which writes no ledger entry, so the bytes need no digest. Never raises: what goes wrong is in
    the future, so files are finished in order whatever happens to each."""
    try:
        if ledger is None:
            return pool.submit(_dry_run, source, options, stopping(pool))
        checked = ledger.check(at)
        if isinstance(checked, FileResult):
            return _done(checked)
        return pool.submit(_prepare_and_trim, source, options, checked, stopping(pool))
    except (VpcflowError, BrokenExecutor) as error:
        return _failed(error)


class LedgerAhead:
    """What the ledger says of the files a load is about to prepare, asked LEDGER_AHEAD files at a time:
    one query where one per file cost a read transaction each (13 ms on the embedded server: a rerun
    over 300 small files, all skipped, spent 4 s on them). A file's digest is found when its query is
    asked, so a local file is read at most LEDGER_AHEAD files ahead of its preparation."""

    def __init__(self, sources: Sequence[Source], store: GraphStore, reload: bool) -> None:
        self._sources = sources
        self._store = store
        self._reload = reload  # a reload prepares every file: the ledger is not asked
        self._known: dict[int, str | FileResult] = {}

    def check(self, at: int) -> str | FileResult:
        """The digest to prepare sources[at] under, or what spares preparing it: already loaded, or
        unreadable."""
        if at not in self._known:
            self._ask(range(at, min(at + LEDGER_AHEAD, len(self._sources))))
        return self._known.pop(at)

    def _ask(self, positions: range) -> None:
        digests: dict[int, str] = {}
        for at in positions:
            try:
                digests[at] = self._sources[at].digest()
            except OSError as error:
                self._known[at] = FileResult(self._sources[at].id, "failed", f"cannot be read: {error}")
        held = self._store.loaded(list(digests.values())) if digests and not self._reload else set()
        for at, digest in digests.items():
            self._known[at] = (
                FileResult(self._sources[at].id, "skipped", "already loaded") if digest in held else digest
            )


def _done(result: FileResult) -> Future[Prepared]:
    future: Future[Prepared] = Future()
    future.set_result(result)
    return future


def _failed(error: BaseException) -> Future[Prepared]:
    future: Future[Prepared] = Future()
    future.set_exception(error)
    return future


def _finish(future: Future[Prepared], source: Source, store: GraphStore | None, reload: bool) -> FileResult:
    try:
        prepared = future.result()
    except StoreUnavailableError:
        raise
    except VpcflowError as error:
        return FileResult(source.id, "failed", str(error))
    except FILE_FAULTS as error:
        log.debug("%s could not be prepared", source.id, exc_info=error)
        return FileResult(source.id, "failed", f"could not be read: {_one_line(error)}")
    if isinstance(prepared, FileResult):  # skipped, failed, or a dry run's
        return prepared
    assert store is not None, "only a load with a store prepares rows"
    clock = time.perf_counter()
    outcome = store.load(prepared, reload=reload)
    _log_stages(source.id, prepared.seconds | {"write": time.perf_counter() - clock})
    if not outcome.loaded:
        return FileResult(source.id, "skipped", outcome.reason, prepared.stats)
    buckets = frozenset(pc.unique(prepared.edges["bucket"]).to_pylist())
    last_seen = pc.max(prepared.edges["last_seen"]).as_py()
    return FileResult(source.id, "loaded", "", prepared.stats, outcome.edges, buckets, last_seen)


def _log_stages(source_id: str, seconds: dict[str, float]) -> None:
    log.debug("%s: %s", source_id, ", ".join(f"{stage} {value:.3f} s" for stage, value in seconds.items()))


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def load(
    sources: Sequence[Source],
    store: GraphStore | None,
    options: LoadOptions,
    on_file: Callable[[FileResult], None] = lambda result: None,
    stop: Callable[[], str | None] = lambda: None,
) -> LoadSummary:
    """Load every source; `store=None` is a dry run. A bad file is recorded and the rest go on.

    Worker processes prepare the files ahead; this process checks the ledger and writes, one file
    at a time in order. A graph server gone for good, or a worker that died, stops the load: every
    file not loaded is recorded as such. So does `stop` when it gives a reason ("stopped by
    SIGTERM"): it is asked before each file and several times a second while one is prepared. A
    file being written then is committed, not cut: its transaction runs to its end (the reason is
    only a flag; nothing interrupts the driver) and the load stops after it, so the ledger holds
    exactly the files loaded and a rerun loads the rest."""
    started = time.perf_counter()
    summary = LoadSummary()

    def record(result: FileResult) -> None:
        log.debug("%s: %s %s", result.source_id, result.status, result.detail)
        summary.add(result)
        on_file(result)

    ledger = None if store is None else LedgerAhead(sources, store, options.reload)
    with preparers(options.workers, len(sources)) as pool:
        queue = iter(enumerate(sources))
        pending: deque[tuple[Source, Future[Prepared]]] = deque()  # in order; the next files are prepared ahead
        try:
            while (reason := stop()) is None:
                for at, source in itertools.islice(queue, max(1, options.workers) + 1 - len(pending)):
                    pending.append((source, _submit(pool, at, source, options, ledger)))
                if not pending:
                    break
                source, future = pending[0]
                if done_unless_stopped(future, stop):
                    record(_finish(future, source, store, options.reload))
                    pending.popleft()
                    del future  # the file's rows, so that what they held is freed now
                    release_freed_memory()
        except (StoreUnavailableError, BrokenExecutor) as error:
            # No later file can load either (a server away past the retry time, or a worker killed,
            # say by the kernel for memory). Each is named; the first with the error's own words.
            # A worker killed while a stop was asked died of the same signal (sent to the process
            # group before the worker had set itself to ignore it): that is the stop.
            stop_now(pool)
            reason = stop() if isinstance(error, BrokenExecutor) else None
            if reason is None:
                first, *rest = [source for source, _ in pending]
                record(FileResult(first.id, "failed", str(error)))
                for source in [*rest, *(source for _, source in queue)]:
                    record(FileResult(source.id, "failed", f"not loaded: the load stopped at {first.id}"))
        if reason is not None:
            stop_now(pool)
            for source, future in pending:
                record(_known_or_not_loaded(source, future, f"not loaded: {reason}"))
            for _, source in queue:
                record(FileResult(source.id, "failed", f"not loaded: {reason}"))
    summary.seconds = time.perf_counter() - started
    return summary


def _known_or_not_loaded(source: Source, future: Future[Prepared], detail: str) -> FileResult:
    """A file the load stopped before writing: what the ledger check found (already loaded, say), if
    it found anything, else not loaded."""
    if future.done() and not future.cancelled() and future.exception() is None:
        prepared = future.result()
        if isinstance(prepared, FileResult):
            return prepared
    return FileResult(source.id, "failed", detail)
