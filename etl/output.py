"""Query rows as text: table (rich), JSON, CSV. Pure: returns strings and renderables."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from neo4j.graph import Node, Path, Relationship
from rich.table import Table

FORMATS = ("table", "json", "csv")


def plain(value: Any) -> Any:
    """Driver values as JSON-able values: a node as its properties, a path as its nodes' ids."""
    if isinstance(value, Node):
        return dict(value)
    if isinstance(value, Relationship):
        return {"type": value.type, **dict(value)}
    if isinstance(value, Path):
        return [node.get("id") for node in value.nodes]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return value


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column.endswith("_seen") and isinstance(value, int):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def as_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps([plain(row) for row in rows], indent=2)


def as_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                json.dumps(v) if isinstance(v, dict | list) else ("" if v is None else v)
                for v in map(plain, row.values())
            ]
        )
    return out.getvalue()


def as_table(columns: list[str], rows: list[dict[str, Any]], title: str | None = None) -> Table:
    """A terminal table; columns empty on every row (names when nothing is named) are left out."""
    columns = [c for c in columns if any(row.get(c) is not None for row in rows)]
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(c, plain(row.get(c))) for c in columns))
    return table
