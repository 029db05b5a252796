"""Parquet and CloudWatch JSON give the same records as the text form of the same records."""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from etl.aggregate import RECORD_FIELDS
from etl.cli import app
from etl.formats import read_tables
from etl.parse import ParseStats
from tests.conftest import SAMPLES

runner = CliRunner()
V5 = SAMPLES / "awsdocs-amazon-vpc-user-guide/assembled/traffic-path-v5-with-header.log"
V2 = SAMPLES / "awsdocs-amazon-vpc-user-guide/assembled/default-v2-all-examples.log"
# The types AWS's Parquet delivery uses (int32 for small numbers, int64 for counters and times).
_INT32 = {"version", "srcport", "dstport", "protocol", "tcp_flags", "traffic_path"}
_INT64 = {"packets", "bytes", "start", "end"}


def rows_of(data: bytes, fields: tuple[str, ...] | None = None) -> tuple[list[dict], ParseStats]:
    stats = ParseStats()
    rows = [r for t in read_tables(io.BytesIO(data), fields, stats) for r in t.to_pylist()]
    return rows, stats


def as_parquet(text_path: Path, drop: tuple[str, ...] = ()) -> bytes:
    lines = [line.split() for line in text_path.read_text().splitlines() if line.strip()]
    header, records = [f.replace("-", "_") for f in lines[0]], lines[1:]
    columns = {}
    for i, name in enumerate(header):
        if name in drop:
            continue
        values = [None if r[i] == "-" else r[i] for r in records]
        if name in _INT32 or name in _INT64:
            type_ = pa.int32() if name in _INT32 else pa.int64()
            columns[name] = pa.array([None if v is None else int(v) for v in values], type_)
        else:
            columns[name] = pa.array(values, pa.string())
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def test_parquet_equals_text() -> None:
    text_rows, _ = rows_of(V5.read_bytes())
    parquet_rows, stats = rows_of(as_parquet(V5))
    assert parquet_rows == text_rows
    assert stats.records == 2 and text_rows[0]["pkt-src-aws-service"] == "S3"


def test_parquet_missing_columns_still_reads_what_is_there() -> None:
    rows, stats = rows_of(as_parquet(V5, drop=("srcaddr", "packets")))
    assert stats.records == 2
    assert len(rows) == 2 and "srcaddr" not in rows[0]
    assert rows[0]["dstaddr"] == "10.0.0.71"


@pytest.mark.parametrize("form", ["text", "parquet"])
def test_columns_give_only_those_fields_with_the_same_values(form: str) -> None:
    data = V5.read_bytes() if form == "text" else as_parquet(V5)
    full, _ = rows_of(data)
    stats = ParseStats()
    rows = [r for t in read_tables(io.BytesIO(data), None, stats, columns=RECORD_FIELDS) for r in t.to_pylist()]
    assert set(rows[0]) == RECORD_FIELDS & set(full[0]) and "vpc-id" in full[0]
    assert rows == [{k: v for k, v in r.items() if k in RECORD_FIELDS} for r in full]
    assert stats.records == 2


def test_parquet_garbage_is_a_source_error() -> None:
    from etl.errors import SourceError

    with pytest.raises(SourceError, match="Parquet"):
        rows_of(b"PAR1" + b"\x00" * 100)


def cloudwatch(messages: list[str]) -> dict:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789010",
        "logGroup": "vpc-flow-logs",
        "logStream": "eni-1235b8ca123456789-all",
        "logEvents": [{"id": str(i), "timestamp": 1, "message": m} for i, m in enumerate(messages)],
    }


def v2_lines() -> list[str]:
    return [line for line in V2.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda lines: json.dumps(cloudwatch(lines)).encode(), id="one payload"),
        pytest.param(
            lambda lines: gzip.compress(
                (json.dumps(cloudwatch(lines[:3])) + json.dumps(cloudwatch(lines[3:]))).encode()
            ),
            id="firehose: gzip, payloads back to back",
        ),
        pytest.param(lambda lines: "\n".join(json.dumps({"message": m}) for m in lines).encode(), id="json lines"),
        pytest.param(
            lambda lines: (
                json.dumps({"messageType": "CONTROL_MESSAGE", "logEvents": []}).encode()
                + json.dumps(cloudwatch(lines)).encode()
            ),
            id="control message first",
        ),
    ],
)
def test_json_equals_text(encode) -> None:  # type: ignore[no-untyped-def]
    text_rows, _ = rows_of(V2.read_bytes())
    json_rows, json_stats = rows_of(encode(v2_lines()))
    assert json_rows == text_rows
    assert (json_stats.records, json_stats.nodata, json_stats.skipdata) == (7, 1, 1)


def test_json_messages_follow_fields() -> None:
    fields = ("srcaddr", "dstaddr", "action")
    rows, _ = rows_of(json.dumps(cloudwatch(["10.0.0.1 10.0.0.2 ACCEPT"])).encode(), fields)
    assert rows == [{"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "action": "ACCEPT"}]


def test_truncated_json_is_a_source_error() -> None:
    from etl.errors import SourceError

    with pytest.raises(SourceError, match="not valid JSON"):
        rows_of(json.dumps(cloudwatch(v2_lines()))[:-20].encode())


def test_parse_command_prints_typed_json_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["parse", str(V2)])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 7
    assert lines[0] == {
        "version": 2,
        "account_id": "123456789010",
        "interface_id": "eni-1235b8ca123456789",
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
        "log_status": "OK",
    }
    assert lines[2]["log_status"] == "NODATA" and lines[2]["srcaddr"] is None


def test_parse_command_reports_malformed_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    nat = SAMPLES / "awsdocs-amazon-vpc-user-guide/assembled/nat-gateway-with-header.log"
    result = runner.invoke(app, ["parse", "--output", "csv", str(nat)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "instance_id,interface_id,srcaddr,dstaddr,pkt_srcaddr,pkt_dstaddr"
    assert len(result.stdout.splitlines()) == 5
    assert "malformed: wrong number of fields (header has 6): 2" in result.stderr


def parquet_of(**columns: pa.Array) -> bytes:
    """Two records, 10.0.0.1 -> 10.0.0.2:443 and 10.0.0.3 -> 10.0.0.4:443, with `columns` in place of AWS's."""
    table = {
        "version": pa.array([2, 2], pa.int32()),
        "srcaddr": ["10.0.0.1", "10.0.0.3"], "dstaddr": ["10.0.0.2", "10.0.0.4"],
        "srcport": pa.array([40000, 40001], pa.int32()), "dstport": pa.array([443, 443], pa.int32()),
        "protocol": pa.array([6, 6], pa.int32()), "packets": pa.array([1, 2]), "bytes": pa.array([100, 200]),
        "start": pa.array([1_700_000_000] * 2), "end": pa.array([1_700_000_060] * 2),
        "action": ["ACCEPT", "REJECT"], "log_status": ["OK", "OK"],
    } | columns  # fmt: skip
    sink = io.BytesIO()
    pq.write_table(pa.table(table), sink)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("columns", "kept", "malformed"),
    [
        ({"srcport": pa.array([40000, 40001], pa.uint16()), "bytes": pa.array([100, 200], pa.uint64())}, 2, {}),
        ({"bytes": pa.array([100.0, 200.0]), "start": pa.array([1.7e9, 1.7e9], pa.float32())}, 2, {}),
        ({"bytes": pa.array([100, 2**64 - 1], pa.uint64())}, 1, {"bytes is not a whole number": 1}),
        ({"bytes": pa.array([100.0, 200.5])}, 1, {"bytes is not a whole number": 1}),
        ({"bytes": pa.array([100.0, float("nan")])}, 1, {"bytes is not a whole number": 1}),
        ({"packets": pa.array([1.0, float("inf")])}, 1, {"packets is not a whole number": 1}),
        ({"bytes": pa.array([100.0, 1e30])}, 1, {"bytes is not a whole number": 1}),
        ({"protocol": pa.array([6, 6], pa.uint8()).dictionary_encode()}, 2, {}),
        ({"srcaddr": pa.array([b"10.0.0.1", b"10.0.0.3"]), "action": pa.array(["ACCEPT", "REJECT"]).dictionary_encode()}, 2, {}),
        ({"account_id": pa.array([123456789012, 123456789012])}, 2, {}),
    ],
    ids=["unsigned", "float", "uint64 past int64", "fraction", "NaN", "infinity", "1e30", "dictionary of uint8",
         "bytes and dictionary text", "numeric account id"],
)  # fmt: skip
def test_parquet_numbers_of_other_types_load_what_they_can(
    columns: dict[str, pa.Array], kept: int, malformed: dict[str, int]
) -> None:
    rows, stats = rows_of(parquet_of(**columns))
    assert (stats.records, dict(stats.malformed)) == (kept, malformed)
    expected = [
        {"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "srcport": 40000, "dstport": 443, "protocol": 6, "packets": 1,
         "bytes": 100, "start": 1_700_000_000, "action": "ACCEPT"},
        {"srcaddr": "10.0.0.3", "dstaddr": "10.0.0.4", "srcport": 40001, "dstport": 443, "protocol": 6, "packets": 2,
         "bytes": 200, "start": 1_700_000_000, "action": "REJECT"},
    ][:kept]  # fmt: skip
    assert [{k: r[k] for k in expected[0]} for r in rows] == expected


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({"srcaddr": pa.array([167772161, 167772163])}, "its srcaddr column holds int64; AWS writes addresses as text"),
        ({"dstaddr": pa.array([1.5, 2.5])}, "its dstaddr column holds double; AWS writes addresses as text"),
        ({"bytes": pa.array([[100], [200]])}, "its bytes column holds list<element: int64>, not numbers"),
        ({"protocol": pa.array([True, False])}, "its protocol column holds bool, not numbers"),
        ({"action": pa.array([b"\xff", b"\xfe"])}, "its action column holds binary, not text"),
    ],
    ids=["integer address", "float address", "list of numbers", "bool", "bytes not UTF-8"],
)
def test_parquet_columns_of_unusable_types_are_a_source_error(columns: dict[str, pa.Array], reason: str) -> None:
    from etl.errors import SourceError

    with pytest.raises(SourceError, match=re.escape(reason)):
        rows_of(parquet_of(**columns))


@pytest.mark.parametrize("opening", [b"[", b'{"a":', b' \n[{"logEvents": ['])
def test_json_nested_past_the_recursion_limit_is_a_source_error(opening: bytes) -> None:
    from etl.errors import SourceError

    with pytest.raises(SourceError, match="nested too deeply"):
        rows_of(opening * 200_000)


def test_json_lines_across_many_reads_give_every_record() -> None:
    """Values are decoded in place across 1 MiB reads (each value was cut off the text's front before,
    copying the rest: 7 MB took 5.7 s, 28 MB now 0.3 s). A character split by a read stays whole."""
    line = json.dumps({"logGroup": "vpc-é", "message": v2_lines()[0]}, ensure_ascii=False) + "\n"
    rows, stats = rows_of((line * 40_000).encode())
    assert (stats.records, len(rows), dict(stats.malformed)) == (40_000, 40_000, {})
    assert rows[-1] == rows_of(V2.read_bytes())[0][0]
