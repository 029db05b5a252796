"""Loads that survive faults: killed loaders, a restarted server, concurrent loaders, bad connections,
corrupt files, hostile file names. Real processes, real signals, the live server; totals are checked
against an independent reading of the logs (tests/flowlines.py)."""

from __future__ import annotations

import contextlib
import gzip
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from etl.graph.store import GraphStore
from etl.pipeline import LEDGER_AHEAD, LoadOptions, load, prepare
from etl.sources.local import LocalSource
from tests.flowlines import V2, expected_edges
from tests.processes import children, signal_child
from tests.test_load import graph_edges, summary_value

pytestmark = pytest.mark.integration
VPCFLOW = [sys.executable, "-m", "etl"]
# Real addresses in the graph, so the totals compare with an independent reading of the logs.
LOAD = [*VPCFLOW, "load", "--pseudonymize", "none"]
HUBS = [f"10.0.0.{i}" for i in range(10, 16)]  # load balancers and a NAT: thousands of edges each


def write_logs(folder: Path, files: int, lines: int, seed: int = 1, first: int = 0) -> list[Path]:
    """Flow logs whose edges mostly touch a hub and recur across files (so loads add to edges too)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(first, first + files):
        rng = random.Random(f"{seed}:{n}")
        rows = [V2]
        for _ in range(lines):
            client = f"198.51.{rng.randrange(40)}.{rng.randrange(1, 255)}"
            hub, port = rng.choice(HUBS), rng.choice((443, 80, 22, 8080))
            src, dst = (client, hub) if rng.random() < 0.5 else (hub, client)
            action = "REJECT" if rng.random() < 0.1 else "ACCEPT"
            start = 1_767_225_600 + 60 * n
            rows.append(
                f"2 123456789012 eni-0a1b {src} {dst} {rng.randrange(32768, 61000)} {port} 6 "
                f"{rng.randrange(1, 50)} {rng.randrange(40, 90_000)} {start} {start + 60} {action} OK"
            )
        path = folder / f"log-{n:04d}.log"
        path.write_text("\n".join(rows) + "\n")
        paths.append(path)
    return paths


def run_load(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LOAD, *args], env=env, capture_output=True, text=True, timeout=timeout)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _settled(read: Callable[[], int], quiet: float = 1.0, timeout: float = 30) -> int:
    """The value once it has not changed for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    value = read()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        if (again := read()) == value:
            return value
        value = again
    raise AssertionError(f"still changing after {timeout} s")


def test_sigkill_mid_file_then_rerun_counts_every_flow_once(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    paths = write_logs(tmp_path / "logs", files=6, lines=12_000)
    # Two worker processes, whichever server: the embedded one's default is a thread.
    loader = subprocess.Popen([*LOAD, "--workers", "2", str(tmp_path / "logs")], env=cli_env, stdout=subprocess.PIPE)
    # Files are prepared ahead by worker processes, so once the third commits the fourth's transaction opens at
    # once and stays open while its edges are written: the kill lands inside it.
    wait_until(lambda: store.counts()["files"] >= 3 or loader.poll() is not None, 120, "three files to commit")
    time.sleep(0.3)
    workers = children(loader.pid)
    loader.send_signal(signal.SIGKILL)
    loader.wait(timeout=30)
    # A COMMIT sent just before the kill may still be finishing on the server: count once it is settled.
    committed = _settled(lambda: store.counts()["files"])
    assert loader.returncode == -signal.SIGKILL
    assert 3 <= committed < len(paths)
    # The two worker processes that prepare files, and multiprocessing's resource tracker: none outlives the loader.
    assert len(workers) == 3
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 10, "the workers to leave")

    rerun = run_load(cli_env, str(tmp_path / "logs"))
    assert rerun.returncode == 0, rerun.stderr
    assert summary_value(rerun.stdout, "files skipped") == committed
    assert summary_value(rerun.stdout, "files loaded") == len(paths) - committed
    assert graph_edges(store) == expected_edges(paths)


def test_two_loads_over_overlapping_files_count_each_file_once(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    paths = write_logs(tmp_path / "logs", files=16, lines=3_000, seed=3)
    twin = tmp_path / "logs" / "twin-of-0.log"  # the same bytes under another name: one of the two is skipped
    twin.write_bytes(paths[0].read_bytes())
    halves = ([*paths[:10]], [*paths[6:], twin])
    loaders = [
        subprocess.Popen([*LOAD, *map(str, half)], env=cli_env, stdout=subprocess.PIPE, text=True) for half in halves
    ]
    outputs = [loader.communicate(timeout=300)[0] for loader in loaders]
    assert [loader.returncode for loader in loaders] == [0, 0], outputs
    assert sum(summary_value(out, "files loaded") for out in outputs) == len(paths)
    assert sum(summary_value(out, "files skipped") for out in outputs) == 4 + 1
    assert store.counts()["files"] == len(paths)
    assert graph_edges(store) == expected_edges(paths)


def test_a_worker_process_killed_mid_load_stops_it_and_every_file_not_loaded_is_named(tmp_path: Path) -> None:
    """As when the kernel's OOM killer picks a worker: the pool breaks; nothing hangs, nothing is skipped silently."""
    paths = write_logs(tmp_path / "logs", files=8, lines=60_000, seed=5)
    loader = subprocess.Popen(
        [*LOAD, "--dry-run", str(tmp_path / "logs")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    def worker() -> int | None:
        with contextlib.suppress(FileNotFoundError):
            spawned = [p for p in children(loader.pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
            return spawned[0] if spawned else None
        return None

    wait_until(lambda: worker() is not None or loader.poll() is not None, 60, "a worker process")
    # Only a worker just seen as the loader's child: `os.kill(0, ...)` would kill this test's own process group.
    signal_child(loader.pid, worker(), signal.SIGKILL)
    out, err = loader.communicate(timeout=120)
    loaded = summary_value(out, "files loaded")
    assert loaded < len(paths) and loader.returncode == (3 if loaded else 1), err
    failed = dict(re.findall(r"^failed: (\S+): (.*)$", err, re.MULTILINE))
    assert len(failed) == summary_value(out, "files failed") == len(paths) - loaded
    first, *rest = sorted(failed)
    assert "terminated abruptly" in failed[first]
    assert all(failed[name] == f"not loaded: the load stopped at {first}" for name in rest)


def test_the_ledger_is_asked_once_for_each_run_of_files_and_answers_each_file(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load asks which files are loaded LEDGER_AHEAD at a time (one read transaction each); every file
    still gets its own answer: the ones loaded before skipped, the new ones loaded, an unreadable one failed."""
    paths = write_logs(tmp_path / "logs", files=LEDGER_AHEAD + 8, lines=3, seed=9)
    sources = [LocalSource(path) for path in paths]
    before = load(sources[:LEDGER_AHEAD:2], store, LoadOptions(workers=1))  # every other file of the first run
    assert before.count("loaded") == LEDGER_AHEAD // 2
    asked: list[int] = []
    ask = store.loaded

    def counted(digests: list[str]) -> set[str]:
        asked.append(len(digests))
        return ask(digests)

    monkeypatch.setattr(store, "loaded", counted)

    summary = load([*sources, LocalSource(tmp_path / "gone.log")], store, LoadOptions(workers=1))

    assert [f.status for f in summary.files] == [
        *(["skipped", "loaded"] * (LEDGER_AHEAD // 2)), *["loaded"] * 8, "failed"
    ]  # fmt: skip
    assert summary.files[-1].detail.startswith("cannot be read: [Errno 2] No such file or directory")
    assert asked == [LEDGER_AHEAD, 8]  # the unreadable file has no digest to ask about
    assert graph_edges(store) == expected_edges(paths)


def test_a_thousand_files_three_corrupt_load_997_and_name_the_three(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    good = write_logs(tmp_path / "logs", files=997, lines=3, seed=4)
    truncated = tmp_path / "logs" / "truncated.log.gz"
    data = gzip.compress(good[0].read_bytes() * 200)
    truncated.write_bytes(data[: len(data) // 2])
    (tmp_path / "logs" / "garbage.log").write_bytes(bytes(random.Random(5).randrange(256) for _ in range(4096)))
    (tmp_path / "logs" / "notes.log").write_text("meeting notes\nnot a flow log at all\n" * 20)
    result = run_load(cli_env, str(tmp_path / "logs"))
    assert result.returncode == 3, result.stderr
    assert summary_value(result.stdout, "files loaded") == 997
    failed = re.findall(r"^failed: (\S+):", result.stderr, re.M)
    assert sorted(Path(f).name for f in failed) == ["garbage.log", "notes.log", "truncated.log.gz"]
    assert graph_edges(store) == expected_edges(good)


HOSTILE_NAMES = [
    "quote'in'name.log",
    'double"quote.log',
    "brace}) DETACH DELETE n RETURN 1.log",
    "back`tick`.log",
    "comment -- and *\\ block.log",
    "$param {id: 1}.log",
    "ünïcödé-名前-🦆.log",
    "line\nbreak.log",
]


def test_hostile_file_names_are_stored_verbatim_and_change_no_query(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    paths = write_logs(folder, files=len(HOSTILE_NAMES), lines=50, seed=6)
    named = [path.rename(folder / name) for path, name in zip(paths, HOSTILE_NAMES, strict=True)]
    result = run_load(cli_env, str(folder))
    assert result.returncode == 0, result.stderr
    _, rows = store.query("MATCH (l:LogFile) RETURN l.id AS id", {})
    assert sorted(r["id"] for r in rows) == sorted(str(p.resolve()) for p in named)
    assert graph_edges(store) == expected_edges(named)


def test_hostile_ids_and_names_of_addresses_are_stored_verbatim(store: GraphStore, tmp_path: Path) -> None:
    """A file name cannot hold `/`; an S3 key can, so the ledger id here is the S3 shape."""
    batch = prepare(LocalSource(write_logs(tmp_path, files=1, lines=40, seed=7)[0]), LoadOptions())
    batch.source_id = "s3://bucket//AWSLogs/it's}) DETACH DELETE n //`x`/ünï-🦆.log.gz"
    count = batch.addresses.num_rows
    names = [*HOSTILE_NAMES, *[None] * count][:count]
    for column, values in (
        ("name", names),
        ("group", [n and n[::-1] for n in names]),
        ("role", [n and f"{n}'}}" for n in names]),
    ):
        at = batch.addresses.schema.get_field_index(column)
        batch.addresses = batch.addresses.set_column(at, column, pa.array(values, pa.string()))
    assert store.load(batch).loaded
    _, rows = store.query("MATCH (a:Address) RETURN a.id AS id, a.name AS name, a.group AS g, a.role AS r", {})
    stored = {r["id"]: (r["name"], r["g"], r["r"]) for r in rows}
    assert stored == {a["id"]: (a["name"], a["group"], a["role"]) for a in batch.addresses.to_pylist()}
    assert store.counts()["flows"] == len(batch.edges)
    assert store.is_loaded(batch.digest)
    _, rows = store.query("MATCH (l:LogFile) RETURN l.id AS id", {})
    assert [r["id"] for r in rows] == [batch.source_id]
