"""`vpcflow load athena://DATABASE/TABLE` end to end: boto3 talks HTTP to moto's server, the edges land in
the live graph, and the ledger makes a rerun query nothing.

moto records queries but runs none. Here its server, in this process, hands each query it is sent to
DuckDB over logs laid out as AWS delivers them (tests/athena_tables.py) and writes the result where
Athena would: an UNLOAD's rows as Parquet under its target, an EXPLAIN's plan as the result CSV. So
the SQL that reaches the server is what is executed, and the graph's totals are checked against the
records themselves."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest
from moto.athena.models import AthenaBackend, athena_backends
from moto.athena.responses import AthenaResponse
from moto.s3.models import s3_backends
from typer.testing import CliRunner

from etl.athena.slices import Layout
from etl.cli import app
from tests.athena_tables import LogFile, athena_csv, create_table, log_files, write_layout
from tests.aws import fake_aws, moto_server

pytestmark = pytest.mark.integration

REGION = "sa-east-1"  # no other test module's: moto's state is shared in-process
ACCOUNT = "123456789012"  # moto's default
RESULTS = "athena-load-results"
SCANNED = 12_345_678  # what each query reports it scanned
MIDNIGHT = 1_767_225_600  # 2026-01-01T00:00:00Z
WINDOW = ("2026-01-01T02:30:00Z", "2026-01-02T04:00:00Z")
WINDOW_SECONDS = (MIDNIGHT + 9000, MIDNIGHT + 86400 + 4 * 3600)
FAILING: set[str] = set()  # a query holding one of these fails, as Athena fails a query it ran
TOTALS = "MATCH ()-[f:FLOW]->() RETURN sum(f.count) AS count, sum(f.packets) AS packets, sum(f.bytes) AS bytes"


@pytest.fixture(scope="module")
def logs() -> list[LogFile]:
    return log_files(MIDNIGHT - 4 * 3600, 36, per_file=60)


@pytest.fixture(scope="module")
def engine(logs: list[LogFile], tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """DuckDB with the logs as AWS's Hive-compatible Parquet table `flowlogs.vpc`."""
    root = tmp_path_factory.mktemp("athena-logs")
    write_layout(root, Layout.hive, logs)
    con = duckdb.connect()
    create_table(con, root, Layout.hive)
    return con


UNLOAD = re.compile(r"UNLOAD \((?P<select>.*)\)\nTO '(?P<target>s3://[^']+/)'\nWITH \(format = 'PARQUET'\)", re.DOTALL)


def _put(url: str, body: bytes) -> None:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    s3_backends[ACCOUNT]["aws"].put_object(bucket_name=bucket, key_name=key, value=body)


@pytest.fixture(scope="module")
def endpoint(engine: duckdb.DuckDBPyConnection) -> Iterator[str]:
    original_start, original_get = AthenaBackend.start_query_execution, AthenaResponse.get_query_execution

    def start(backend: AthenaBackend, query: str, context: Any, config: dict[str, Any], **more: Any) -> str:
        query_id: str = original_start(backend, query=query, context=context, config=config, **more)
        if any(marker in query for marker in FAILING):  # no result is written
            backend.executions[query_id]._transitions = [("QUEUED", "RUNNING"), ("RUNNING", "FAILED")]
            return query_id
        if unload := UNLOAD.fullmatch(query):  # Parquet under the target, no file for no rows
            rows = engine.sql(unload["select"]).to_arrow_table()
            if rows.num_rows:
                parquet = io.BytesIO()
                pq.write_table(rows, parquet, compression="gzip")
                _put(f"{unload['target']}{query_id}_00000", parquet.getvalue())
        elif query.startswith("EXPLAIN "):
            rows = [(line,) for _, plan in engine.execute(query).fetchall() for line in plan.splitlines()]
            _put(config["OutputLocation"], athena_csv(["Query Plan"], rows))
        return query_id

    def get(response: AthenaResponse) -> str:
        import json

        answer = json.loads(original_get(response))
        execution = answer["QueryExecution"]
        execution["Statistics"]["DataScannedInBytes"] = SCANNED
        if execution["Status"]["State"] == "FAILED":
            execution["Status"]["StateChangeReason"] = "HIVE_CURSOR_ERROR: the file was changed while it was read"
        return json.dumps(answer)

    with pytest.MonkeyPatch.context() as patch, moto_server() as url:
        patch.setattr(AthenaBackend, "start_query_execution", start)
        patch.setattr(AthenaResponse, "get_query_execution", get)
        yield url


@pytest.fixture
def aws(endpoint: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    fake_aws(monkeypatch, tmp_path, REGION)
    s3 = boto3.Session(region_name=REGION).client("s3", endpoint_url=endpoint)
    if RESULTS not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=RESULTS, CreateBucketConfiguration={"LocationConstraint": REGION})
    return endpoint


def _load(endpoint: str, *more: str) -> Any:
    args = ["load", "athena://flowlogs/vpc", "--layout", "hive", "--start", WINDOW[0], "--end", WINDOW[1],
            "--endpoint-url", endpoint, "--output-location", f"s3://{RESULTS}/results/", "--pseudonymize", "none",
            *more]  # fmt: skip
    return CliRunner().invoke(app, args)


def _expected(logs: list[LogFile]) -> dict[str, int]:
    """The window's traffic records summed from the records themselves (the load's window rule)."""
    start, end = WINDOW_SECONDS
    kept = [r for log in logs for r in log.records
            if r["log_status"] == "OK" and r["end"] >= start and r["start"] < end]  # type: ignore[operator]  # fmt: skip
    return {"count": len(kept), "packets": sum(r["packets"] for r in kept),  # type: ignore[misc]
            "bytes": sum(r["bytes"] for r in kept)}  # type: ignore[misc]  # fmt: skip


def _queries(started_before: set[str]) -> list[str]:
    return [q for q in athena_backends[ACCOUNT][REGION].executions if q not in started_before]


def _started() -> set[str]:
    return set(athena_backends[ACCOUNT][REGION].executions)


def test_a_window_loads_slice_by_slice_and_a_rerun_queries_nothing(aws: str, store: Any, logs: list[LogFile]) -> None:
    before = _started()
    result = _load(aws)
    assert result.exit_code == 0, result.output
    # Two day slices: the hours from 01:00 of the first day (the window's 02:30 less the delivery
    # margin) to 04:00 of the next (04:00 plus the margin, exclusive).
    assert len(_queries(before)) == 2
    assert dict(store.query(TOTALS, {})[1][0]) == _expected(logs)
    _, entries = store.query("MATCH (l:LogFile) RETURN l.id AS id ORDER BY id", {})
    assert [e["id"] for e in entries] == [f"athena://flowlogs/vpc/{day}T00:00:00Z"
                                          for day in ("2026-01-01", "2026-01-02")]  # fmt: skip
    assert f"{2 * SCANNED:,}" in result.output
    assert "$0.0001" in result.output  # two queries of 12 MB each (rounded up), billed at $5 per TB

    before = _started()
    again = _load(aws)
    assert again.exit_code == 0, again.output
    assert _queries(before) == []
    assert dict(store.query(TOTALS, {})[1][0]) == _expected(logs)

    before = _started()
    reloaded = _load(aws, "--reload")
    assert reloaded.exit_code == 0, reloaded.output
    assert len(_queries(before)) == 2
    assert dict(store.query(TOTALS, {})[1][0]) == _expected(logs)


def test_a_failed_slice_is_named_and_the_rerun_loads_only_it(aws: str, store: Any, logs: list[LogFile]) -> None:
    FAILING.add("\"day\" = '02'")
    try:
        result = _load(aws)
    finally:
        FAILING.clear()
    assert result.exit_code == 3, result.output
    assert "athena://flowlogs/vpc/2026-01-02T00:00:00Z" in result.output
    assert "HIVE_CURSOR_ERROR: the file was changed while it was read" in result.output
    assert dict(store.query(TOTALS, {})[1][0])["count"] < _expected(logs)["count"]

    before = _started()
    rerun = _load(aws)
    assert rerun.exit_code == 0, rerun.output
    assert len(_queries(before)) == 1
    assert dict(store.query(TOTALS, {})[1][0]) == _expected(logs)


def test_a_dry_run_explains_each_query_and_writes_nothing(aws: str, store: Any) -> None:
    before = _started()
    result = _load(aws, "--dry-run")
    assert result.exit_code == 0, result.output
    queries = [athena_backends[ACCOUNT][REGION].executions[q].query for q in _queries(before)]
    assert len(queries) == 2 and all(query.startswith("EXPLAIN SELECT\n  src,") for query in queries)
    assert result.output.count("-- athena://flowlogs/vpc/") == 2
    assert "GROUP BY src, dst, port, protocol, action, bucket, vpc, account, era;" in result.output
    assert "-- │ Function: READ_PARQUET" in result.output  # the plan, as comments
    assert store.query("MATCH (n) RETURN count(n) AS n", {})[1][0]["n"] == 0


def test_an_athena_table_needs_a_window(aws: str, store: Any) -> None:
    result = CliRunner().invoke(app, ["load", "athena://flowlogs/vpc", "--endpoint-url", aws])
    assert result.exit_code == 2
    assert "give --start and --end" in result.output
