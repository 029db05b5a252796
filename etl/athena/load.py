"""`load athena://DATABASE/TABLE`: one query per slice, each slice's edges written as one ledger entry.

A slice's entry is named by the table and the slice's first moment, and its digest is the query's
fingerprint: the same command again skips what it loaded (no query is run, nothing is billed), a
changed query (another window edge, filter or bucket) replaces what the slice's entry added, as a
rewritten file does. A slice that fails is named and the others go on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from etl.athena.billing import Scanned
from etl.athena.client import Athena, AthenaError, Where
from etl.athena.edges import batch_of, row_schema
from etl.athena.slices import Slice, slices
from etl.athena.sql import Aggregation, Table, edge_sql, fingerprint, list_columns
from etl.errors import SourceError, StoreUnavailableError
from etl.identify import Naming
from etl.pipeline import FileResult, LoadSummary

if TYPE_CHECKING:
    from etl.graph.store import GraphStore


@dataclass(frozen=True)
class Plan:
    """What to query: the table, where queries run, the window [start, end) and its slices' length."""

    table: Table
    where: Where
    start: int
    end: int
    slice_seconds: int
    how: Aggregation = field(default_factory=Aggregation)

    def queries(self) -> Iterator[tuple[Slice, str]]:
        """Each slice, and the query that sums it."""
        for piece in slices(self.start, self.end, self.table.layout, self.slice_seconds):
            yield piece, edge_sql(self.table, piece, self.how)

    def source_id(self, piece: Slice) -> str:
        return f"athena://{self.table.database}/{self.table.name}/{piece.label}"


def load(
    athena: Athena,
    store: GraphStore,
    plan: Plan,
    naming: Naming,
    *,
    reload: bool = False,
    on_slice: Callable[[FileResult], None] = lambda result: None,
    stop: Callable[[], str | None] = lambda: None,
) -> tuple[LoadSummary, Scanned]:
    """Query and load each slice in order; `stop` is asked before each and while a query runs."""
    started = time.perf_counter()
    summary, scanned = LoadSummary(), Scanned()
    schema = row_schema(list_columns(plan.table, plan.how))
    pending = list(plan.queries())
    results = ""  # asked of the workgroup when a slice first needs a query: a rerun may need none
    for at, (piece, sql) in enumerate(pending):
        source_id, digest = plan.source_id(piece), fingerprint(sql)
        if (reason := stop()) is not None:
            _left(summary, plan, pending[at:], f"not loaded: {reason}", on_slice)
            break
        try:
            if not reload and store.is_loaded(digest):
                result = FileResult(source_id, "skipped", "already loaded")
            else:
                results = results or athena.result_location(plan.where).rstrip("/")
                target = f"{results}/vpcflow-unload/{plan.table}/{piece.start}-{uuid.uuid4().hex}/"
                finished, rows = athena.unload(sql, plan.where, target, schema, stop)
                scanned.queries.append(finished.query_id)
                scanned.bytes.append(finished.bytes_scanned)
                batch = batch_of(rows, source_id, digest, naming)
                outcome = store.load(batch, reload=reload)
                result = (
                    FileResult(source_id, "loaded", finished.query_id, batch.stats, outcome.edges)
                    if outcome.loaded
                    else FileResult(source_id, "skipped", outcome.reason, batch.stats)
                )
        except StoreUnavailableError as error:  # no later slice can be written either
            _record(summary, FileResult(source_id, "failed", str(error)), on_slice)
            _left(summary, plan, pending[at + 1 :], f"not loaded: the load stopped at {source_id}", on_slice)
            break
        except (AthenaError, SourceError) as error:
            result = FileResult(source_id, "failed", str(error))
        _record(summary, result, on_slice)
    summary.seconds = time.perf_counter() - started
    return summary, scanned


def _record(summary: LoadSummary, result: FileResult, on_slice: Callable[[FileResult], None]) -> None:
    summary.add(result)
    on_slice(result)


def _left(
    summary: LoadSummary,
    plan: Plan,
    pieces: list[tuple[Slice, str]],
    detail: str,
    on_slice: Callable[[FileResult], None],
) -> None:
    for piece, _ in pieces:
        _record(summary, FileResult(plan.source_id(piece), "failed", detail), on_slice)
