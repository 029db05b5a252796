"""Local paths, folders and glob patterns: every file once, whatever links and loops lie on the way."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from etl.errors import UsageError
from etl.sources.local import expand

# Links that loop once made a glob walk them without end: every test here must end, pass or fail.
pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """logs/ with files, a hidden file, and links that loop: sub/a -> .., sub/b -> a, deep/link -> ../sub."""
    monkeypatch.chdir(tmp_path)
    logs = tmp_path / "logs"
    for name in ("x.log", "sub/y.log", "sub/z.txt", "sub/.hidden.log", "deep/more/w.log", ".git/ignored.log"):
        (logs / name).parent.mkdir(parents=True, exist_ok=True)
        (logs / name).write_text(name)
    os.symlink("..", logs / "sub" / "a")
    os.symlink("a", logs / "sub" / "b")
    os.symlink("../sub", logs / "deep" / "link")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "v.log").write_text("v")
    os.symlink(outside, logs / "linked")
    return logs


def real(tree: Path, *names: str) -> list[str]:
    return sorted(str((tree / name).resolve()) for name in names)


def found(*arguments: str) -> list[str]:
    sources = expand(arguments)
    ids = [s.id for s in sources]
    assert len(ids) == len(set(ids)), "a file was listed twice"
    return sorted(ids)


@pytest.mark.parametrize("argument", ["logs", "logs/", "{tree}"])
def test_a_folder_gives_every_file_once_through_links_and_loops(tree: Path, argument: str) -> None:
    expected = real(tree, "x.log", "sub/y.log", "sub/z.txt", "deep/more/w.log", ".git/ignored.log", "linked/v.log")
    assert found(argument.format(tree=tree)) == expected


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("logs/**/*.log", ["x.log", "sub/y.log", "deep/more/w.log", "linked/v.log"]),
        ("{tree}/**/*.log", ["x.log", "sub/y.log", "deep/more/w.log", "linked/v.log"]),
        ("logs/**", ["x.log", "sub/y.log", "sub/z.txt", "deep/more/w.log", "linked/v.log"]),
        ("logs/**/sub/*.log", ["sub/y.log"]),  # also as logs/sub/a/sub/y.log, and still once
        ("logs/*/*.log", ["sub/y.log", "linked/v.log"]),
        ("logs/sub/a/*.log", ["x.log"]),
        ("logs/deep/link/*.txt", ["sub/z.txt"]),
        ("logs/**/.hidden.log", ["sub/.hidden.log"]),
        ("*/x.lo?", ["x.log"]),
    ],
)
def test_a_glob_gives_every_matching_file_once_through_links_and_loops(
    tree: Path, pattern: str, names: list[str]
) -> None:
    assert found(pattern.format(tree=tree)) == real(tree, *names)


@pytest.mark.parametrize("argument", ["logs", "logs/**/*.log"])
def test_a_link_to_a_folder_above_is_not_followed_out_of_the_tree(tree: Path, argument: str) -> None:
    """`logs/up -> ..` leads to the folder around logs/: its other files are not under the argument."""
    (tree.parent / "around.log").write_text("not under logs")
    os.symlink("..", tree / "up")
    assert str((tree.parent / "around.log").resolve()) not in found(argument)
    assert str((tree / "x.log").resolve()) in found(argument)


def test_a_folder_and_a_recursive_glob_agree_but_for_hidden_folders(tree: Path) -> None:
    assert found("logs/**") == [f for f in found("logs") if "/.git/" not in f]


def test_a_glob_that_matches_nothing_says_so(tree: Path) -> None:
    with pytest.raises(UsageError, match="matches no files"):
        expand(["logs/**/*.parquet"])


def _bytes_read() -> int:
    """What this process has read so far, by the kernel's count (Linux)."""
    counters = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(counters["rchar"])


def test_a_file_is_hashed_once_per_version(tmp_path: Path) -> None:
    """`watch` asks every file's digest on every pass: an unchanged file is not read again, a changed
    one is, even with its modification time set back to what it was."""
    path = tmp_path / "a.log"
    path.write_bytes(b"a" * (1 << 20))
    (source,) = expand([str(path)])
    before = _bytes_read()
    first = source.digest()
    assert first == "sha256:" + hashlib.sha256(b"a" * (1 << 20)).hexdigest()
    assert _bytes_read() - before >= 1 << 20
    before = _bytes_read()
    assert source.digest() == first
    assert _bytes_read() - before < 1 << 16
    stamp = path.stat().st_mtime_ns
    with path.open("r+b") as handle:  # the same inode and size, the time set back
        handle.write(b"b")
    os.utime(path, ns=(stamp, stamp))
    assert source.digest() == "sha256:" + hashlib.sha256(b"b" + b"a" * ((1 << 20) - 1)).hexdigest()
    with path.open("ab") as handle:
        handle.write(b"more")
    assert source.digest() == "sha256:" + hashlib.sha256(b"b" + b"a" * ((1 << 20) - 1) + b"more").hexdigest()
