"""SIGTERM and SIGINT stop a load cleanly: between files, the summary and every file not loaded named,
exit status 143 or 130, and a rerun loads exactly the rest. Real processes, real signals: sent to the
loader's process group, as Ctrl-C at a terminal, `timeout` and systemd do, so its workers get them too."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import neo4j
import pytest

from etl.graph.embedded import BoltEndpoint
from etl.graph.store import GraphStore
from tests.flowlines import expected_edges
from tests.processes import children
from tests.test_faults import LOAD, VPCFLOW, wait_until, write_logs
from tests.test_load import graph_edges, summary_value

pytestmark = pytest.mark.integration
STOPS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


def start_loader(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """A loader in a process group of its own, so that signalling the group reaches no test process."""
    return subprocess.Popen(
        [*LOAD, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )  # fmt: skip


def signal_group(loader: subprocess.Popen[str], signum: int) -> None:
    """Signal the loader's own group; it must still be running (not reaped, so its id is still its own)."""
    assert loader.poll() is None, "the load ended before the signal: make it longer"
    assert os.getpgid(loader.pid) == loader.pid != os.getpgid(0)
    os.killpg(loader.pid, signum)


def stopped_run(loader: subprocess.Popen[str], signum: int, cwd: Path) -> tuple[str, dict[str, str]]:
    """Stdout, and what stderr says failed, of a load stopped by `signum`: checked to have stopped cleanly."""
    out, err = loader.communicate(timeout=120)
    assert loader.returncode == 128 + signum, f"exit {loader.returncode}\n{out}\n{err}"  # not 134: a JVM crash
    assert f"stopped by {signal.Signals(signum).name}: the same command loads" in err
    assert not [p.name for p in cwd.iterdir() if p.name.startswith(("hs_err", "replay_pid", "java_pid"))]
    failed = dict(re.findall(r"^failed: (.+?): (.*)$", err, re.MULTILINE))
    assert len(failed) == summary_value(out, "files failed")
    return out, failed


def not_loaded(paths: list[Path], loaded: int, signum: int) -> dict[str, str]:
    """Files go in order: all after the first `loaded`, each with the signal's name."""
    return {str(path): f"not loaded: stopped by {signal.Signals(signum).name}" for path in sorted(paths)[loaded:]}


@pytest.mark.parametrize("signum", STOPS)
def test_a_signal_mid_load_stops_it_between_files_and_a_rerun_loads_the_rest(
    signum: int, store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    paths = write_logs(tmp_path / "logs", files=30, lines=800, seed=8)
    loader = start_loader([str(tmp_path / "logs")], cli_env, tmp_path)
    wait_until(lambda: store.counts()["files"] >= 1 or loader.poll() is not None, 120, "a file to commit")
    signal_group(loader, signum)
    out, failed = stopped_run(loader, signum, tmp_path)
    loaded = summary_value(out, "files loaded")
    assert 1 <= loaded < len(paths) and store.counts()["files"] == loaded
    assert failed == not_loaded(paths, loaded, signum)

    rerun = subprocess.run([*LOAD, str(tmp_path / "logs")], env=cli_env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert summary_value(rerun.stdout, "files skipped") == loaded
    assert summary_value(rerun.stdout, "files loaded") == len(paths) - loaded
    assert graph_edges(store) == expected_edges(paths)


def test_a_dry_run_stops_on_sigterm_while_its_workers_parse(tmp_path: Path) -> None:
    first = write_logs(tmp_path / "logs", files=1, lines=100_000, seed=9)[0]
    paths = [first, *(first.with_name(f"copy-{n:02d}.log") for n in range(30))]  # seconds of parsing
    for copy in paths[1:]:
        copy.write_bytes(first.read_bytes())
    loader = start_loader(["--dry-run", str(tmp_path / "logs")], {**os.environ}, tmp_path)
    wait_until(lambda: len(_workers(loader.pid)) == 2 or loader.poll() is not None, 60, "two workers parsing")
    time.sleep(0.5)
    signal_group(loader, signal.SIGTERM)
    signalled = time.monotonic()
    out, failed = stopped_run(loader, signal.SIGTERM, tmp_path)
    assert time.monotonic() - signalled < 10  # not after the files being parsed
    loaded = summary_value(out, "files loaded")
    assert loaded < len(paths) and failed == not_loaded(paths, loaded, signal.SIGTERM)


def _workers(pid: int) -> list[int]:
    """The worker processes a loader spawned (its multiprocessing resource tracker is not one)."""
    spawned = []
    for child in children(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                spawned.append(child)
    return spawned


def _ledger(home: Path) -> Callable[[], int]:
    """Files in the ledger of the store a loader's own embedded server holds, -1 before it listens."""
    port, password = (home / "bolt-port").read_text().strip(), (home / "root-password").read_text().strip()
    endpoint = BoltEndpoint(f"bolt://127.0.0.1:{port}", "root", password, "vpcflow")

    def count() -> int:
        try:
            with neo4j.GraphDatabase.driver(endpoint.uri, auth=(endpoint.user, endpoint.password)) as driver:
                records, _, _ = driver.execute_query("MATCH (l:LogFile) RETURN count(l) AS n", database_="vpcflow")
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.Neo4jError):
            return -1
        return int(records[0]["n"])

    return count


def _jvm_runs(pid: int) -> bool:
    """The loader's JVM has started: dozens of threads (a loader without one has a handful)."""
    return len(os.listdir(f"/proc/{pid}/task")) > 15


def test_a_loader_running_its_own_embedded_server_stops_on_signals_without_crashing_the_jvm(tmp_path: Path) -> None:
    """The JVM is in the loader: its signal handling used to crash it (exit 134, hs_err_pid*.log in the
    working directory) or ignore SIGTERM, depending on the moment. Stopped at three moments; each run
    skips exactly what the ones before committed."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    paths = write_logs(tmp_path / "logs", files=8, lines=1_000, seed=10)
    env = {**os.environ, "VPCFLOW_HOME": str(home), "NEO4J_URI": ""}
    committed = 0
    for signum, mid_load in [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGINT, True)]:
        loader = start_loader([str(tmp_path / "logs")], env, cwd)
        _wait_for_moment(loader, home, committed if mid_load else None)
        if mid_load:  # the server shares the loader's cores: one file is prepared ahead, in a thread
            assert _workers(loader.pid) == []
        signal_group(loader, signum)
        out, failed = stopped_run(loader, signum, cwd)
        loaded = summary_value(out, "files loaded")
        assert summary_value(out, "files skipped") == committed
        assert failed == not_loaded(paths, committed + loaded, signum)
        committed += loaded
    assert not list(cwd.iterdir())  # nothing of the JVM's in the working directory


def _wait_for_moment(loader: subprocess.Popen[str], home: Path, committed: int | None) -> None:
    """Until the loader's JVM runs (its server starting), and with `committed`, until the ledger grows past it."""
    wait_until(lambda: _jvm_runs(loader.pid) or loader.poll() is not None, 120, "the JVM to start")
    if committed is not None:
        ledger = _ledger(home)
        wait_until(lambda: ledger() > committed or loader.poll() is not None, 120, "a file to commit")


def test_a_jvm_crash_writes_its_report_in_the_state_directory(tmp_path: Path) -> None:
    """HotSpot's crash report used to land in the working directory (arcadedb-embedded's default
    ./log/hs_err_pid%p.log, and the working directory itself when ./log is missing)."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    write_logs(tmp_path / "logs", files=2, lines=100, seed=11)
    loader = start_loader([str(tmp_path / "logs")], {**os.environ, "VPCFLOW_HOME": str(home), "NEO4J_URI": ""}, cwd)
    wait_until(lambda: _jvm_runs(loader.pid) or loader.poll() is not None, 120, "the JVM to start")
    assert loader.poll() is None
    os.kill(loader.pid, signal.SIGSEGV)  # our child, not reaped: its pid cannot be anyone else's
    loader.communicate(timeout=120)
    assert loader.returncode == -signal.SIGABRT  # HotSpot's crash handler: report, then abort()
    assert list(cwd.iterdir()) == []
    assert [p.name for p in home.glob("hs_err_pid*.log")] == [f"hs_err_pid{loader.pid}.log"]


def test_watch_stops_between_files_and_its_next_pass_loads_the_rest(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    paths = write_logs(tmp_path / "logs", files=30, lines=800, seed=9)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: skipdata, severity: high, kind: skipdata}\n")
    watch = [*VPCFLOW, "watch", str(tmp_path / "logs"), "--rules", str(rules), "--pseudonymize", "none"]
    watcher = subprocess.Popen([*watch, "--interval", "1s"], env=cli_env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    wait_until(lambda: store.counts()["files"] >= 1 or watcher.poll() is not None, 120, "a file to commit")
    signal_group(watcher, signal.SIGTERM)
    _, err = watcher.communicate(timeout=120)
    assert watcher.returncode == 143, err
    assert "stopped by SIGTERM: the next pass loads what this one did not" in err and "Traceback" not in err
    loaded = store.counts()["files"]
    assert 1 <= loaded < len(paths)
    rerun = subprocess.run([*watch, "--once"], env=cli_env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"pass 1: {len(paths) - loaded} files loaded, {loaded} skipped, 0 failed" in rerun.stderr
    assert graph_edges(store) == expected_edges(paths)
