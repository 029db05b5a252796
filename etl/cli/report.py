"""What `load` and `parse` print: the load summary, and records as JSON lines or CSV. Pure."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
from rich.table import Table
from rich.text import Text

from etl.cli.display import literal, spreadsheet_cell, visible
from etl.pipeline import LoadSummary


def record_lines(table: pa.Table, form: str, *, header: bool) -> str:
    """Records as JSON lines or CSV; keys are the AWS field names with `-` as `_`, `-` as null."""
    table = table.rename_columns([c.replace("-", "_") for c in table.column_names])
    if form == "jsonl":
        return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in table.to_pylist())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(table.column_names)
    writer.writerows(["" if v is None else spreadsheet_cell(v) for v in row.values()] for row in table.to_pylist())
    return out.getvalue()


def failed_line(source_id: str, detail: str) -> Text:
    """`failed: NAME: WHY`, the file's name and the reason as literal text (names are anyone's choice)."""
    return Text.assemble(("failed:", "red"), " ", visible(source_id), ": ", visible(detail))


def summary_table(summary: LoadSummary, dry_run: bool) -> Table:
    stats = summary.stats
    table = Table(title="dry run: nothing written" if dry_run else "load summary", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    rate = stats.records / summary.seconds if summary.seconds else 0.0
    rows: list[tuple[str, int | str]] = [
        ("files loaded", summary.count("loaded")),
        ("files skipped (already loaded)", summary.count("skipped")),
        ("files failed", summary.count("failed")),
        ("records", stats.records),
        ("NODATA records", stats.nodata),
        ("SKIPDATA records (AWS dropped records)", stats.skipdata),
        ("records outside --start/--end", stats.outside_window),
        ("records whose packet addresses differ (NAT, transit)", stats.packet_differs),
        ("edges " + ("found" if dry_run else "written"), summary.edges_written),
        ("seconds", f"{summary.seconds:.2f}"),
        ("records per second", f"{rate:,.0f}"),
    ]
    rows += [(f"malformed: {reason}", count) for reason, count in summary.stats.malformed.most_common()]
    for what, value in rows:
        table.add_row(literal(what), f"{value:,}" if isinstance(value, int) else value)
    return table
