"""Decompressed bytes to blocks of whole lines for the CSV reader: valid UTF-8, no line too long.

The bytes are read straight into one buffer, reused from block to block, so each byte is copied
once on its way from the decompressor to the CSV reader. A line longer than `max_line` bytes is
dropped and counted. The source is read `max_line` bytes at a time, so every line between the first
and last newline of a read is within the limit and only the line in progress needs watching.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

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
        self._skipping = False  # inside a line already found too long
        self.long_lines = 0

    def __iter__(self) -> Iterator[memoryview | bytes]:
        """Blocks of about `block_size` bytes, each ending at the end of a line. A block may be a view
        of the reused buffer: it holds until the next block is asked for."""
        buffer = bytearray(len(self._prefix) + self._block_size + 2 * self._max_line)
        view = memoryview(buffer)
        buffer[: len(self._prefix)] = self._prefix
        lines, filled = self._settle(buffer, 0, 0, len(self._prefix))
        while True:
            if lines >= self._block_size:
                yield _utf8(view[:lines])
                partial = filled - lines  # the line in progress moves to the front
                buffer[:partial] = bytes(view[lines:filled])
                lines, filled = 0, partial
            read = self._source.readinto(view[filled : filled + self._max_line])  # type: ignore[attr-defined]
            if not read:
                break
            lines, filled = self._settle(buffer, lines, filled, filled + read)
        if self._skipping:
            filled = lines
        if filled:
            yield _utf8(view[:filled])

    def _settle(self, buffer: bytearray, lines: int, start: int, filled: int) -> tuple[int, int]:
        """Take in the bytes just read, buffer[start:filled], after whole lines ending at `lines`;
        the new ends of the whole lines and of the data, once a line too long is dropped."""
        first = buffer.find(b"\n", start, filled)
        if first >= 0 and (self._skipping or first + 1 - lines > self._max_line):
            # The line in progress ends here, too long: it goes, and what follows moves up.
            self.long_lines += not self._skipping
            self._skipping = False
            buffer[lines : filled - (first + 1 - lines)] = buffer[first + 1 : filled]
            start, filled = lines, filled - (first + 1 - lines)
        elif first < 0 and self._skipping:
            return lines, lines
        last = buffer.rfind(b"\n", start, filled)
        if last >= 0:
            lines = last + 1
        if filled - lines > self._max_line:
            self.long_lines += 1
            self._skipping = True
            filled = lines
        return lines, filled


def _utf8(block: memoryview) -> memoryview | bytes:
    """The block as valid UTF-8. Flow logs are ASCII; a block that is not (binary garbage, a stray
    Latin-1 byte) is decoded with replacement characters, so a bad line is counted as malformed
    instead of failing the whole file. Blocks end at a line's end, so no character is cut in two."""
    if int(np.frombuffer(block, np.uint8).max()) < 0x80:  # one vectorised pass, no copy
        return block
    return bytes(block).decode("utf-8", "replace").encode("utf-8")
