"""Faults of the graph server and of the connection to it: a server restarted mid-load, one that stays
down, wrong credentials, TLS. Real processes, real signals, the live server."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from etl.errors import StoreError
from etl.graph.embedded import BoltEndpoint
from etl.graph.store import connect
from etl.pipeline import LoadOptions, prepare
from etl.sources.local import LocalSource
from tests.flowlines import expected_edges
from tests.test_faults import LOAD, VPCFLOW, wait_until, write_logs
from tests.test_load import graph_edges, summary_value

pytestmark = pytest.mark.integration


class Served:
    """`vpcflow db serve` in a process of its own on a state directory of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "VPCFLOW_HOME": str(home), "NEO4J_URI": ""}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BoltEndpoint:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "served.json").unlink(missing_ok=True)
        said = self.home / "serve.out"
        # In its home: whatever it might write into its working directory stays there (a JVM crash report goes to
        # the state directory itself, -XX:ErrorFile, see etl/graph/embedded.py).
        with said.open("w") as out:
            process = self.process = subprocess.Popen(
                [*VPCFLOW, "db", "serve"], env=self.env, cwd=self.home, stdout=out
            )
        # Its last line comes once it is serving and listening for signals.
        wait_until(lambda: "stops it" in said.read_text() or process.poll() is not None, 120, "db serve to start")
        record = json.loads((self.home / "served.json").read_text())
        return BoltEndpoint(**{name: value for name, value in record.items() if name != "pid"})

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()  # fail, but leave no server behind
                raise AssertionError("db serve did not stop within 60 s of SIGTERM") from None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "served-home")
    yield server
    server.stop()


def ledger_count(endpoint: BoltEndpoint) -> int:
    """Files in the ledger, read over a connection of its own (no schema statements beside a load)."""
    with neo4j.GraphDatabase.driver(endpoint.uri, auth=(endpoint.user, endpoint.password)) as driver:
        records, _, _ = driver.execute_query("MATCH (l:LogFile) RETURN count(l) AS n", database_=endpoint.database)
    return int(records[0]["n"])


def _thread_taking(pid: int, signum: int) -> int:
    """A thread of `pid` other than its main one that does not block `signum`: one of the JVM's."""
    for tid in (int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid):
        status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        blocked = int(re.search(r"^SigBlk:\s*(\w+)$", status, re.MULTILINE)[1], 16)  # type: ignore[index]
        if not blocked >> (signum - 1) & 1:
            return tid
    raise AssertionError(f"no thread of {pid} takes signal {signum}")


def test_db_serve_stops_on_a_sigterm_the_kernel_hands_to_one_of_the_jvms_threads(served: Served) -> None:
    """kill(1) signals a process and the kernel picks the thread; Python runs its handler in the main
    thread only, when that thread next wakes. A main thread waiting for ever never did."""
    served.start()
    assert served.process is not None
    pid = served.process.pid
    assert ctypes.CDLL(None, use_errno=True).tgkill(pid, _thread_taking(pid, signal.SIGTERM), signal.SIGTERM) == 0
    served.process.wait(timeout=30)
    assert not (served.home / "served.json").exists()  # it left through its own clean-up


def test_a_server_restarted_mid_load_is_waited_for_and_the_totals_are_exact(served: Served, tmp_path: Path) -> None:
    endpoint = served.start()
    paths = write_logs(tmp_path / "logs", files=5, lines=12_000, seed=2)
    loader = subprocess.Popen(
        [*LOAD, str(tmp_path / "logs")], env=served.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_until(lambda: ledger_count(endpoint) >= 2 or loader.poll() is not None, 120, "two files to commit")
    served.kill()
    assert served.start().uri == endpoint.uri  # the same port, so the loader's driver finds it again
    out, err = loader.communicate(timeout=300)
    assert loader.returncode == 0, err.decode()
    assert summary_value(out.decode(), "files loaded") == len(paths)
    with connect(endpoint) as store:
        assert store.counts()["files"] == len(paths)
        assert graph_edges(store) == expected_edges(paths)


def test_a_server_that_stays_down_fails_the_load_within_the_retry_time(served: Served, tmp_path: Path) -> None:
    endpoint = served.start()
    batch = prepare(LocalSource(write_logs(tmp_path / "logs", files=1, lines=200)[0]), LoadOptions())
    with connect(endpoint, retry_seconds=3) as store:
        served.kill()
        started = time.monotonic()
        with pytest.raises(
            StoreError, match=r"^cannot reach the graph server at bolt://127\.0\.0\.1:\d+; is it running\?$"
        ):
            store.load(batch)
        assert time.monotonic() - started < 3 + 10  # the retry time, and one backoff step beyond it at most


def test_a_load_whose_server_stays_down_stops_within_the_retry_time_and_names_every_file_not_loaded(
    served: Served, tmp_path: Path
) -> None:
    endpoint = served.start()
    paths = write_logs(tmp_path / "logs", files=8, lines=12_000, seed=4)
    env = {**served.env, "VPCFLOW_RETRY_SECONDS": "3"}
    loader = subprocess.Popen([*LOAD, str(tmp_path / "logs")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: ledger_count(endpoint) >= 1 or loader.poll() is not None, 120, "a file to commit")
    served.kill()
    killed = time.monotonic()
    out, err = (stream.decode() for stream in loader.communicate(timeout=120))
    # The retry time for the file being written, again for a ledger lookup, and backoff steps.
    assert time.monotonic() - killed < 2 * 3 + 10
    loaded = summary_value(out, "files loaded")
    assert loader.returncode == (3 if loaded else 1), err
    failed = dict(re.findall(r"^failed: (\S+): (.*)$", err, re.MULTILINE))
    assert loaded + len(failed) == len(paths) == loaded + summary_value(out, "files failed")
    first, *rest = sorted(failed)
    assert rest == sorted(map(str, paths))[loaded + 1 :]
    unreachable = f"cannot reach the graph server at {endpoint.uri}; is it running?"
    assert all(failed[name] == f"not loaded: the load stopped at {first}" for name in rest)
    # The first was being written: either the server was gone before its commit, or it went away
    # during the commit, which may have landed. The ledger, read once the server is back, agrees.
    uncertain = (
        f"the graph server at {endpoint.uri} went away while committing {first} and did not come back: "
        "it may or may not be loaded; loading it again is safe"
    )
    assert failed[first] in (unreachable, uncertain)
    served.start()
    assert ledger_count(endpoint) in ({loaded, loaded + 1} if failed[first] == uncertain else {loaded})


def _tls_forwarder(upstream: tuple[str, int], cert: Path, key: Path) -> int:
    """A TLS-only Bolt endpoint on a loopback port: TLS outside, the live plain server inside."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def handle(client: socket.socket) -> None:
        # A TLS server turns away a client whose first byte does not open a TLS handshake (0x16).
        if client.recv(1, socket.MSG_PEEK) != b"\x16":
            client.close()
            return
        with contextlib.suppress(ssl.SSLError, OSError):
            secure = context.wrap_socket(client, server_side=True)
            inner = socket.create_connection(upstream)
            threading.Thread(target=pump, args=(secure, inner), daemon=True).start()
            pump(inner, secure)

    def accept() -> None:
        while True:
            client, _ = listener.accept()
            threading.Thread(target=handle, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return int(listener.getsockname()[1])


@pytest.fixture(scope="module")
def tls_port(bolt: tuple[BoltEndpoint, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> int:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    host, port = bolt[0].uri.split("://", 1)[1].rsplit(":", 1)
    return _tls_forwarder((host, int(port)), cert, key)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PASSWORD = "Pa55-word-only-this-test-knows"
CONNECTION_FAULTS = {
    # case: (uri, the sentence the user gets)
    "wrong credentials": ("{plain}", r"refused the credentials of user '[^']+'; check NEO4J_USER and NEO4J_PASSWORD"),
    "nothing listening": (
        "bolt://127.0.0.1:{free}",
        r"cannot reach the graph server at bolt://127\.0\.0\.1:\d+; is it",
    ),
    "TLS to a plain server": (
        "bolt+s://{plain_host}",
        r"no TLS connection to bolt\+s://\S+: the server there does not",
    ),
    "plain to a TLS server": (
        "bolt://127.0.0.1:{tls}",
        r"broke off the Bolt handshake; if it requires TLS, use bolt\+s://",
    ),
    "untrusted certificate": (
        "bolt+s://localhost:{tls}",
        r"has a certificate this machine does not trust \(.+\); use a \+ssc",
    ),
}


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("case", list(CONNECTION_FAULTS))
def test_connection_faults_are_one_sentence_and_never_show_the_password(
    case: str, debug: bool, bolt: tuple[BoltEndpoint, dict[str, str]], tls_port: int, tmp_path: Path
) -> None:
    endpoint = bolt[0]
    uri, sentence = CONNECTION_FAULTS[case]
    uri = uri.format(plain=endpoint.uri, plain_host=endpoint.uri.split("://", 1)[1], free=_free_port(), tls=tls_port)
    # Only the credentials case gets a wrong password; the others carry the right one, which must not leak.
    password = PASSWORD if case == "wrong credentials" else endpoint.password
    env = {**os.environ, "NEO4J_URI": uri, "NEO4J_USER": endpoint.user, "NEO4J_PASSWORD": password}
    result = subprocess.run(
        [*VPCFLOW, *(["--debug"] if debug else []), "db", "status"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert password not in output
    if not debug:  # one sentence on one line; --debug adds the traceback, still without the password
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        assert re.search(sentence, result.stderr)
        assert "Traceback" not in output


def test_a_self_signed_tls_server_is_reachable_with_bolt_ssc(
    bolt: tuple[BoltEndpoint, dict[str, str]], tls_port: int
) -> None:
    endpoint = bolt[0]
    secure = BoltEndpoint(f"bolt+ssc://localhost:{tls_port}", endpoint.user, endpoint.password, endpoint.database)
    with connect(secure) as store:
        assert set(store.counts()) == {"addresses", "flows", "files"}
