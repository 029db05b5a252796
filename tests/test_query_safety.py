"""Queries cannot change the graph unless they say so, and every store call fails in one sentence: on
the live server, through the real CLI."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.errors import QueryError, StoreUnavailableError
from etl.graph.embedded import BoltEndpoint
from etl.graph.store import GraphStore, connect
from tests.test_cli import write_known_log

pytestmark = pytest.mark.integration
runner = CliRunner()
KNOWN_COUNTS = {"addresses": 5, "flows": 4, "files": 1}


@pytest.fixture
def loaded(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> GraphStore:
    result = runner.invoke(app, ["load", "--pseudonymize", "none", str(write_known_log(tmp_path / "known.log"))])
    assert result.exit_code == 0, result.output
    assert store.counts() == KNOWN_COUNTS
    return store


def query_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "innocent.cypher"
    path.write_text(text)
    return str(path)


WRITES = [
    "MATCH (n) DETACH DELETE n",
    "MATCH (n) DETACH DELETE n RETURN count(*) AS deleted",
    "MATCH (a:Address) SET a.name = 'owned' RETURN a.id AS src, a.id AS dst",
    "MATCH (s:Address {id: '192.0.2.9'}), (d:Address {id: '10.0.0.10'}) CREATE (s)-[f:FLOW {port: 1}]->(d) RETURN s.id AS src, d.id AS dst",
    "CREATE (a:Address {id: '203.0.113.1'}) RETURN a",
    "MATCH (a:Address) REMOVE a.scope RETURN a",
]  # fmt: skip


@pytest.mark.parametrize("cypher", WRITES)
@pytest.mark.parametrize("command", [["query", "run"], ["view"]])
def test_a_query_that_writes_without_saying_so_changes_nothing(
    loaded: GraphStore, tmp_path: Path, cypher: str, command: list[str]
) -> None:
    before = loaded.query("MATCH (a:Address) RETURN a.id AS id, a.name AS name, a.scope AS scope ORDER BY id", {})
    path = query_file(tmp_path, f"// title: Innocent looking\n// description: Just a look.\n{cypher}\n")
    output = ["-o", str(tmp_path / "page.html")] if command == ["view"] else []
    result = runner.invoke(app, [*command, path, *output])
    assert result.exit_code == 1, result.output
    assert "the query writes to the graph, so nothing it did was kept" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert loaded.counts() == KNOWN_COUNTS
    assert (
        loaded.query("MATCH (a:Address) RETURN a.id AS id, a.name AS name, a.scope AS scope ORDER BY id", {}) == before
    )
    assert not (tmp_path / "page.html").exists()


def test_a_query_whose_header_says_it_writes_runs_and_says_so(loaded: GraphStore, tmp_path: Path) -> None:
    cypher = "MATCH (a:Address {id: '192.0.2.9'}) SET a.name = 'scanner' RETURN a.id AS id, a.name AS name"
    path = query_file(tmp_path, f"// title: Name the scanner\n// writes: true\n{cypher}\n")
    result = runner.invoke(app, ["query", "run", path, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert "innocent: this query writes to the graph" in result.stderr
    assert '"name": "scanner"' in result.stdout
    assert loaded.query("MATCH (a:Address {name: 'scanner'}) RETURN a.id AS id", {})[1] == [{"id": "192.0.2.9"}]


def test_a_read_only_query_says_nothing_about_writing(loaded: GraphStore, tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", "run", "top-edges", "-f", "json"])
    assert result.exit_code == 0 and result.stderr == ""


def test_a_query_the_server_fails_on_is_one_sentence(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    # ArcadeDB answers an unknown procedure with a DatabaseError, Neo4j with a ClientError.
    result = runner.invoke(app, ["query", "run", query_file(tmp_path, "CALL nope.nothing()\n")])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and "nope.nothing" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    with pytest.raises(QueryError, match=r"^the server rejected the query"):
        store.query("MATCH (s RETURN s", {})


class Forwarder:
    """A loopback port that forwards to the live server until closed: a server that goes away."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        # shutdown first: a close alone leaves the accept() blocked in the other thread accepting.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def going_away(bolt: tuple[BoltEndpoint, dict[str, str]]) -> Iterator[tuple[GraphStore, Forwarder]]:
    endpoint = bolt[0]
    host, port = endpoint.uri.rsplit("//", 1)[1].rsplit(":", 1)
    forwarder = Forwarder((host, int(port)))
    through = BoltEndpoint(f"bolt://127.0.0.1:{forwarder.port}", endpoint.user, endpoint.password, endpoint.database)
    with connect(through, retry_seconds=1) as store:
        yield store, forwarder
    forwarder.close()


@pytest.mark.parametrize(
    "call",
    [lambda s: s.query("RETURN 1 AS one", {}), lambda s: s.counts(), lambda s: s.reset()],
    ids=["query", "counts", "reset"],
)
def test_every_store_call_on_a_server_that_went_away_is_one_sentence(going_away, call) -> None:  # type: ignore[no-untyped-def]
    store, forwarder = going_away
    forwarder.close()
    with pytest.raises(
        StoreUnavailableError, match=rf"^cannot reach the graph server at bolt://127.0.0.1:{forwarder.port}"
    ):
        call(store)
