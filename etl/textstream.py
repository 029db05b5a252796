"""A byte stream the CSV reader can always take: valid UTF-8, whole lines, no line past a limit.

Flow logs are ASCII; a chunk that is not (binary garbage, a stray Latin-1 byte) is decoded with
replacement characters, so one bad line is counted as malformed instead of failing the whole file.
A line longer than MAX_LINE bytes is dropped and counted (the CSV reader would otherwise need a
block as large as the line). Data is handed on only up to the last newline seen, so a long line is
recognised before any of it has gone out.
"""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

MAX_LINE = 1 << 20


class TextStream(io.RawIOBase):
    def __init__(self, source: BinaryIO, prefix: bytes = b"", max_line: int = MAX_LINE) -> None:
        self._source = source
        self._ready = bytearray()  # whole lines, ready to hand out
        self._partial = bytearray()  # the current line so far
        self._skipping = False
        self._eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max_line = max_line
        self.long_lines = 0
        self._take(prefix)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        # Fill the whole request when the data is there: a short read makes a short CSV block.
        while len(self._ready) < len(buffer) and not self._eof:
            chunk = self._source.read(self._max_line)
            if not chunk:
                self._finish()
            else:
                self._take(chunk)
        n = min(len(buffer), len(self._ready))
        buffer[:n] = self._ready[:n]
        del self._ready[:n]
        return n

    def _take(self, chunk: bytes) -> None:
        if not chunk.isascii():
            chunk = self._decoder.decode(chunk).encode("utf-8")
        first = chunk.find(b"\n")
        if first < 0:
            self._extend_partial(chunk)
            return
        # The line in progress ends here; the lines between the first and last newline are whole and,
        # read max_line bytes at a time, no longer than the limit (up to 3x after replacement).
        self._extend_partial(chunk[: first + 1])
        if not self._skipping:
            self._ready += self._partial
        self._partial.clear()
        self._skipping = False
        last = chunk.rfind(b"\n")
        self._ready += chunk[first + 1 : last + 1]
        self._extend_partial(chunk[last + 1 :])

    def _extend_partial(self, piece: bytes) -> None:
        if self._skipping:
            return
        self._partial += piece
        if len(self._partial) > self._max_line:
            self.long_lines += 1
            self._skipping = True
            self._partial.clear()

    def _finish(self) -> None:
        self._eof = True
        if not self._skipping:
            self._ready += self._partial
        self._partial.clear()
