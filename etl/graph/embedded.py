"""The embedded default: ArcadeDB in this process, speaking Bolt on a loopback port.

Its data, root password and logs live in the state directory (etl.statedir: 0700, files 0600, no
symbolic link followed). One process owns that directory at a time (an advisory lock); `vpcflow db
serve` also records its Bolt address there (etl.graph.served), so other commands on the same state
directory connect to it instead of failing. The Bolt port is remembered too and taken again at the
next start when it is free: a served store that restarts comes back where its clients' drivers look
for it, so their retries reconnect.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from etl.errors import StoreBusyError, StoreError
from etl.graph import served
from etl.statedir import create_private, open_private, read_private, read_unless_link, state_dir, tighten, write_private

DATABASE = "vpcflow"
HEAP = "768m"  # the embedded server's maximum heap unless ARCADEDB_JVM_ARGS sets one (_heap)
USER = "root"
_PASSWORD_FILE = "root-password"
_LOCK_FILE = "embedded.lock"
_SERVED_FILE = "served.json"
_PORT_FILE = "bolt-port"
_DATA_DIR = "arcadedb"
_HTTP_PORTS = 15
# Every listener on the loopback address the clients dial, set by the engine's own setting names
# (GlobalConfiguration): arcadedb-embedded 26.10.1 left Bolt on all interfaces, and its wrapper's `host`
# default is a name, "localhost", which a resolver may turn into ::1.
_LOOPBACK = "127.0.0.1"
_LISTEN_ON = {"server_httpIncomingHost": _LOOPBACK, "bolt_host": _LOOPBACK}
_LOGGING = """handlers = java.util.logging.FileHandler
java.util.logging.FileHandler.pattern = {log}
java.util.logging.FileHandler.limit = 10000000
java.util.logging.FileHandler.count = 2
java.util.logging.FileHandler.formatter = java.util.logging.SimpleFormatter
.level = WARNING
"""
NOT_INSTALLED = (
    "no graph server: set NEO4J_URI to a Neo4j server (see docker-compose.yml), "
    "or install the embedded one with: pip install 'vpcflow[embedded]'"
)


@dataclass(frozen=True)
class BoltEndpoint:
    uri: str
    user: str
    password: str = field(repr=False)  # endpoints end up in debug logs and tracebacks
    database: str | None


def root_password(home: Path) -> str:
    """Generated once, readable by its owner only; refused when a link or open to other users."""
    path = home / _PASSWORD_FILE
    create_private(path, secrets.token_urlsafe(24))  # unless there is one already
    return read_private(path, "the root password file").strip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        # Bind as a listening server does: a port whose last connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _bolt_port(home: Path) -> int:
    """The port this state directory's server used last time if it is still free, else a new one."""
    path = home / _PORT_FILE
    text = (read_unless_link(path) or "").strip()
    port = int(text) if text.isdigit() and _is_free(int(text)) else _free_port()
    write_private(path, str(port))
    return port


def served_endpoint(home: Path) -> BoltEndpoint | None:
    """The endpoint `vpcflow db serve` recorded, if the process that recorded it still serves it."""
    fields = served.verified(home / _SERVED_FILE)
    return None if fields is None else BoltEndpoint(**fields)


@contextlib.contextmanager
def _exclusive(home: Path) -> Iterator[None]:
    with os.fdopen(open_private(home / _LOCK_FILE, os.O_RDWR | os.O_CREAT)) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise StoreBusyError(
                f"the embedded graph store in {home} is in use by another vpcflow process; wait for it, "
                f"or run `vpcflow db serve` once and let every command connect to it"
            ) from error
        yield


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    """Files the JVM creates meanwhile are its owner's only. The 0700 state directory is what keeps
    other users out of the graph; this keeps its files private too if the directory is opened up or
    copied with its modes. The umask is the process's, so it is narrowed around the start alone (the
    user's own files, views and exports, keep their modes): files the server adds later rely on the
    directory while it runs and are narrowed by `tighten` when it stops."""
    saved = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(saved)


@contextlib.contextmanager
def _stderr_to(log: TextIO) -> Iterator[None]:
    """The JVM writes start-up warnings straight to file descriptor 2; send them to the log."""
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _collector() -> list[str]:
    """The throughput collector: a load is a batch job, and G1's concurrent work took a core's share from
    it on two cores (about a fifth less CPU per edge, bench/load_speed.py). A collector chosen in
    ARCADEDB_JVM_ARGS wins: two would stop the JVM from starting.

    System.gc() does nothing (-XX:+DisableExplicitGC): JPype 1.7.1 calls it when Python's own garbage
    collector runs (jpype-project/jpype#1197), and the Python half of this process makes garbage at every
    row, so the server stopped for full collections of its whole heap. A cold load of 6 files (329k edge
    rows, 1.5M records) ran 17 of them (Java Flight Recorder: System.gc() from org.jpype), 35 collections
    in all and 9.8 s of pauses; with the flag and cypher.py's map SETs, 22 and 1.8 s. The heap's own
    collections run as before, and no ArcadeDB code relies on System.gc(): it allocates no direct buffers
    (checked in its engine, server, network and Bolt sources)."""
    chosen = os.environ.get("ARCADEDB_JVM_ARGS", "")
    collector = [] if re.search(r"-XX:\+Use\w+GC\b", chosen) else ["-XX:+UseParallelGC"]
    return [*collector, *([] if "ExplicitGC" in chosen else ["-XX:+DisableExplicitGC"])]


def _heap() -> list[str]:
    """At most 768 MiB of heap unless ARCADEDB_JVM_ARGS says otherwise. arcadedb-embedded's default is
    4 GiB, and the parallel collector grows the heap towards its maximum rather than collect: loading 10M
    internet-profile records (520k edges, a 143 MB store) took this process to 3.7 GiB of RSS. Peak RSS
    of all processes and time of that load, alternating runs: 1 GiB, 2.06-2.16 GiB in 67-76 s; 768
    MiB, 1.81-1.88 GiB in 65-76 s; 512 MiB, 1.62 GiB but 85 s. ArcadeDB keeps a quarter of the heap
    for its page cache; a larger store is read through the kernel's cache beyond that."""
    return [] if re.search(r"-Xmx\S+", os.environ.get("ARCADEDB_JVM_ARGS", "")) else [f"-Xmx{HEAP}"]


def _signal_crash_args(home: Path) -> list[str]:
    """The JVM leaves SIGINT, SIGTERM and SIGHUP to Python, and writes its crash files in the state directory.

    -Xrs: without it, starting the JVM replaced this process's handlers for all three (sigaction,
    checked): the JVM's own for SIGHUP, and for SIGINT and SIGTERM JPype 1.7.1's, which it installs when
    started with interrupt=False, arcadedb-embedded's default. Those run on a Java thread ("SIGTERM
    handler") and call PyErr_SetInterruptEx there, without a Python thread state: a load sent SIGTERM
    died in PyObject_RichCompare (SIGSEGV, exit 134), or, when that comparison happened to survive,
    carried on to its end, Python's own SIGTERM disposition being the default. With -Xrs HotSpot
    refuses those signals to Java's Signal.handle, JPype's attempt fails quietly, and Python's handlers
    stay in place (checked: the same sigaction before and after the start, no "Signal Dispatcher"
    thread). Crash signals (SIGSEGV and the like) stay the JVM's, which it needs.

    Its crash report (hs_err_pid*.log): arcadedb-embedded puts -XX:ErrorFile last on the command line,
    where it wins over one of ours, from ARCADEDB_JVM_ERROR_FILE, else ./log/hs_err_pid%p.log, and when
    ./log does not exist HotSpot writes into the working directory itself; the variable, read when the
    JVM starts, is the only way in. The JIT's replay data (replay_pid*.log: DumpReplayDataOnError is on
    by default) and heap dumps (when -XX:+HeapDumpOnOutOfMemoryError asks for them) also default to the
    working directory; a path chosen in ARCADEDB_JVM_ARGS wins."""
    os.environ["ARCADEDB_JVM_ERROR_FILE"] = str(home / "hs_err_pid%p.log")
    chosen = os.environ.get("ARCADEDB_JVM_ARGS", "")
    paths = {"ReplayDataFile": home / "replay_pid%p.log", "HeapDumpPath": home}
    return ["-Xrs", *(f"-XX:{flag}={path}" for flag, path in paths.items() if flag not in chosen)]


def _start_server(home: Path, password: str, bolt_port: int, http_port: int) -> Any:
    """HTTP (unused by vpcflow, but ArcadeDB always serves it) takes the first free port of a range from
    `http_port` up: another process may take a probed free port before the server binds it (seen with
    two servers starting at once)."""
    try:
        from arcadedb_embedded import ArcadeDBServer
    except ImportError as error:
        raise StoreError(NOT_INSTALLED) from error
    logging_file = home / "logging.properties"
    write_private(logging_file, _LOGGING.format(log=home / "server%g.log"))
    config = {
        "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
        "bolt_port": bolt_port,
        "http_port": f"{http_port}-{min(http_port + _HTTP_PORTS, 65535)}",
        **_LISTEN_ON,
    }
    jvm = {
        "jvm_args": [
            f"-Djava.util.logging.config.file={logging_file}",
            *_heap(),
            *_collector(),
            *_signal_crash_args(home),
        ]
    }
    stderr_log = open_private(home / "server-stderr.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    with os.fdopen(stderr_log, "a") as log, _stderr_to(log), _private_umask():
        server = ArcadeDBServer(str(home / _DATA_DIR), password, config, jvm)
        server.start()
        server.create_database(DATABASE)
    return server


@contextlib.contextmanager
def embedded_endpoint(home: Path, *, serve: bool = False) -> Iterator[BoltEndpoint]:
    """A Bolt endpoint on the state directory's store: the served one, or a server of our own."""
    state_dir(home)
    running = None if serve else served_endpoint(home)
    if running is not None:
        yield running
        return
    with _exclusive(home):
        # Holding the lock, no server of this directory runs: a record left here (SIGKILL) is stale.
        (home / _SERVED_FILE).unlink(missing_ok=True)
        port = _bolt_port(home)
        endpoint = BoltEndpoint(f"bolt://127.0.0.1:{port}", USER, root_password(home), DATABASE)
        tighten(home)
        server = _start_server(home, endpoint.password, port, _free_port())
        try:
            if serve:
                served.record(home / _SERVED_FILE, asdict(endpoint))
            yield endpoint
        finally:
            (home / _SERVED_FILE).unlink(missing_ok=True)
            server.stop()
            tighten(home)
