"""Log files on disk: paths, folders (searched recursively) and glob patterns."""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from etl.errors import UsageError

_WILDCARDS = "*?["


_DIGESTS: dict[tuple[int, int, int, int, int], str] = {}  # LocalSource.digest's, by the file's version


@dataclass(frozen=True)
class LocalSource:
    path: Path

    @property
    def id(self) -> str:
        return str(self.path.resolve())

    def digest(self) -> str:
        """The content's identity: the same bytes loaded from anywhere are the same file.

        Hashed once per version of the file in this process: `watch` asks again on every pass, and
        reading every file of a folder each time grew with all the logs ever delivered to it. A version
        is the same device, inode, size, and modification and change times: the change time is the
        kernel's, so a modification time set back by hand does not hide new bytes. The file is looked
        at before it is read, so one that changes while it is read is hashed again next time."""
        status = self.path.stat()
        version = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
        if (known := _DIGESTS.get(version)) is not None:
            return known
        sha = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                sha.update(chunk)
        _DIGESTS[version] = digest = f"sha256:{sha.hexdigest()}"
        return digest

    def open(self) -> BinaryIO:
        return self.path.open("rb")


State = frozenset[int]
_EVERYWHERE: State = frozenset({0})


def _folder_step(state: State, name: str, is_dir: bool) -> State:
    """A folder argument takes every file but hidden ones, in every folder, hidden or not."""
    return state if is_dir or not name.startswith(".") else frozenset()


class _Pattern:
    """A glob pattern's parts after its literal folder, matched part by part as the walk goes down.

    A state is the set of parts the next name may match (a `**` part stays while it takes folders),
    so a folder reached again in the same state, through a link or a loop, has nothing new to give.
    Names follow `glob`: `**` spans folders, a wildcard does not take a hidden name unless it starts
    with a dot, and `**` enters no hidden folder."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = parts
        self.start = self._with_empty_spans({0})

    def _with_empty_spans(self, state: set[int]) -> State:
        """`**` also matches no folder at all: a state before it is also after it."""
        for index in sorted(state):
            while index < len(self.parts) and self.parts[index] == "**":
                index += 1
                state.add(index)
        return frozenset(state)

    def step(self, state: State, name: str, is_dir: bool) -> State:
        hidden = name.startswith(".")
        after: set[int] = set()
        for index in state - {len(self.parts)}:
            part = self.parts[index]
            if part == "**":
                if not hidden:  # a folder it spans, or a file when it is the last part
                    after.add(index)
            elif (not hidden or part.startswith(".")) and fnmatch.fnmatchcase(name, part):
                after.add(index + 1)
        result = self._with_empty_spans(after)
        # A folder in which every part is matched already can hold no match.
        return result - {len(self.parts)} if is_dir else result

    def takes(self, state: State) -> bool:
        return len(self.parts) in state


def _walk(folder: Path, state: State, step: Callable[[State, str, bool], State]) -> Iterator[tuple[Path, State]]:
    """Every file under `folder`, links followed, with its state; a real folder is entered once per state.

    A link to a folder that holds the one being read (`logs/up -> ..`, or `/`) is a loop and is not
    entered: following it would read the tree around the folder asked for, not under it."""
    entered: set[tuple[int, int, State]] = set()
    stack: list[tuple[Path, State, frozenset[tuple[int, int]]]] = [(folder, state, _holding(folder))]
    while stack:
        folder, state, above = stack.pop()
        try:
            info = folder.stat()
            here, key = (info.st_dev, info.st_ino), (info.st_dev, info.st_ino, state)
            if here in above or key in entered:
                continue
            entered.add(key)
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:  # gone, unreadable, or a link to nowhere: as glob does, nothing there
            continue
        folders = []
        for entry in entries:
            is_dir = _is(entry.is_dir)
            after = step(state, entry.name, is_dir)
            if not after:
                continue
            if is_dir:
                folders.append((folder / entry.name, after, above | {here}))
            elif _is(entry.is_file):
                yield folder / entry.name, after
        stack.extend(reversed(folders))  # so folders are entered in name order


def _holding(folder: Path) -> frozenset[tuple[int, int]]:
    """The (device, inode) of every real folder that holds `folder`, up to the root."""
    held = set()
    for parent in Path(os.path.realpath(folder)).parents:
        with contextlib.suppress(OSError):
            info = parent.stat()
            held.add((info.st_dev, info.st_ino))
    return frozenset(held)


def _is(test: Callable[[], bool]) -> bool:
    try:
        return test()
    except OSError:
        return False


def _files_under(folder: Path) -> list[Path]:
    return sorted(path for path, _ in _walk(folder, _EVERYWHERE, _folder_step))


def _matching(pattern: str) -> list[Path]:
    parts = Path(pattern).parts
    literal = next(i for i, part in enumerate(parts) if any(c in part for c in _WILDCARDS))
    matcher = _Pattern(parts[literal:])
    base = Path(*parts[:literal]) if literal else Path()
    return sorted(path for path, state in _walk(base, matcher.start, matcher.step) if matcher.takes(state))


def expand(arguments: Iterable[str]) -> list[LocalSource]:
    """Every file the arguments name, each once (by its real path), in a stable order.

    Folders and `**` follow links to folders, as glob does; links that loop are entered once."""
    paths: dict[str, Path] = {}
    for argument in arguments:
        path = Path(argument).expanduser()
        if path.is_dir():
            found = _files_under(path)
        elif path.is_file():
            found = [path]
        elif any(c in argument for c in _WILDCARDS):
            found = _matching(str(path))
        else:
            raise UsageError(f"no such file or folder: {argument}")
        if not found:
            raise UsageError(f"{argument} matches no files")
        for each in found:
            paths.setdefault(os.path.realpath(each), each)
    return [LocalSource(p) for p in paths.values()]
