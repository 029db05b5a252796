"""What pushing the aggregation to Athena saves (issue 17), on the demo profiles' logs.

For BENCH_ATHENA_RECORDS (default 2,000,000) records of each profile (BENCH_PROFILE, default small and
internet: the internet one has tens of thousands of distinct clients an hour, so its edges are many),
laid out as AWS's text table: the bytes a load would download (the gzip logs) beside the bytes Athena
hands back (the edge rows of `load athena://`'s queries, as its UNLOAD writes them: gzip'd Parquet,
Athena's default), the same rows as Athena's result CSV (what a plain query would have handed back),
and the edge rows per thousand records. DuckDB runs the same SQL over the same files as a stand-in for Athena; its time is
printed beside `prepare`'s (the file loader's parse and aggregate, one process) for the scale of the
work, not as Athena's speed. Medians of BENCH_RUNS (default 3).
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from bench.table import print_table
from etl.athena.edges import ROW_SCHEMA, batch_of
from etl.athena.slices import Layout, slices
from etl.athena.sql import DEFAULT_COLUMNS, Table, edge_sql
from etl.demo import write_demo
from etl.demo.vpc import DEMO_ACCOUNT, DEMO_START, REGION
from etl.identify import Naming
from etl.pipeline import LoadOptions, prepare
from etl.sources.local import LocalSource
from tests.athena_tables import athena_csv, text_partition

FILES = 8


def _median(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _table(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """The demo's files as AWS's text table of the default format, one day's partition."""
    values = {"accid": DEMO_ACCOUNT, "region": REGION, "day": "2026/01/01"}
    con.execute("CREATE SCHEMA flowlogs")
    con.execute(f"CREATE VIEW flowlogs.vpc AS {text_partition(f'{folder}/*.log.gz', values, DEFAULT_COLUMNS)}")


def measure(profile: str, records: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="athena-bench-") as scratch:
        folder = Path(scratch) / "logs"
        files = write_demo(folder, records, files=FILES, profile=profile)
        con = duckdb.connect()
        con.execute("SET threads = 1")  # as prepare: one process
        _table(con, folder)
        table = Table("flowlogs", "vpc", Layout.text)
        [piece] = [p for p in slices(DEMO_START, DEMO_START + 86_400, Layout.text) if p.start == DEMO_START]
        sql = edge_sql(table, piece)
        rows = con.sql(sql).to_arrow_table().cast(ROW_SCHEMA)
        result = athena_csv(rows.column_names, [tuple(row.values()) for row in rows.to_pylist()])
        parquet = io.BytesIO()
        pq.write_table(rows, parquet, compression="gzip")
        batch = batch_of(rows, "bench", "", Naming())
        duck = _median(runs, lambda: con.sql(sql).to_arrow_table())
        local = _median(runs, lambda: [prepare(LocalSource(path), LoadOptions()) for path in files])
        downloaded = sum(path.stat().st_size for path in files)
        return {
            "records": records,
            "gzip log bytes (a load downloads)": downloaded,
            "UNLOAD Parquet bytes (Athena hands back)": len(parquet.getvalue()),
            "downloaded / handed back": downloaded / len(parquet.getvalue()),
            "result CSV bytes (a plain query's)": len(result),
            "edge rows": rows.num_rows,
            "edge rows per 1,000 records": rows.num_rows / records * 1000,
            "graph edges": batch.edge_count,
            "DuckDB runs the SQL, s": duck,
            "prepare (parse, aggregate), s": local,
        }


def main() -> dict[str, dict[str, float]]:
    records = int(os.environ.get("BENCH_ATHENA_RECORDS", "2000000"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    profiles = os.environ.get("BENCH_PROFILE", "small,internet").split(",")
    figures = {profile: measure(profile, records, runs) for profile in profiles}
    print_table(f"athena pushdown, {records:,} records, medians of {runs}", figures)
    return figures


if __name__ == "__main__":
    main()
