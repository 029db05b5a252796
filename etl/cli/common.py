"""What every `vpcflow` command shares: the consoles, the run's state, library errors as exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.text import Text

from etl.cli.display import visible
from etl.config import Settings
from etl.errors import VpcflowError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class State:
    settings: Settings
    debug: bool


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
