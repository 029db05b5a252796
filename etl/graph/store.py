"""The graph store: every read and write goes through the official neo4j driver over Bolt."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors

from etl.batch import FileBatch
from etl.config import Settings
from etl.errors import QueryError, StoreError
from etl.graph import cypher
from etl.graph.embedded import BoltEndpoint, embedded_endpoint

BATCH_ROWS = 10_000


@dataclass(frozen=True)
class LoadOutcome:
    loaded: bool
    edges: int = 0
    reason: str = ""


def _describe(endpoint: BoltEndpoint, error: Exception) -> StoreError:
    if isinstance(error, neo4j_errors.AuthError):
        return StoreError(
            f"the graph server at {endpoint.uri} refused the credentials of user {endpoint.user!r}; "
            "check NEO4J_USER and NEO4J_PASSWORD"
        )
    if isinstance(error, neo4j_errors.ServiceUnavailable | OSError):
        return StoreError(f"cannot reach the graph server at {endpoint.uri}; is it running?")
    if isinstance(error, neo4j_errors.ConfigurationError | ValueError):
        return StoreError(f"NEO4J_URI {endpoint.uri!r} is not usable: {error}")
    message = getattr(error, "message", None) or str(error)
    return StoreError(f"the graph server at {endpoint.uri} failed: {message}")


def _chunks(rows: list[dict[str, Any]], size: int = BATCH_ROWS) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class GraphStore:
    def __init__(self, driver: neo4j.Driver, endpoint: BoltEndpoint) -> None:
        self.driver = driver
        self.endpoint = endpoint
        self.agent = driver.get_server_info().agent or "unknown"

    def _session(self) -> neo4j.Session:
        return self.driver.session(database=self.endpoint.database)

    def ensure_schema(self) -> None:
        with self._session() as session:
            for statement in cypher.SCHEMA:
                session.run(statement).consume()

    def is_loaded(self, source_id: str, digest: str) -> bool:
        with self._session() as session:
            entries = session.execute_read(lambda tx: tx.run(cypher.LEDGER_ENTRIES, id=source_id, digest=digest).data())
        return any(e["digest"] == digest for e in entries)

    def load(self, batch: FileBatch, *, reload: bool = False) -> LoadOutcome:
        """Write one file's rows and its ledger entry in one transaction, or nothing."""
        with self._session() as session:
            return session.execute_write(self._load_tx, batch, reload)

    def _load_tx(self, tx: neo4j.ManagedTransaction, batch: FileBatch, reload: bool) -> LoadOutcome:
        entries = tx.run(cypher.LEDGER_ENTRIES, id=batch.source_id, digest=batch.digest).data()
        for entry in entries:
            if entry["digest"] == batch.digest and not (reload and entry["id"] == batch.source_id):
                same = entry["id"] == batch.source_id
                return LoadOutcome(False, reason="already loaded" if same else f"same content as {entry['id']}")
        for entry in entries:
            if entry["id"] == batch.source_id:
                self._take_back(tx, entry)
        for rows in _chunks(batch.addresses):
            tx.run(cypher.UPSERT_ADDRESSES, rows=rows).consume()
        for rows in _chunks(batch.edges):
            tx.run(cypher.UPSERT_FLOWS, rows=rows).consume()
        tx.run(
            cypher.CREATE_LEDGER_ENTRY,
            id=batch.source_id,
            digest=batch.digest,
            records=batch.stats.records,
            nodata=batch.stats.nodata,
            skipdata=batch.stats.skipdata,
            rejected_lines=sum(batch.stats.malformed.values()),
            edges=len(batch.edges),
            loaded_at=int(time.time()),
            contribution=json.dumps([[e[k] for k in CONTRIBUTION_KEYS] for e in batch.edges]),
        ).consume()
        return LoadOutcome(True, edges=len(batch.edges))

    def _take_back(self, tx: neo4j.ManagedTransaction, entry: dict[str, Any]) -> None:
        rows = [dict(zip(CONTRIBUTION_KEYS, values, strict=True)) for values in json.loads(entry["contribution"])]
        for chunk in _chunks(rows):
            tx.run(cypher.SUBTRACT_FLOWS, rows=chunk).consume()
        ids = sorted({r["src"] for r in rows} | {r["dst"] for r in rows})
        for chunk in _chunks([{"id": i} for i in ids]):
            tx.run(cypher.DELETE_ORPHANS, ids=[c["id"] for c in chunk]).consume()
        tx.run(cypher.DELETE_LEDGER_ENTRY, id=entry["id"]).consume()

    def counts(self) -> dict[str, int]:
        with self._session() as session:
            record = session.run(cypher.COUNTS).single()
        return dict(record) if record else {}

    def query(self, text: str, parameters: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
        """Column names and rows (raw driver values: nodes, relationships, paths, plain values)."""
        try:
            with self._session() as session:
                result = session.run(text, parameters)
                rows = [dict(record) for record in result]
                return list(result.keys()), rows
        except neo4j_errors.ClientError as error:
            raise QueryError(f"the server rejected the query: {error.message}") from None

    def reset(self) -> int:
        deleted = 0
        with self._session() as session:
            while count := session.run(cypher.DELETE_SOME, limit=10_000).single(strict=True)["deleted"]:
                deleted += count
        return deleted


CONTRIBUTION_KEYS = ("src", "dst", "port", "protocol", "action", "count", "packets", "bytes")


@contextlib.contextmanager
def connect(endpoint: BoltEndpoint) -> Iterator[GraphStore]:
    """A store on a verified connection, its schema in place."""
    try:
        driver = neo4j.GraphDatabase.driver(endpoint.uri, auth=(endpoint.user, endpoint.password))
    except (neo4j_errors.ConfigurationError, ValueError) as error:
        raise _describe(endpoint, error) from None
    with driver:
        try:
            driver.verify_connectivity()
            store = GraphStore(driver, endpoint)
            store.ensure_schema()
        except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as error:
            raise _describe(endpoint, error) from None
        yield store


@contextlib.contextmanager
def open_store(settings: Settings) -> Iterator[GraphStore]:
    """The configured Neo4j when NEO4J_URI is set, else the embedded server in the state directory."""
    if settings.neo4j_uri:
        endpoint = BoltEndpoint(
            settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password or "", settings.neo4j_database
        )
        with connect(endpoint) as store:
            yield store
        return
    with embedded_endpoint(settings.home) as endpoint, connect(endpoint) as store:
        yield store
