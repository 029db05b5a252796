"""The graph store: every read and write goes through the official neo4j driver over Bolt.

One file is one managed transaction: its addresses, its edges and its ledger entry commit together or
not at all, so a crash, a kill or a server restart mid-file leaves nothing of it behind, and the
driver's retries (with backoff, up to `retry_seconds`) re-run the whole file once the server answers.
Edges are found by their `key` through an index, never by walking an endpoint's relationships.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping, Sequence, Set, Sized
from dataclasses import dataclass
from typing import Any

import neo4j
import pyarrow as pa
from neo4j import exceptions as neo4j_errors

from etl.batch import FileBatch, FlowRows, decode_contribution, key_endpoints
from etl.buckets import DAY, bucket_text
from etl.config import RETRY_SECONDS, Settings
from etl.errors import QueryError, StoreError, StoreUnavailableError, UsageError
from etl.graph import cypher
from etl.graph.embedded import BoltEndpoint, embedded_endpoint
from etl.graph.failures import DRIVER_ERRORS, back_off, describe, reconnect_in_time

log = logging.getLogger(__name__)
ALREADY_LOADED = "already loaded"


@dataclass(frozen=True)
class Batching:
    """Rows per statement: the one place where the servers differ, chosen by their reported agent."""

    addresses: int
    lookups: int  # keys sent with what the file adds to them
    probes: int  # keys sent bare, to find which exist
    creates: int


# ArcadeDB re-checks `f.key IN $keys` against the whole list for each edge its index returns (a cost
# of list length x edges found), so lists of keys that are likely found stay short, and lists of keys
# that are likely new grow long; Neo4j seeks the index once per key.
ARCADEDB_BATCHING = Batching(addresses=10_000, lookups=250, probes=2_500, creates=5_000)
NEO4J_BATCHING = Batching(addresses=10_000, lookups=10_000, probes=10_000, creates=10_000)


def batching_for(agent: str) -> Batching:
    """ArcadeDB reports e.g. `Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)`; anything else is Neo4j."""
    return ARCADEDB_BATCHING if "arcadedb" in agent.lower() else NEO4J_BATCHING


@dataclass(frozen=True)
class LoadOutcome:
    loaded: bool
    edges: int = 0
    reason: str = ""


def skip_reason(entries: Sequence[Mapping[str, Any]], source_id: str, digest: str, reload: bool) -> str:
    """Why a file must not be written, from the ledger entries sharing its id or its digest; "" to write."""
    for entry in entries:
        same_file = entry["id"] == source_id
        if entry["digest"] == digest and not (reload and same_file):
            return ALREADY_LOADED if same_file else f"same content as {entry['id']}"
    return ""


def creation_rows(flows: FlowRows, positions: Sequence[int], elements: Mapping[str, str]) -> list[list[Any]]:
    """CREATE_FLOWS rows for the edges at `positions`, their ends by element id."""
    rows = []
    for i, attributes, added in zip(positions, flows.attributes(positions), flows.added(positions), strict=True):
        source, destination = flows.ends[i]
        rows.append([elements[source], elements[destination], flows.keys[i], *attributes, *added])
    return rows


def _count(rows: Sized) -> str:
    return f"<{len(rows)} rows>"


# Statement rows whose repr is their count. The driver formats every RUN's parameters for a debug line
# even with debug logging off (neo4j 6.4, `_bolt5.py`), a twentieth of a load's time; and rows are
# data, which logs must not carry.
class _Rows(list):  # type: ignore[type-arg]
    __repr__ = _count


class _RowMap(dict):  # type: ignore[type-arg]
    __repr__ = _count


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class GraphStore:
    def __init__(self, driver: neo4j.Driver, endpoint: BoltEndpoint, retry_seconds: float = RETRY_SECONDS) -> None:
        self.driver = driver
        self.endpoint = endpoint
        self.retry_seconds = retry_seconds
        self.agent = driver.get_server_info().agent or "unknown"
        self.batching = batching_for(self.agent)

    def _session(self, access: str = neo4j.WRITE_ACCESS) -> neo4j.Session:
        return self.driver.session(database=self.endpoint.database, default_access_mode=access)

    def ensure_schema(self) -> None:
        with self._session() as session:
            for statement in cypher.SCHEMA:
                session.run(statement).consume()
            stored = session.run(cypher.STORED_VERSION).single(strict=True)["version"] or 0
            if stored < cypher.SCHEMA_VERSION:
                for version, migration in sorted(cypher.MIGRATIONS.items()):
                    if version > stored:
                        session.execute_write(_run, migration)
                session.run(cypher.SET_VERSION, version=cypher.SCHEMA_VERSION).consume()

    def time_bucket(self, requested: int | None) -> int:
        """The store's bucket length in seconds: the one it keeps, else `requested` (or a day), recorded."""
        with self._session() as session:
            stored = session.run(cypher.STORED_BUCKET).single(strict=True)["bucket"]
            if stored is None:
                stored = requested or DAY
                session.run(cypher.SET_BUCKET, bucket=stored).consume()
        if requested is not None and requested != stored:
            raise UsageError(
                f"this store keeps {bucket_text(stored)} buckets, chosen when it was first loaded, not "
                f"{bucket_text(requested)}; load with --bucket {bucket_text(stored)}, or into another store"
            )
        return int(stored)

    def is_loaded(self, digest: str) -> bool:
        return digest in self.loaded([digest])

    def loaded(self, digests: Sequence[str]) -> set[str]:
        """Those of `digests` the ledger holds, loaded under any name: asked in one query, as a read
        transaction costs a round trip of about 13 ms on the embedded server (300 files asked one by
        one: 3.8-4.6 s; at once: 0.03 s)."""
        deadline = time.monotonic() + self.retry_seconds
        while True:
            try:
                with self._session() as session:
                    rows = session.execute_read(lambda tx: tx.run(cypher.LOADED_DIGESTS, digests=list(digests)).data())
                return {row["digest"] for row in rows}
            except DRIVER_ERRORS as error:
                if not reconnect_in_time(error, deadline):
                    raise describe(self.endpoint, error) from error

    def load(self, batch: FileBatch, *, reload: bool = False) -> LoadOutcome:
        """Write one file's rows and its ledger entry in one transaction, or nothing.

        Raises StoreUnavailableError when the server stays unreachable past the retry time: the file
        is then not loaded, and no later file can be either."""
        deadline = time.monotonic() + self.retry_seconds
        uncertain, attempt = False, 0
        while True:
            try:
                with self._session() as session:
                    outcome = session.execute_write(self._load_tx, batch, reload)
            except (neo4j_errors.ConstraintError, neo4j_errors.IncompleteCommit) as error:
                # A constraint violation: another process committed this file, the same bytes or some of
                # the same new addresses or edges first. A dropped COMMIT: it may or may not have landed.
                # Either way the next attempt reads the ledger and the graph as they now are.
                dropped_commit = isinstance(error, neo4j_errors.IncompleteCommit)
                uncertain = uncertain or dropped_commit
                if dropped_commit and time.monotonic() >= deadline:
                    raise self._gone_while_committing(batch.source_id) from error
                attempt += 1
                back_off(batch.source_id, error, attempt, deadline)
                continue
            except DRIVER_ERRORS as error:
                if reconnect_in_time(error, deadline):
                    continue
                # After a dropped COMMIT, the server that stayed away leaves that commit in doubt.
                gone = self._gone_while_committing(batch.source_id) if uncertain else describe(self.endpoint, error)
                raise gone from error
            if uncertain and outcome.reason == ALREADY_LOADED:
                return LoadOutcome(True, edges=batch.edge_count)
            return outcome

    def _gone_while_committing(self, source_id: str) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"the graph server at {self.endpoint.uri} went away while committing {source_id} and did not come "
            "back: it may or may not be loaded; loading it again is safe"
        )

    def _load_tx(self, tx: neo4j.ManagedTransaction, batch: FileBatch, reload: bool) -> LoadOutcome:
        entries = tx.run(cypher.LEDGER_ENTRIES, id=batch.source_id, digest=batch.digest).data()
        if reason := skip_reason(entries, batch.source_id, batch.digest, reload):
            return LoadOutcome(False, reason=reason)
        for entry in entries:
            if entry["id"] == batch.source_id:
                self._take_back(tx, entry)
        elements, created = self._upsert_addresses(tx, batch.addresses)
        self._upsert_flows(tx, batch.flows, elements, created)
        tx.run(
            cypher.CREATE_LEDGER_ENTRY,
            id=batch.source_id,
            digest=batch.digest,
            records=batch.stats.records,
            nodata=batch.stats.nodata,
            skipdata=batch.stats.skipdata,
            rejected_lines=sum(batch.stats.malformed.values()),
            edges=batch.edge_count,
            loaded_at=int(time.time()),
            contribution=batch.flows.contribution,
        ).consume()
        return LoadOutcome(True, edges=batch.edge_count)

    def _upsert_addresses(self, tx: neo4j.ManagedTransaction, addresses: pa.Table) -> tuple[dict[str, str], set[str]]:
        """Address key -> element id, for the edges to reach their endpoints without an index lookup;
        and the keys this file created."""
        elements: dict[str, str] = {}
        created: set[str] = set()
        for start in range(0, addresses.num_rows, self.batching.addresses):
            rows = addresses.slice(start, self.batching.addresses).to_pylist()
            record = tx.run(cypher.UPDATE_ADDRESSES, rows=_Rows(rows)).single(strict=True)
            elements.update(zip(record["keys"], record["elements"], strict=True))
            if new := [row for row in rows if row["key"] not in elements]:
                record = tx.run(cypher.CREATE_ADDRESSES, rows=_Rows(new)).single(strict=True)
                elements.update(zip(record["keys"], record["elements"], strict=True))
                created.update(record["keys"])
        return elements, created

    def _upsert_flows(
        self, tx: neo4j.ManagedTransaction, flows: FlowRows, elements: Mapping[str, str], created: Set[str]
    ) -> None:
        """Add to the edges that exist (found by key), then create the rest. An edge with an end this
        file created is new: it is not looked for."""
        fresh: list[int] = []
        maybe: list[int] = []
        for i, (source, destination) in enumerate(flows.ends):
            (fresh if source in created or destination in created else maybe).append(i)
        new = [*fresh, *self._add_to_flows(tx, flows, maybe)]
        for positions in _chunks(new, self.batching.creates):
            rows = creation_rows(flows, positions, elements)
            created_edges = tx.run(cypher.CREATE_FLOWS, rows=_Rows(rows)).single(strict=True)["created"]
            if created_edges != len(rows):  # an edge must never vanish because an endpoint was not found
                raise StoreError(f"the graph server created {created_edges} of {len(rows)} edges; nothing was loaded")

    def _add_to_flows(self, tx: neo4j.ManagedTransaction, flows: FlowRows, positions: Sequence[int]) -> list[int]:
        """Add the file's rows at `positions` to the edges that exist; the positions of those that are new.

        Keys go with their rows while the last list's keys were mostly found. While they were mostly
        new, a longer list goes bare first and only the keys found go again with their rows."""
        position = {flows.keys[i]: i for i in positions}
        candidates = list(position)
        new: list[int] = []
        start, mostly_found = 0, True
        while start < len(candidates):
            size = self.batching.lookups if mostly_found else self.batching.probes
            keys = candidates[start : start + size]
            if mostly_found:
                found = self._add(tx, flows, position, keys)
            else:
                found = tx.run(cypher.FIND_FLOWS, keys=_Rows(keys)).single(strict=True)["found"]
                for chunk in _chunks(found, self.batching.lookups):
                    self._add(tx, flows, position, chunk)
            mostly_found = 2 * len(found) >= len(keys)
            seen = set(found)
            new.extend(position[key] for key in keys if key not in seen)
            start += size
        return new

    def _add(
        self, tx: neo4j.ManagedTransaction, flows: FlowRows, position: Mapping[str, int], keys: Sequence[str]
    ) -> list[str]:
        rows = _RowMap(zip(keys, flows.added([position[key] for key in keys]), strict=True))
        return tx.run(cypher.ADD_TO_FLOWS, keys=_Rows(keys), rows=rows).single(strict=True)["found"]

    def _take_back(self, tx: neo4j.ManagedTransaction, entry: Mapping[str, Any]) -> None:
        sums = decode_contribution(entry["contribution"])
        for keys in _chunks(list(sums), self.batching.lookups):
            tx.run(cypher.SUBTRACT_FLOWS, keys=_Rows(keys), rows=_RowMap((k, sums[k]) for k in keys)).consume()
        keys = sorted({address for key in sums for address in key_endpoints(key)})
        for chunk in _chunks(keys, self.batching.addresses):
            tx.run(cypher.DELETE_ORPHANS, keys=chunk).consume()
        tx.run(cypher.DELETE_LEDGER_ENTRY, id=entry["id"]).consume()

    def counts(self) -> dict[str, int]:
        try:
            with self._session(neo4j.READ_ACCESS) as session:
                record = session.execute_read(lambda tx: tx.run(cypher.COUNTS).single())
        except DRIVER_ERRORS as error:
            raise describe(self.endpoint, error) from error
        return dict(record) if record else {}

    def query(
        self, text: str, parameters: dict[str, Any], *, writes: bool = False
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Column names and rows (raw driver values: nodes, relationships, paths, plain values).

        Read-only unless `writes`: a query that changes the graph anyway is rolled back and refused."""
        try:
            with self._session(neo4j.WRITE_ACCESS if writes else neo4j.READ_ACCESS) as session:
                run = session.execute_write if writes else session.execute_read
                return run(_query_tx, text, parameters, not writes)
        except _WroteWhileReading as error:
            raise QueryError(READ_ONLY_REFUSED) from error
        except neo4j_errors.ClientError as error:
            if error.code == "Neo.ClientError.Statement.AccessMode":  # Neo4j refuses writes itself
                raise QueryError(READ_ONLY_REFUSED) from error
            raise QueryError(f"the server rejected the query: {error.message}") from error
        except DRIVER_ERRORS as error:
            raise describe(self.endpoint, error) from error

    def reset(self) -> int:
        deleted = 0
        try:
            with self._session() as session:
                while count := session.execute_write(_delete_some):
                    deleted += count
        except DRIVER_ERRORS as error:
            raise describe(self.endpoint, error) from error
        return deleted


READ_ONLY_REFUSED = (
    "the query writes to the graph, so nothing it did was kept; a query meant to write says so "
    "with a '// writes: true' line in its header"
)


class _WroteWhileReading(Exception):
    """Raised inside a read transaction that changed the graph, so that the driver rolls it back."""


def _query_tx(tx: neo4j.ManagedTransaction, text: str, parameters: dict[str, Any], read_only: bool) -> Any:
    result = tx.run(text, parameters)
    rows = [dict(record) for record in result]
    keys = list(result.keys())
    # ArcadeDB runs writes in a READ transaction over Bolt (checked on 26.10): the summary's counters
    # are what tells, on both servers, and raising here rolls the transaction back.
    counters = result.consume().counters
    if read_only and (counters.contains_updates or counters.contains_system_updates):
        raise _WroteWhileReading
    return keys, rows


def _run(tx: neo4j.ManagedTransaction, statement: str) -> None:
    tx.run(statement).consume()


def _delete_some(tx: neo4j.ManagedTransaction) -> int:
    return int(tx.run(cypher.DELETE_SOME, limit=10_000).single(strict=True)["deleted"])


@contextlib.contextmanager
def connect(endpoint: BoltEndpoint, *, retry_seconds: float = RETRY_SECONDS) -> Iterator[GraphStore]:
    """A store on a verified connection, its schema in place; writes retry for up to `retry_seconds`."""
    try:
        driver = neo4j.GraphDatabase.driver(
            endpoint.uri,
            auth=(endpoint.user, endpoint.password),
            max_transaction_retry_time=retry_seconds,
            connection_acquisition_timeout=retry_seconds,
        )
    except (neo4j_errors.ConfigurationError, ValueError) as error:
        raise describe(endpoint, error) from error
    with driver:
        try:
            driver.verify_connectivity()
            store = GraphStore(driver, endpoint, retry_seconds)
            store.ensure_schema()
        except DRIVER_ERRORS as error:
            raise describe(endpoint, error) from error
        yield store


@contextlib.contextmanager
def open_store(settings: Settings) -> Iterator[GraphStore]:
    """The configured Neo4j when NEO4J_URI is set, else the embedded server in the state directory."""
    retry_seconds = settings.retry_seconds
    if settings.neo4j_uri:
        endpoint = BoltEndpoint(
            settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password or "", settings.neo4j_database
        )
        with connect(endpoint, retry_seconds=retry_seconds) as store:
            yield store
        return
    with embedded_endpoint(settings.home) as endpoint, connect(endpoint, retry_seconds=retry_seconds) as store:
        yield store
