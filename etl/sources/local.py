"""Log files on disk: paths, folders (searched recursively) and glob patterns."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from etl.errors import UsageError


@dataclass(frozen=True)
class LocalSource:
    path: Path

    @property
    def id(self) -> str:
        return str(self.path.resolve())

    def digest(self) -> str:
        """The content's identity: the same bytes loaded from anywhere are the same file."""
        sha = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                sha.update(chunk)
        return f"sha256:{sha.hexdigest()}"

    def open(self) -> BinaryIO:
        return self.path.open("rb")


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def expand(arguments: Iterable[str]) -> list[LocalSource]:
    """Every file the arguments name, each once, in a stable order."""
    paths: dict[Path, None] = {}
    for argument in arguments:
        path = Path(argument).expanduser()
        if path.is_dir():
            found = _files_under(path)
        elif path.is_file():
            found = [path]
        elif any(c in argument for c in "*?["):
            found = sorted(Path(p) for p in glob.glob(argument, recursive=True) if Path(p).is_file())
        else:
            raise UsageError(f"no such file or folder: {argument}")
        if not found:
            raise UsageError(f"{argument} matches no files")
        paths.update(dict.fromkeys(found))
    return [LocalSource(p) for p in paths]
