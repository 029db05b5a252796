"""What every `vpcflow` command shares: the consoles, the run's state, library errors as exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from etl.cli.display import visible
from etl.config import Settings
from etl.errors import UsageError, VpcflowError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class State:
    settings: Settings
    debug: bool


def check_format(format: str, formats: tuple[str, ...]) -> None:
    if format not in formats:
        raise UsageError(f"--format takes one of {', '.join(formats)}, not {format!r}")


def check_output_folder(path: Path | None) -> None:
    """Before any query: they may take a while."""
    if path is not None and not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: there is no folder {path.parent}")


@contextlib.contextmanager
def errors(state: State) -> Iterator[None]:
    """A library error becomes its sentence and its exit status; --debug shows the traceback."""
    try:
        yield
    except VpcflowError as error:
        if state.debug:
            raise
        # Messages quote paths and names from the data: shown as they are, never as markup or escapes.
        err.print(Text.assemble(("error:", "bold red"), " ", visible(str(error))), highlight=False)
        raise typer.Exit(error.exit_code) from None
