"""Recognise how a log file is stored (gzip or plain text) and open it as a stream of text bytes."""

from __future__ import annotations

import io
from typing import BinaryIO

from isal import igzip

GZIP_MAGIC = b"\x1f\x8b"


def open_text(raw: BinaryIO) -> BinaryIO:
    """The decompressed bytes of `raw`, which may be gzip (one or many members) or plain text."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type,type-var]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return igzip.IGzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered
