"""Flow-log text to Arrow tables, streamed block by block, with malformed lines counted by reason.

The fast path is pyarrow's CSV reader, one block of whole lines at a time, with the integer columns
converted as they are read; a block it cannot convert is read again as strings and checked line by
line. The rare line it cannot split into the header's column count (a run of spaces, a header that
changes its length mid-file) is handed to a Python slow path, so nothing is lost and nothing is
misaligned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.errors import SourceError
from etl.fields import DEFAULT_FIELDS, INTEGER_FIELDS, KNOWN_FIELDS, is_header
from etl.textstream import BLOCK_SIZE, MAX_LINE, TextBlocks

_MAX_HEADER_BYTES = 1 << 16
# Timestamps past 2^31 s (year 2038) are milliseconds: some exporters write them that way.
_MILLISECONDS_FROM = 2**31
_INTEGER = "^[0-9]{1,18}$"
_INT64_MAX = 2**63 - 1
# Shape only (dotted quad, or hex groups with a colon); the pipeline checks each distinct address.
_ADDRESS = r"^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$"
Block = bytes | memoryview
ADDRESS_FIELDS = ("srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr")
LOG_STATUSES = ("OK", "NODATA", "SKIPDATA")
ACTIONS = ("ACCEPT", "REJECT")


@dataclass
class ParseStats:
    records: int = 0
    nodata: int = 0
    skipdata: int = 0
    outside_window: int = 0
    packet_differs: int = 0  # traffic records whose pkt-srcaddr/pkt-dstaddr are not srcaddr/dstaddr
    malformed: Counter[str] = field(default_factory=Counter)

    def add(self, other: ParseStats) -> None:
        self.records += other.records
        self.nodata += other.nodata
        self.skipdata += other.skipdata
        self.outside_window += other.outside_window
        self.packet_differs += other.packet_differs
        self.malformed.update(other.malformed)


def _read_header(stream: BinaryIO) -> tuple[list[str] | None, bytes]:
    """The header's fields if the first non-blank line is one, and the bytes to parse after it.

    Blank lines before it are dropped read by read, so a file of nothing but newlines costs one
    pass and at most two reads of memory (kept whole, they were re-scanned on every read)."""
    line = b""
    while b"\n" not in line and len(line) <= _MAX_HEADER_BYTES:
        chunk = stream.read(_MAX_HEADER_BYTES)
        if not chunk:
            break
        line += chunk if line else chunk.lstrip()
    end = line.find(b"\n")
    first = line[: end if end >= 0 else len(line)]
    if len(first) > _MAX_HEADER_BYTES:
        return None, line
    tokens = first.decode("utf-8", "replace").split()
    if is_header(tokens):
        return tokens, line[end + 1 :] if end >= 0 else b""
    return None, line


class _BlockParser:
    """Each block is read with the integer columns typed by the CSV reader itself. A block it cannot
    convert (a header repeated mid-file, a word where a number belongs) is read again with every
    column a string, where `normalise` finds the bad lines and counts them."""

    def __init__(
        self, fields: Sequence[str], max_errors: int | None, stats: ParseStats, columns: Collection[str] | None
    ) -> None:
        self.fields = list(fields)  # the layout the CSV reader splits lines into
        self.latest_fields = list(fields)  # the last header seen: the layout of the lines after it
        self.max_errors = max_errors
        self.stats = stats
        self.columns = frozenset(columns) if columns is not None else None
        self._invalid: list[str] = []  # lines of the current block with another number of tokens

    def tables(self, block: Block) -> Iterator[pa.Table]:
        try:
            table = self._read(block, typed=True)
            typed = any(pa.types.is_integer(t) for t in table.schema.types)
        except pa.ArrowInvalid:
            typed = False
        if typed:  # so a header line, which would have failed an integer conversion, is not in it
            yield self._typed(table)
        else:
            yield from self._split_on_headers(self._read(block, typed=False))
        yield from self._invalid_lines()
        self.fields = self.latest_fields
        self.check_errors()

    def _read(self, block: Block, typed: bool) -> pa.Table:
        """The block's lines as a table; typed, only the wanted columns are converted at all."""
        self._invalid = []
        types = {name: pa.int64() if typed and name in INTEGER_FIELDS else pa.string() for name in self.fields}
        include = [name for name in self.fields if typed and self.columns and name in self.columns]
        try:
            return pacsv.read_csv(
                pa.BufferReader(pa.py_buffer(block)),
                read_options=pacsv.ReadOptions(column_names=self.fields, block_size=len(block) + 1, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    delimiter=" ", quote_char=False, double_quote=False, invalid_row_handler=self._on_invalid_row
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, null_values=["-"], strings_can_be_null=True, include_columns=include
                ),
            )
        except pa.ArrowInvalid as error:
            if "Empty CSV file" in str(error):  # blank lines only
                return pa.table({name: pa.array([], types[name]) for name in self.fields})
            raise

    def _on_invalid_row(self, row: pacsv.InvalidRow) -> str:
        self._invalid.append(row.text or "")
        return "skip"

    def _invalid_lines(self) -> Iterator[pa.Table]:
        """Lines the CSV reader could not split into the block's layout: headers that change the
        layout, lines that follow such a header, and malformed lines."""
        by_fields: dict[tuple[str, ...], list[list[str]]] = {}
        for text in self._invalid:
            tokens = text.split()
            if not tokens:
                continue
            if is_header(tokens):
                self.latest_fields = tokens
            elif len(tokens) == len(self.latest_fields):
                by_fields.setdefault(tuple(self.latest_fields), []).append(tokens)
            elif len(tokens) == len(self.fields):
                by_fields.setdefault(tuple(self.fields), []).append(tokens)
            else:
                self.stats.malformed[f"wrong number of fields (header has {len(self.fields)})"] += 1
        self._invalid = []
        for names, rows in by_fields.items():
            columns = [pa.array([None if r[i] == "-" else r[i] for r in rows], pa.string()) for i in range(len(names))]
            yield self._typed(pa.table(columns, names=list(names)))

    def _split_on_headers(self, table: pa.Table) -> Iterator[pa.Table]:
        candidates = pc.indices_nonzero(pc.fill_null(pc.is_in(table.column(0), pa.array(KNOWN_FIELDS)), False))
        start = 0
        for index in candidates.to_pylist():
            tokens = [str(v) for v in table.slice(index, 1).to_pylist()[0].values()]
            if not is_header(tokens):
                continue
            yield self._typed(table.slice(start, index - start).rename_columns(self.fields))
            self.fields = self.latest_fields = tokens
            start = index + 1
        yield self._typed(table.slice(start).rename_columns(self.fields))

    def check_errors(self) -> None:
        errors = sum(self.stats.malformed.values())
        if self.max_errors is not None and errors > self.max_errors:
            raise SourceError(f"more than {self.max_errors} malformed lines (--max-errors); gave up on it")

    def _typed(self, table: pa.Table) -> pa.Table:
        table, stats = normalise(_wanted(table, self.columns))
        self.stats.add(stats)
        return table


def _wanted(table: pa.Table, columns: frozenset[str] | None) -> pa.Table:
    """Only the columns asked for (all when None): the others are neither converted nor checked."""
    if columns is None:
        return table
    return table.select([name for name in table.column_names if name in columns])


def _reject(table: pa.Table, bad: pa.ChunkedArray | pa.Array, reason: str, stats: ParseStats) -> pa.Table:
    bad = pc.fill_null(bad, False)
    count = pc.sum(bad).as_py() or 0
    if count:
        stats.malformed[reason] += count
        table = table.filter(pc.invert(bad))
    return table


def _set(table: pa.Table, name: str, column: pa.ChunkedArray | pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, column)


def _integers(table: pa.Table, name: str, stats: ParseStats) -> pa.Table:
    """Cast a column to int64; only when the cast fails are the offending rows looked for."""
    reason = f"{name} is not a whole number"
    try:
        values = pc.cast(table[name], pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        table = _reject(table, _not_whole(table[name]), reason, stats)
        values = pc.cast(table[name], pa.int64())
    table = _set(table, name, values)
    if (pc.min(values).as_py() or 0) >= 0:  # one pass over the column; the offending rows only if any
        return table
    return _reject(table, pc.less(values, 0), reason, stats)


def _not_whole(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The rows of a column that failed its cast to int64 whose value is not an int64: text that is no
    number, or (from Parquet written by other tools than AWS) fractions, NaN, and numbers past 2^63."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.invert(pc.match_substring_regex(column, _INTEGER))
    if pa.types.is_unsigned_integer(kind):
        return pc.greater(column, pa.scalar(_INT64_MAX, pa.uint64()))  # as int64, it would be cast back
    numbers = pc.cast(column, pa.float64())  # floats and decimals; nothing else has a number to cast
    fraction = pc.not_equal(pc.floor(numbers), numbers)
    return pc.or_kleene(
        pc.invert(pc.is_finite(numbers)), pc.or_kleene(fraction, pc.greater_equal(pc.abs(numbers), 2.0**63))
    )


def _not_addresses(column: pa.ChunkedArray) -> pa.Array | None:
    """The rows whose value is not shaped like an address, or None when there are none. The pattern
    is tested once per distinct value: far fewer than rows."""
    encoded = pc.dictionary_encode(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
    shaped = pc.match_substring_regex(encoded.dictionary, _ADDRESS)
    if pc.all(shaped).as_py() is not False:
        return None
    return pc.invert(pc.take(shaped, encoded.indices))


def normalise(table: pa.Table) -> tuple[pa.Table, ParseStats]:
    """String columns named by AWS fields -> typed columns; malformed rows dropped and counted."""
    stats = ParseStats()
    names = table.column_names
    for name in names:
        if name in INTEGER_FIELDS:
            table = _integers(table, name, stats)
    for name in ADDRESS_FIELDS:
        if name in names and (bad := _not_addresses(table[name])) is not None:
            table = _reject(table, bad, f"{name} is not an IP address", stats)
    if "action" in names:
        bad = pc.and_(pc.invert(pc.is_in(table["action"], pa.array(ACTIONS))), pc.is_valid(table["action"]))
        table = _reject(table, bad, "unknown action", stats)
    if "log-status" in names:
        by_status = {c["values"]: c["counts"] for c in pc.value_counts(table["log-status"]).to_pylist()}
        if by_status.keys() - set(LOG_STATUSES):
            bad = pc.invert(pc.is_in(table["log-status"], pa.array(LOG_STATUSES)))
            table = _reject(table, bad, "unknown log-status", stats)
        stats.nodata = by_status.get("NODATA", 0)
        stats.skipdata = by_status.get("SKIPDATA", 0)
    for name in ("start", "end"):
        if name in names and (pc.max(table[name]).as_py() or 0) > _MILLISECONDS_FROM:
            column = table[name]
            table = _set(
                table, name, pc.if_else(pc.greater(column, _MILLISECONDS_FROM), pc.divide(column, 1000), column)
            )
    stats.records = table.num_rows
    return table, stats


def parse_stream(
    stream: BinaryIO,
    fields: Sequence[str] | None = None,
    *,
    max_errors: int | None = None,
    block_size: int = BLOCK_SIZE,
    stats: ParseStats | None = None,
    max_line: int = MAX_LINE,
    columns: Collection[str] | None = None,
) -> Iterator[pa.Table]:
    """Yield typed tables of the records in `stream` (decompressed bytes); count into `stats`.

    A header line in the stream wins over `fields`; without either the default v2 order applies.
    With `columns`, the tables hold only those fields, and only those are checked: a load uses a
    dozen fields of the forty a version 8 record may carry.
    """
    header, rest = _read_header(stream)
    parser = _BlockParser(
        header or fields or DEFAULT_FIELDS, max_errors, stats if stats is not None else ParseStats(), columns
    )
    blocks = TextBlocks(stream, rest, block_size, max_line)
    try:
        for block in blocks:
            yield from parser.tables(block)
    except pa.ArrowInvalid as error:
        raise SourceError(f"cannot be read as flow-log text: {error}") from error
    finally:
        if blocks.long_lines:
            parser.stats.malformed[f"line longer than {max_line:,} bytes"] += blocks.long_lines
    parser.check_errors()
