"""Query rows as text: table (rich), JSON, CSV. Pure: returns strings and renderables.

Every value the driver can return prints in every format: nodes, relationships, paths, byte arrays
(as their size: a ledger entry's contribution is kilobytes of packed sums), temporal and spatial
values, NaN and infinities (which strict JSON has no numbers for), and lists and maps of them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from neo4j.graph import Node, Path, Relationship
from neo4j.spatial import Point, WGS84Point
from rich.table import Table

from etl.cli.display import literal, spreadsheet_cell

if TYPE_CHECKING:
    from etl.queries import SavedQuery

FORMATS = ("table", "json", "csv")
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _point(point: Point) -> dict[str, Any]:
    names = ("longitude", "latitude", "height") if isinstance(point, WGS84Point) else ("x", "y", "z")
    return {"srid": point.srid, **dict(zip(names, point, strict=False))}


def plain(value: Any) -> Any:
    """Driver values as JSON-able values: a node as its properties, a path as its nodes' ids."""
    if isinstance(value, Node):
        return plain(dict(value))
    if isinstance(value, Relationship):
        return {"type": value.type, **plain(dict(value))}
    if isinstance(value, Path):
        return [node.get("id") for node in value.nodes]
    if isinstance(value, Point):  # points and durations are tuples: before lists
        return _point(value)
    if hasattr(value, "iso_format"):  # neo4j.time's Date, Time, DateTime, Duration
        return value.iso_format()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE.get(value, "NaN")
    return value


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column.endswith("_seen") and isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def as_json(rows: list[dict[str, Any]]) -> str:
    # allow_nan=False: plain() already wrote non-finite floats as strings; NaN is not JSON.
    return json.dumps([plain(row) for row in rows], indent=2, allow_nan=False) + "\n"


def _csv_value(value: Any) -> Any:
    # Only strings from the data get the spreadsheet guard: -3 is a number, and plain()'s own strings
    # ("-Infinity", "<12 bytes>", ISO times) are values the driver typed.
    if isinstance(value, str):
        return spreadsheet_cell(value)
    value = plain(value)
    if isinstance(value, dict | list):
        return json.dumps(value, allow_nan=False)
    return "" if value is None else value


def as_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    # The standard's CRLF (RFC 4180, Python's default): the writer quotes only fields holding a
    # character of the line end, so with "\n" alone a CR in a value would break the row for readers.
    writer = csv.writer(out)
    writer.writerow([spreadsheet_cell(c) for c in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    return out.getvalue()


# A pseudonym must never read as a real address: a table shows it behind this mark, as views do. The
# flag columns that say which addresses are pseudonyms are what the mark stands for, and are not shown.
PSEUDONYM_MARK = "~"
_FLAGGED = {"src": "src_pseudonymized", "dst": "dst_pseudonymized", "id": "pseudonymized"}


def as_table(columns: list[str], rows: list[dict[str, Any]], title: str | None = None) -> Table:
    """A terminal table; columns empty on every row (names when nothing is named) are left out, and
    pseudonymized addresses are marked."""
    shown = [c for c in columns if c not in _FLAGGED.values() and any(row.get(c) is not None for row in rows)]
    table = Table(title=literal(title) if title else None, show_lines=False)
    for column in shown:
        table.add_column(literal(column), overflow="fold")
    for row in rows:
        table.add_row(*(literal(_marked(row, c, _cell(c, plain(row.get(c))))) for c in shown))
    return table


def _marked(row: dict[str, Any], column: str, text: str) -> str:
    flag = _FLAGGED.get(column)
    return PSEUDONYM_MARK + text if flag and row.get(flag) is True and text else text


def query_table(queries: Sequence[SavedQuery]) -> Table:
    """`query list`: each saved query's name, title and parameters with their defaults."""
    table = Table("name", "title", "parameters (default)")
    for query in queries:
        params = ", ".join(
            f"{p.name}: {'|'.join(map(str, p.choices)) if p.choices else p.type} ({p.default})" for p in query.params
        )
        table.add_row(literal(query.name), literal(query.title), literal(params))
    return table
