"""The per-profile benchmark plumbing: the shape counter, the touched copies the "existing edges"
figure loads, and the edge count read from the real CLI's summary, on tiny files (nothing timed)."""

import gzip
from pathlib import Path

import pytest

from bench import demo_shape, parse_speed, write_speed
from bench.table import print_table
from etl import demo


def test_profiles_come_from_bench_profile_the_realistic_one_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_PROFILE", raising=False)
    assert parse_speed.profiles() == demo_shape.profiles() == ["internet", "small"]
    monkeypatch.setenv("BENCH_PROFILE", "small")
    assert parse_speed.profiles() == ["small"]


def test_shape_counts_edges_by_the_graphs_key(tmp_path: Path) -> None:
    lines = [
        "2 1 eni-1 198.51.100.7 10.0.0.10 50000 443 6 3 300 1 2 ACCEPT OK",
        "2 1 eni-1 10.0.0.10 198.51.100.7 443 50000 6 3 300 1 2 ACCEPT OK",  # the reply: its own edge
        "2 1 eni-1 198.51.100.7 10.0.0.10 50001 443 6 3 300 1 2 ACCEPT OK",  # same edge, other port
        "2 1 eni-1 198.51.100.7 10.0.0.10 50002 443 6 3 300 1 2 REJECT OK",  # other action
        "2 1 eni-1 - - - - - - - 1 2 - NODATA",
    ]
    path = tmp_path / "f.log.gz"
    path.write_bytes(gzip.compress((demo.HEADER + "\n" + "\n".join(lines) + "\n").encode()))
    assert demo_shape.count(path) == (2, 3)


def test_touched_copies_differ_by_one_nodata_line(tmp_path: Path) -> None:
    paths = demo.write_demo(tmp_path / "logs", 2_000, files=2, profile="internet")
    copies = write_speed.touched_copies(paths, tmp_path / "again")
    assert [c.name for c in copies] == [p.name for p in paths] and all(c.parent == tmp_path / "again" for c in copies)
    for path, copy in zip(paths, copies, strict=True):
        original, touched = gzip.decompress(path.read_bytes()), gzip.decompress(copy.read_bytes())
        assert touched == original + write_speed.nodata_line() and touched.endswith(b" NODATA\n")
        assert demo_shape.count(copy) == demo_shape.count(path)


def test_the_cli_summary_gives_the_edge_count_the_shape_counter_finds(tmp_path: Path) -> None:
    """A dry run writes nothing and needs no server: its `edges found` is the file's distinct edges."""
    (path,) = demo.write_demo(tmp_path / "one.log.gz", 3_000, profile="internet", seed=2)
    seconds, edges = write_speed.load([path], tmp_path / "home", dry_run=True)
    assert seconds > 0 and edges == demo_shape.count(path)[1] > 1_000


def test_the_table_has_a_column_per_profile(capsys: pytest.CaptureFixture[str]) -> None:
    print_table("load", {"internet": {"rows": 90_000.0, "ratio": 2.5}, "small": {"rows": 9_000.0}})
    title, rows, ratio = capsys.readouterr().out.splitlines()
    assert title.split() == ["load", "internet", "small"]
    assert rows.split() == ["rows", "90,000.00", "9,000.00"] and ratio.split() == ["ratio", "2.50"]


def test_the_bucket_cost_compares_with_the_tree_before_buckets() -> None:
    from bench.bucket_cost import PRE_BUCKETS, checkout

    with checkout(PRE_BUCKETS) as tree:
        assert tree is not None and (tree / "etl" / "aggregate.py").is_file()
        assert not (tree / "etl" / "buckets.py").exists()  # the code before buckets
    assert not tree.exists()  # the worktree goes with the run
    with checkout("0" * 40) as missing:
        assert missing is None
