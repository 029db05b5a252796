"""The parser on the public samples and on hand-made edge cases: values the documentation states."""

from __future__ import annotations

import gzip
import io
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from etl.fields import parse_fields
from etl.formats import open_text
from etl.parse import ParseStats, parse_stream
from tests.conftest import SAMPLES

DOCS = SAMPLES / "awsdocs-amazon-vpc-user-guide"


def parse_bytes(data: bytes, fields: tuple[str, ...] | None = None, **kwargs: Any) -> tuple[list[dict], ParseStats]:
    stats = ParseStats()
    rows = [row for table in parse_stream(io.BytesIO(data), fields, stats=stats, **kwargs) for row in table.to_pylist()]
    return rows, stats


def parse_file(relative: str) -> tuple[list[dict], ParseStats]:
    return parse_bytes((SAMPLES / relative).read_bytes())


def test_default_format_without_header() -> None:
    rows, stats = parse_file("awsdocs-amazon-vpc-user-guide/codeblock01_flow-log-example-accepted-rejected.txt")
    assert rows == [
        {
            "version": 2,
            "account-id": "123456789010",
            "interface-id": "eni-1235b8ca123456789",
            "srcaddr": "172.31.16.139",
            "dstaddr": "172.31.16.21",
            "srcport": 20641,
            "dstport": 22,
            "protocol": 6,
            "packets": 20,
            "bytes": 4249,
            "start": 1418530010,
            "end": 1418530070,
            "action": "ACCEPT",
            "log-status": "OK",
        }
    ]
    assert stats.records == 1 and not stats.malformed


@pytest.mark.parametrize(
    ("relative", "records", "nodata", "skipdata", "malformed"),
    [
        ("awsdocs-amazon-vpc-user-guide/assembled/default-v2-all-examples.log", 7, 1, 1, 0),
        # two lines carry trailing '#comment' text copied from the documentation
        ("awsdocs-amazon-vpc-user-guide/assembled/nat-gateway-with-header.log", 4, 0, 0, 2),
        # codeblock11's record with a double space still parses
        ("awsdocs-amazon-vpc-user-guide/assembled/tcp-flag-with-header.log", 8, 0, 0, 0),
        ("awsdocs-amazon-vpc-user-guide/assembled/traffic-path-v5-with-header.log", 2, 0, 0, 0),
        # the literal '...' line from the documentation
        ("awsdocs-amazon-vpc-user-guide/assembled/transit-gateway-with-header.log", 4, 0, 0, 1),
        ("obsrvbl-flowlogs-reader/V2_RECORDS.log", 5, 1, 1, 0),
        ("obsrvbl-flowlogs-reader/V3_FILE.log", 2, 0, 0, 0),
        ("obsrvbl-flowlogs-reader/V4_FILE.log", 2, 0, 0, 0),
        ("panther-labs-panther/TestExtendedVpcFlowLog.with-header.log", 1, 0, 0, 0),
        # an extra trailing token: more tokens than the header names
        ("panther-labs-panther/TestStandardVpcFlowLog.with-header.log", 0, 0, 0, 1),
        ("panther-labs-panther/TestVpcFlowLogNoData.with-header.log", 1, 1, 0, 0),
        ("panther-analysis/attacker_vpc.raw.log", 6, 0, 0, 0),
    ],
)
def test_samples(relative: str, records: int, nodata: int, skipdata: int, malformed: int) -> None:
    rows, stats = parse_file(relative)
    assert (len(rows), stats.records, stats.nodata, stats.skipdata) == (records, records, nodata, skipdata)
    assert sum(stats.malformed.values()) == malformed


def test_header_in_any_order_maps_by_name() -> None:
    rows, _ = parse_file("obsrvbl-flowlogs-reader/V3_FILE.log")
    first = rows[0]
    assert (first["srcaddr"], first["srcport"], first["dstaddr"], first["dstport"]) == (
        "172.18.160.68",
        443,
        "172.18.160.93",
        47460,
    )
    assert (first["version"], first["bytes"], first["packets"], first["tcp-flags"]) == (3, 6392, 10, 19)
    assert first["pkt-srcaddr"] == "192.168.0.1"


def test_double_space_line_keeps_its_values() -> None:
    rows, _ = parse_file("awsdocs-amazon-vpc-user-guide/assembled/tcp-flag-with-header.log")
    spaced = [r for r in rows if r["dstport"] == 43638]
    assert len(spaced) == 1
    assert (spaced[0]["srcaddr"], spaced[0]["pkt-srcaddr"], spaced[0]["bytes"], spaced[0]["tcp-flags"]) == (
        "10.0.0.62",
        "10.0.0.62",
        967,
        19,
    )


def test_dash_is_null_and_milliseconds_become_seconds() -> None:
    rows, stats = parse_file("obsrvbl-flowlogs-reader/V2_millisecond_timestamp.log")
    assert rows[0]["srcaddr"] is None and rows[0]["packets"] is None
    assert (rows[0]["start"], rows[0]["end"]) == (1512564058, 1512564059)
    assert stats.skipdata == 1


def test_unknown_header_field_is_kept_as_string() -> None:
    rows, _ = parse_file("panther-labs-panther/TestExtendedVpcFlowLog.with-header.log")
    assert rows[0]["unknown-header-should-not-break"] == "extra-data-should-not-break"
    assert rows[0]["pkt-srcaddr"] == "76.198.154.105"


def test_ipv6() -> None:
    rows, _ = parse_file("awsdocs-amazon-vpc-user-guide/codeblock07_flow-log-example-ipv6.txt")
    assert rows[0]["srcaddr"] == "2001:db8:1234:a100:8d6e:3477:df66:f105"


def test_header_repeated_and_changed_mid_file() -> None:
    v2 = (DOCS / "codeblock01_flow-log-example-accepted-rejected.txt").read_bytes()
    header = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
    reordered = b"srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status version account-id interface-id\n"
    line = b"10.9.9.9 10.8.8.8 443 50000 6 3 300 1700000000 1700000060 ACCEPT OK 2 1 eni-9\n"
    rows, stats = parse_bytes(header + v2 + b"\n\n" + header + v2 + reordered + line)
    assert [r["srcaddr"] for r in rows] == ["172.31.16.139", "172.31.16.139", "10.9.9.9"]
    assert rows[2]["dstport"] == 50000 and rows[2]["interface-id"] == "eni-9"
    assert not stats.malformed


def test_a_shorter_header_mid_file_rules_the_lines_after_it_in_later_blocks() -> None:
    v2 = b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
    short = b"srcaddr dstaddr srcport dstport protocol packets bytes action log-status\n"
    line = b"10.0.0.3 10.0.0.4 53 50000 17 2 140 REJECT OK\n"
    bad = b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 x 100 1700000000 1700000060 ACCEPT OK\n"
    data = v2 * 2_000 + bad + short + line * 3_000 + v2
    rows, stats = parse_bytes(data, block_size=1 << 14, max_line=1 << 12)
    assert len(rows) == 5_000
    assert sum(r["bytes"] for r in rows) == 2_000 * 100 + 3_000 * 140
    assert [r["action"] for r in rows].count("REJECT") == 3_000
    assert stats.malformed == {"packets is not a whole number": 1, "wrong number of fields (header has 9)": 1}


def test_only_the_columns_asked_for_are_checked() -> None:
    """A load reads the fields edges use; a bad value elsewhere costs `vpcflow parse` the line, not a load."""
    good = b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
    odd_version = b"x 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
    rows, stats = parse_bytes(good + odd_version, columns=frozenset({"srcaddr", "bytes", "action"}))
    assert rows == [{"srcaddr": "10.0.0.1", "bytes": 100, "action": "ACCEPT"}] * 2 and not stats.malformed
    rows, stats = parse_bytes(good + odd_version)
    assert len(rows) == 1 and stats.malformed == {"version is not a whole number": 1}


def test_fields_option_for_headerless_custom_records() -> None:
    fields = parse_fields((DOCS / "codeblock12_flow-log-example-nat.txt").read_text())
    rows, stats = parse_bytes((DOCS / "codeblock14_flow-log-example-nat.txt").read_bytes(), fields)
    assert len(rows) == 2 and not stats.malformed
    assert rows[0]["pkt-dstaddr"] == "203.0.113.5"


def test_console_format_string() -> None:
    assert parse_fields("${version} ${account-id} ${srcaddr}") == ("version", "account-id", "srcaddr")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"2 1 eni-1 10.0.0.1 10.0.0.2 x 443 6 1 100 1700000000 1700000060 ACCEPT OK", "srcport is not a whole number"),
        (b"2 1 eni-1 10.0.0.1 nowhere 4 443 6 1 100 1700000000 1700000060 ACCEPT OK", "dstaddr is not an IP address"),
        (b"2 1 eni-1 10.0.0.1 10.0.0.2 4 443 6 1 100 1700000000 1700000060 MAYBE OK", "unknown action"),
        (b"2 1 eni-1 10.0.0.1 10.0.0.2 4 443 6 1 100 1700000000 1700000060 ACCEPT FINE", "unknown log-status"),
        (b"2 1 eni-1 10.0.0.1 10.0.0.2 4 443", "wrong number of fields (header has 14)"),
    ],
)
def test_malformed_lines_are_counted_by_reason(line: bytes, reason: str) -> None:
    good = b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
    rows, stats = parse_bytes(good + line + b"\n" + good)
    assert len(rows) == 2
    assert stats.malformed == {reason: 1}


def test_gzip_multi_member_is_read_whole() -> None:
    part = (DOCS / "codeblock01_flow-log-example-accepted-rejected.txt").read_bytes()
    data = gzip.compress(part) + gzip.compress(part)
    stats = ParseStats()
    rows = [r for t in parse_stream(open_text(io.BytesIO(data)), stats=stats) for r in t.to_pylist()]
    assert len(rows) == 2


def test_streaming_stays_block_sized() -> None:
    line = b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
    tables = list(parse_stream(io.BytesIO(line * 50_000), block_size=1 << 16, max_line=1 << 14))
    assert len(tables) >= 49  # 4 MB in blocks of 64 KiB to 64 KiB + one 16 KiB read
    assert max(t.num_rows for t in tables) < 2_000
    assert sum(t.num_rows for t in tables) == 50_000


def test_header_only_and_empty_inputs() -> None:
    assert parse_bytes(b"") == ([], ParseStats())
    header = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
    assert parse_bytes(header) == ([], ParseStats())


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"x" * (10 << 20), "line longer than 1,048,576 bytes"),
        (b"\xff\xfe\x00 binary \x01\x02 garbage", "wrong number of fields (header has 14)"),
    ],
    ids=["10 MB line", "binary garbage"],
)
def test_one_bad_line_costs_one_line(bad: bytes, reason: str) -> None:
    good = b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
    rows, stats = parse_bytes(good * 3 + bad + b"\n" + good * 2)
    assert len(rows) == 5
    assert stats.malformed == {reason: 1}


GOOD = b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
HEADER = b"srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
RECORD = b"10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"  # HEADER's layout


def peak_python_bytes(run: Callable[[], object]) -> int:
    """The most memory Python objects held at once while `run` ran (Arrow's own buffers are not counted)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "data",
    [b"\n" * (16 << 20), b" \r\n\t" * (4 << 20) + HEADER + b"\n" * (16 << 20) + RECORD],
    ids=["blank lines only", "blank lines around a header"],
)
def test_blank_lines_are_skipped_in_bounded_memory(data: bytes) -> None:
    """16 MB of blank lines held at most a few reads of the header search at once, not the whole run."""
    source = io.BytesIO(data)
    peak = peak_python_bytes(lambda: list(parse_stream(source, block_size=1 << 16, max_line=1 << 14)))
    assert peak < 1 << 20


def test_a_header_after_megabytes_of_blank_lines_still_rules() -> None:
    # Were the header missed, the records would be read in the default v2 layout: all malformed.
    data = gzip.compress(b"\n" * (10 << 20) + b"\r\n  \n" + HEADER + RECORD * 3)
    stats = ParseStats()
    rows = [r for t in parse_stream(open_text(io.BytesIO(data)), stats=stats) for r in t.to_pylist()]
    assert stats.records == 3 and not stats.malformed
    assert rows[0] == {
        "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "srcport": 40000, "dstport": 443, "protocol": 6,
        "packets": 1, "bytes": 100, "start": 1700000000, "end": 1700000060, "action": "ACCEPT", "log-status": "OK",
    }  # fmt: skip
