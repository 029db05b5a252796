"""Decompressed bytes to blocks the CSV reader can always take: valid UTF-8, whole lines, none too long.

Flow logs are ASCII; a chunk that is not (binary garbage, a stray Latin-1 byte) is decoded with
replacement characters, so one bad line is counted as malformed instead of failing the whole file.
A line longer than `max_line` bytes is dropped and counted. The source is read `max_line` bytes at a
time, so every line between the first and last newline of a read is within the limit and only the
line in progress needs watching.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE = 1 << 20
BLOCK_SIZE = 8 << 20


class TextBlocks:
    def __init__(
        self, source: BinaryIO, prefix: bytes = b"", block_size: int = BLOCK_SIZE, max_line: int = MAX_LINE
    ) -> None:
        self._source = source
        self._prefix = prefix
        self._block_size = block_size
        self._max_line = max_line
        self._partial = bytearray()  # the line in progress
        self._skipping = False  # inside a line already found too long
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.long_lines = 0

    def __iter__(self) -> Iterator[bytearray]:
        """Blocks of about `block_size` bytes, each ending at the end of a line."""
        block = bytearray()
        chunk = self._prefix or self._source.read(self._max_line)
        while chunk:
            self._take(chunk, block)
            if len(block) >= self._block_size:
                yield block
                block = bytearray()
            chunk = self._source.read(self._max_line)
        self._extend_partial(memoryview(self._decoder.decode(b"", final=True).encode("utf-8")))
        if not self._skipping:
            block += self._partial
        if block:
            yield block

    def _take(self, chunk: bytes, block: bytearray) -> None:
        if not chunk.isascii():
            chunk = self._decoder.decode(chunk).encode("utf-8")
        first = chunk.find(b"\n")
        if first < 0:
            self._extend_partial(memoryview(chunk))
            return
        view = memoryview(chunk)
        self._extend_partial(view[: first + 1])
        if not self._skipping:
            block += self._partial
        self._partial.clear()
        self._skipping = False
        last = chunk.rfind(b"\n")
        block += view[first + 1 : last + 1]
        self._extend_partial(view[last + 1 :])

    def _extend_partial(self, piece: memoryview) -> None:
        if self._skipping:
            return
        self._partial += piece
        if len(self._partial) > self._max_line:
            self.long_lines += 1
            self._skipping = True
            self._partial.clear()
