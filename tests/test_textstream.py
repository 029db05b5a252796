"""TextBlocks: every line within the limit comes out once, in order, in blocks ending at a line's end;
every line over it is dropped and counted. Checked against plain bytes.split on generated input."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from etl.textstream import TextBlocks

ascii_lines = st.lists(st.binary(max_size=40).map(lambda b: bytes(c % 127 or 32 for c in b).replace(b"\n", b" ")))


def expected(data: bytes, max_line: int) -> tuple[bytes, int]:
    pieces = data.split(b"\n")
    kept, long_lines = [], 0
    for index, piece in enumerate(pieces):
        line = piece if index == len(pieces) - 1 else piece + b"\n"
        if len(line) > max_line:
            long_lines += 1
        elif line:
            kept.append(line)
    return b"".join(kept), long_lines


@settings(max_examples=400, deadline=None)
@given(
    lines=ascii_lines,
    ends_with_newline=st.booleans(),
    max_line=st.integers(1, 48),
    block_size=st.integers(1, 200),
    split=st.integers(0, 48),
)
def test_blocks_are_the_lines_within_the_limit(
    lines: list[bytes], ends_with_newline: bool, max_line: int, block_size: int, split: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if ends_with_newline and lines else b"")
    prefix, rest = data[: min(split, max_line)], data[min(split, max_line) :]
    blocks = TextBlocks(io.BytesIO(rest), prefix, block_size=block_size, max_line=max_line)
    out = [bytes(block) for block in blocks]
    assert (b"".join(out), blocks.long_lines) == expected(data, max_line)
    assert all(block.endswith(b"\n") and len(block) >= block_size for block in out[:-1])


def test_bytes_that_are_not_utf8_are_replaced_not_fatal() -> None:
    data = b"good line\n\xff\xfe latin-1 \xe9\n" + b"x" * 100 + b"\n"
    blocks = TextBlocks(io.BytesIO(data), block_size=8, max_line=64)
    assert b"".join(bytes(b) for b in blocks) == "good line\n\ufffd\ufffd latin-1 \ufffd\n".encode()
    assert blocks.long_lines == 1
