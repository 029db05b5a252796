"""No input makes the line parser raise: whatever the bytes, records come out typed or are counted."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.fields import is_header
from etl.parse import ParseStats, parse_stream

GOOD = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 40000 443 6 3 300 1700000000 1700000060 ACCEPT OK"
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
TOKENS = st.sampled_from(
    ["-", "ACCEPT", "NODATA", "OK", "10.0.0.1", "::1", "443", "1700000000", "version", "#x", "..."]
)
LINES = st.one_of(
    st.just(GOOD),
    st.just(HEADER),
    st.lists(TOKENS, min_size=0, max_size=20).map(" ".join),
    st.text(max_size=60),
)


def parse_all(data: bytes) -> tuple[int, ParseStats]:
    stats = ParseStats()
    rows = sum(t.num_rows for t in parse_stream(io.BytesIO(data), stats=stats, block_size=1 << 12, max_line=1 << 10))
    return rows, stats


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    rows, stats = parse_all(data)
    assert rows == stats.records


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=40), st.sampled_from(["\n", "\r\n"]))
def test_flow_log_like_lines_never_raise_and_good_lines_survive(lines: list[str], newline: str) -> None:
    data = newline.join(lines).encode("utf-8", "surrogatepass")
    rows, stats = parse_all(data)
    assert rows == stats.records
    # Unless a line re-heads the file with other fields (a lone "version" is a header too), every GOOD
    # line is a record; and no line is both a record and malformed.
    if all(line == HEADER or not is_header(line.split()) for line in lines):
        assert rows >= lines.count(GOOD)
    assert rows + sum(stats.malformed.values()) <= sum(1 for line in data.splitlines() if line.strip())
