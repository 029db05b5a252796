"""How a log object is stored (gzip or not; text, Parquet or CloudWatch JSON) and its records as tables.

Text is what AWS delivers to S3 by default; Parquet is its other S3 delivery option; JSON is what a
CloudWatch Logs subscription writes through Firehose (objects concatenated with no separator), or
JSON lines with a `message` field. The records inside JSON carry no header: they follow `fields`.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import re
import shutil
import tempfile
from collections.abc import Collection, Iterator, Sequence
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from isal import igzip

from etl.errors import SourceError
from etl.fields import INTEGER_FIELDS, KNOWN_FIELDS
from etl.parse import ADDRESS_FIELDS, ParseStats, normalise, parse_stream

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
_JSON_READ = 1 << 20
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_MESSAGES_PER_TABLE = 100_000


def _buffered(raw: BinaryIO) -> io.BufferedReader:
    return raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type,type-var]


def open_text(raw: BinaryIO) -> BinaryIO:
    """The decompressed bytes of `raw`, which may be gzip (one or many members) or not."""
    buffered = _buffered(raw)
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return _buffered(igzip.IGzipFile(fileobj=buffered, mode="rb"))  # type: ignore[arg-type]
    return buffered


def read_tables(
    raw: BinaryIO,
    fields: Sequence[str] | None,
    stats: ParseStats,
    max_errors: int | None = None,
    columns: Collection[str] | None = None,
) -> Iterator[pa.Table]:
    """Typed record tables from any supported form of log object; with `columns`, only those fields."""
    stream = open_text(raw)
    head = stream.peek(64)[:64]  # type: ignore[attr-defined]
    if head[:4] == PARQUET_MAGIC:
        yield from _parquet_tables(stream, stats, columns)
    elif head.lstrip()[:1] in (b"{", b"["):
        yield from _json_tables(stream, fields, stats, max_errors, columns)
    else:
        yield from parse_stream(stream, fields, max_errors=max_errors, stats=stats, columns=columns)


def _parquet_tables(stream: BinaryIO, stats: ParseStats, columns: Collection[str] | None) -> Iterator[pa.Table]:
    with contextlib.ExitStack() as stack:
        source: Any = stream
        if not stream.seekable():
            # Parquet needs random access: a compressed or network stream is spooled (to disk past 64 MiB).
            source = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=64 << 20))
            shutil.copyfileobj(stream, source, 1 << 20)
            source.seek(0)
        try:
            parquet = pq.ParquetFile(source)
            names = parquet.schema_arrow.names
            wanted = [n for n in names if columns is None or n.replace("_", "-") in columns]
            for batch in parquet.iter_batches(batch_size=256_000, columns=wanted):
                table = pa.Table.from_batches([batch])
                # AWS's Parquet columns are the field names with underscores: account_id, pkt_srcaddr.
                table = table.rename_columns([c.replace("_", "-") for c in table.column_names])
                table, batch_stats = normalise(_dashes_to_null(_flow_log_types(table)))
                stats.add(batch_stats)
                yield table
        except (pa.ArrowException, OSError) as error:  # ArrowNotImplementedError too: a type it cannot read
            raise SourceError(f"cannot be read as Parquet: {str(error).splitlines()[0]}") from error


def _flow_log_types(table: pa.Table) -> pa.Table:
    """The columns as the text parser types them: numbers or text for number fields, text for the rest.

    AWS writes int32/int64 numbers and strings; other tools' Parquet may hold unsigned or floating
    numbers (checked row by row in `normalise`), dictionaries, bytes, or a number where AWS has text.
    An address that is a number is refused, not converted: an IPv4 address as a 32-bit integer is one
    reading of it, but so is a row number or a key into another table, and a guess would put wrong
    addresses into the graph without a word."""
    for index, name in enumerate(table.column_names):
        column = table.column(index)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if name in INTEGER_FIELDS:
            if not _holds_numbers(column.type):
                raise SourceError(f"its {name} column holds {column.type}, not numbers")
        elif name in KNOWN_FIELDS and not _is_text(column.type):
            column = _as_text(name, column)
        table = table.set_column(index, name, column)
    return table


def _holds_numbers(kind: pa.DataType) -> bool:
    return any(is_(kind) for is_ in (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)) or (
        _is_text(kind) or pa.types.is_null(kind)
    )


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _as_text(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Bytes that are UTF-8 and nulls are text; so are numbers, but not in an address column."""
    kind = column.type
    if name in ADDRESS_FIELDS and not (pa.types.is_binary(kind) or pa.types.is_null(kind)):
        raise SourceError(
            f"its {name} column holds {kind}; AWS writes addresses as text, a number is not taken for one"
        )
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise SourceError(f"its {name} column holds {kind}, not text") from error


def _dashes_to_null(table: pa.Table) -> pa.Table:
    for index, column in enumerate(table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            nulled = pc.if_else(pc.equal(column, "-"), pa.scalar(None, column.type), column)
            table = table.set_column(index, table.column_names[index], nulled)
    return table


def _json_values(stream: BinaryIO) -> Iterator[Any]:
    """Every JSON value in the stream: one document, JSON lines, or documents back to back.

    Values are decoded in place from an offset: cutting each one off the front of the text copied
    the rest every time, so a file of many small values took time in the square of its size."""
    decoder, utf8 = json.JSONDecoder(), codecs.getincrementaldecoder("utf-8")("replace")
    text, at, at_end, want = "", 0, False, _JSON_READ
    while True:
        at = _JSON_SPACE.match(text, at).end()  # type: ignore[union-attr]  # it matches the empty string
        if at == len(text) and at_end:
            return
        try:
            value, end = decoder.raw_decode(text, at) if at < len(text) else (None, at)
        except RecursionError as error:  # json's C decoder recurses once per level: "[" * 200_000 ran it out
            raise SourceError("is JSON nested too deeply to be flow-log records") from error
        except json.JSONDecodeError as error:
            if at_end:
                raise SourceError(f"is not valid JSON: {error.msg} near character {error.pos - at}") from error
            value, end = None, at
        if end > at:
            at, want = end, _JSON_READ
            yield value
            continue
        more = stream.read(want)
        at_end = not more
        text, at = text[at:] + utf8.decode(more, final=at_end), 0
        want *= 2  # an incomplete value is re-decoded with twice the data, not once per chunk


def _messages(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _messages(item)
    elif isinstance(value, dict):
        if isinstance(value.get("logEvents"), list):  # CloudWatch Logs subscription (DATA_MESSAGE)
            yield from (str(e.get("message", "")) for e in value["logEvents"] if isinstance(e, dict))
        elif "message" in value:
            yield str(value["message"])


def _json_tables(
    stream: BinaryIO,
    fields: Sequence[str] | None,
    stats: ParseStats,
    max_errors: int | None,
    columns: Collection[str] | None,
) -> Iterator[pa.Table]:
    pending: list[str] = []
    for value in _json_values(stream):
        pending.extend(_messages(value))
        if len(pending) >= _MESSAGES_PER_TABLE:
            yield from _message_tables(pending, fields, stats, max_errors, columns)
            pending = []
    yield from _message_tables(pending, fields, stats, max_errors, columns)


def _message_tables(
    messages: list[str],
    fields: Sequence[str] | None,
    stats: ParseStats,
    max_errors: int | None,
    columns: Collection[str] | None,
) -> Iterator[pa.Table]:
    if messages:
        text = "\n".join(m.replace("\n", " ") for m in messages).encode("utf-8")
        yield from parse_stream(io.BytesIO(text), fields, max_errors=max_errors, stats=stats, columns=columns)
