"""Change over time: `diff` of two windows."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from etl.changes.windows import Window
from etl.cli.common import State, err, errors, out
from etl.cli.display import literal
from etl.errors import UsageError

FORMATS = ("table", "json")
WindowOption = (
    "START..END: times as --start takes them (2026-01-05, 2026-01-05T06:00:00Z, 7d); a side may be left open."
)
EDGE_COLUMNS = ["src", "src_name", "dst", "dst_name", "port", "protocol", "action", "before_count", "count"]
CHANGE_COLUMNS = [*EDGE_COLUMNS, "count_change", "count_ratio", "bytes_change", "bytes_ratio"]
ADDRESS_COLUMNS = ["id", "name", "scope", "group", "network", "first_seen"]
_SHOWN = 50  # rows of each table; --format json gives them all


def parse_window(text: str, option: str) -> Window:
    from etl.sources.timewindow import parse_time

    start, sep, end = text.partition("..")
    if not sep:
        raise UsageError(f"{option} takes START..END, like 2026-01-05..2026-01-06 or 14d..7d, not {text!r}")
    now = datetime.now(UTC)
    moments = [int(parse_time(t, now).timestamp()) if t.strip() else None for t in (start, end)]
    if moments[0] is not None and moments[1] is not None and moments[0] >= moments[1]:
        raise UsageError(f"{option} {text!r} ends before it starts")
    return Window(*moments)


def diff(
    ctx: typer.Context,
    before: Annotated[str, typer.Option(help=f"The earlier window, {WindowOption}")],
    after: Annotated[str, typer.Option(help="The later window, the same way; it needs a start.")],
    top: Annotated[int, typer.Option(min=1, help="How many changed edges (by count, then bytes).")] = 50,
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    output_path: Annotated[Path | None, typer.Option("--output", "-o", help="Also draw the changes as HTML.")] = None,
) -> None:
    """What changed between two windows: edges that appeared, disappeared, changed most; new addresses.

    Windows count the time buckets whose start lies inside them (see `load --bucket`). An address is
    new when it was first seen in the later window."""
    from etl.changes.diff import diff as compare_windows
    from etl.graph.store import open_store

    state: State = ctx.obj
    with errors(state):
        if format not in FORMATS:
            raise UsageError(f"--format takes one of {', '.join(FORMATS)}, not {format!r}")
        if output_path is not None and not output_path.parent.is_dir():
            raise UsageError(f"cannot write {output_path}: there is no folder {output_path.parent}")
        earlier, later = parse_window(before, "--before"), parse_window(after, "--after")
        if later.start is None:
            raise UsageError("--after needs a start: addresses are new when first seen after it")
        with open_store(state.settings) as store:
            found = compare_windows(store, earlier, later, top)
        if format == "json":
            sys.stdout.write(json.dumps(found.as_json(), indent=2) + "\n")
        else:
            _print_tables(found.as_json())
        if output_path is not None:
            _write_page(output_path, found.as_json(), earlier, later)
    err.print(
        literal(
            f"{earlier} against {later}: {len(found.new):,} new edges, {len(found.gone):,} gone, "
            f"{len(found.changed):,} changed most, {len(found.new_addresses):,} new addresses"
        ),
        highlight=False,
    )


def _print_tables(document: dict[str, list[dict[str, Any]]]) -> None:
    from etl.cli.output import as_table  # tables of driver values: imports the neo4j driver

    for title, key, columns in (("New edges", "new", EDGE_COLUMNS), ("Gone edges", "gone", EDGE_COLUMNS),
                                ("Changed most", "changed", CHANGE_COLUMNS),
                                ("New addresses", "new_addresses", ADDRESS_COLUMNS)):  # fmt: skip
        rows = document[key]
        if not rows:
            out.print(f"[bold]{title}[/bold]: none")
            continue
        more = f", the first {_SHOWN}" if len(rows) > _SHOWN else ""
        out.print(as_table(columns, rows[:_SHOWN], f"{title} ({len(rows):,}{more})"))


def _write_page(path: Path, document: dict[str, list[dict[str, Any]]], before: Window, after: Window) -> None:
    from viewer import graph_from_rows, render_html

    rows = [e | {"change": "new"} for e in document["new"]] + [e | {"change": "gone"} for e in document["gone"]]
    rows += [e | {"change": "grown" if e["count_change"] > 0 else "shrunk"} for e in document["changed"]]
    try:
        page = render_html(
            graph_from_rows(rows),
            title="diff",
            params={"before": str(before), "after": str(after)},
            subtitle="New edges green, gone edges grey and dashed, grown edges thicker; counts are the later window's.",
        )
        path.write_text(page, encoding="utf-8")
    except ValueError as error:
        raise UsageError(f"{path}: nothing changed between the windows, so there is nothing to draw") from error
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error
    err.print(literal(f"wrote {path}"), highlight=False)
