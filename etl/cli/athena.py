"""`load athena://DATABASE/TABLE` and `athena sql`: the edges summed by Athena, for logs too big to download."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table as RichTable

from etl.athena.slices import Layout, parse_slice
from etl.athena.sql import Aggregation, Table
from etl.buckets import DAY, parse_bucket
from etl.cli import report
from etl.cli.common import State, err, errors, out
from etl.cli.display import literal
from etl.cli.selection import AccountOption, Addresses, AwsRegionOption
from etl.errors import UsageError
from etl.identify import Naming
from etl.known_ips import KnownIPs
from etl.pipeline import LoadSummary
from etl.sources.timewindow import parse_time
from etl.stopping import StopRequest

if TYPE_CHECKING:  # boto3 is imported by the commands that query Athena, not by the CLI's start
    from etl.athena.billing import Scanned
    from etl.athena.load import Plan

athena_app = typer.Typer(no_args_is_help=True, help="Aggregation pushed down to Athena: the SQL a load runs.")

_URL = re.compile(r"athena://([^/]+)/([^/]+)/?")


class LayoutChoice(StrEnum):  # slices.Layout, spelled out for Typer
    text = "text"
    parquet = "parquet"
    hive = "hive"


LayoutOption = Annotated[
    LayoutChoice,
    typer.Option(
        help="The table's layout, as AWS documents it: text (projected accid/region/day), parquet (projected "
        "region/date/hour) or hive (Parquet under aws-account-id=/.../year=/month=/day=/hour=)."
    ),
]
ColumnsOption = Annotated[
    str | None,
    typer.Option(help="The table's columns, comma-separated, when not those of AWS's CREATE TABLE for its layout."),
]
SliceOption = Annotated[str, typer.Option("--slice", help="One query per this much time: 1d (default), 7d, 6h...")]
WorkgroupOption = Annotated[str | None, typer.Option(help="Athena workgroup (default: primary).")]
OutputLocationOption = Annotated[
    str | None, typer.Option(help="s3://bucket/prefix/ for query results (default: the workgroup's).")
]
PriceOption = Annotated[
    float, typer.Option(min=0, help="Athena's price per TB scanned, for the cost estimate (us-east-1's).")
]


def parse_url(url: str) -> tuple[str, str]:
    """`athena://DATABASE/TABLE` as its database and table."""
    match = _URL.fullmatch(url)
    if not match:
        raise UsageError(f"{url!r} is not an Athena table: write athena://DATABASE/TABLE")
    return match.group(1), match.group(2)


def plan_of(
    database: str,
    name: str,
    layout: LayoutChoice,
    columns: str | None,
    start: str | None,
    end: str | None,
    length: str,
    how: Aggregation,
    workgroup: str | None = None,
    output_location: str | None = None,
) -> Plan:
    from etl.athena.client import Where
    from etl.athena.load import Plan

    if start is None or end is None:
        raise UsageError("an Athena table is queried for a window: give --start and --end")
    chosen = Layout(layout.value)
    now = datetime.now(UTC)
    table = Table(database, name, chosen, frozenset(c.strip() for c in columns.split(",")) if columns else frozenset())
    window = int(parse_time(start, now).timestamp()), int(parse_time(end, now).timestamp())
    if output_location is not None and not output_location.startswith("s3://"):
        raise UsageError(f"--output-location takes s3://bucket/prefix/, not {output_location!r}")
    return Plan(table, Where(database, workgroup, output_location), *window, parse_slice(length, chosen), how)


def switch_times(state: State, known_ips: Path | None) -> tuple[int, ...]:
    path = known_ips or state.settings.known_ips
    return KnownIPs.load(path).switch_times if path else ()


@athena_app.command("sql")
def sql(
    ctx: typer.Context,
    table: Annotated[str, typer.Option(help="DATABASE.TABLE")],
    start: Annotated[str, typer.Option(help="ISO 8601 time, a date, or a span back (24h, 7d).")],
    end: Annotated[str, typer.Option(help="Same forms as --start; records before it.")],
    layout: LayoutOption = LayoutChoice.text,
    columns: ColumnsOption = None,
    length: SliceOption = "1d",
    bucket: Annotated[str, typer.Option(help="The store's bucket length (load uses the store's).")] = "1d",
    addresses: Annotated[Addresses, typer.Option(help="As load's.")] = Addresses.interface,
    known_ips: Annotated[Path | None, typer.Option(help="As load's: its switch times set the eras.")] = None,
    account: AccountOption = None,
    aws_region: AwsRegionOption = None,
) -> None:
    """Print the query `load athena://DATABASE/TABLE` runs for each slice of the window (as an UNLOAD to
    Parquet under the output location)."""
    state: State = ctx.obj
    with errors(state):
        database, _, name = table.partition(".")
        how = Aggregation(account or (), aws_region or (), parse_bucket(bucket), switch_times(state, known_ips),
                          addresses is Addresses.packet)  # fmt: skip
        plan = plan_of(database, name, layout, columns, start, end, length, how)
        sys.stdout.write("-- load runs each as UNLOAD (query) TO '<output location>/vpcflow-unload/...' "
                         "WITH (format = 'PARQUET')\n")  # fmt: skip
        for piece, query in plan.queries():
            _print_query(plan.source_id(piece), query)


def _print_query(source_id: str, query: str, plan: Sequence[str] = ()) -> None:
    """A query as text to copy: written as it is (its names and values were checked, Table and
    Aggregation), with what Athena's EXPLAIN said of it as comments, escaped."""
    sys.stdout.write(f"-- {source_id}\n{query};\n")
    for line in plan:
        out.print(literal(f"-- {line}"), highlight=False, soft_wrap=True)
    sys.stdout.flush()


@dataclass(frozen=True)
class AthenaRequest:
    """What `load` was asked, for an athena:// source."""

    start: str | None
    end: str | None
    layout: LayoutChoice
    columns: str | None
    length: str
    workgroup: str | None
    output_location: str | None
    price_per_tb: float
    accounts: Sequence[str]
    regions: Sequence[str]
    packet: bool
    bucket: str | None
    reload: bool
    dry_run: bool
    profile: str | None
    region: str | None
    endpoint_url: str | None


def load_table(state: State, sources: Sequence[str], request: AthenaRequest, naming: Naming, stop: StopRequest) -> int:
    """Load an Athena table's edges (or, dry, explain its queries); the exit status."""
    from etl.athena import load as athena_load
    from etl.athena.client import make_athena
    from etl.graph.store import open_store  # neo4j: a quarter second to import, not for dry runs

    if len(sources) != 1:
        raise UsageError("an athena:// table is loaded on its own: give no other source with it")
    database, name = parse_url(sources[0])

    def plan(bucket: int) -> Plan:
        how = Aggregation(request.accounts, request.regions, bucket, naming.known.switch_times, request.packet)
        return plan_of(database, name, request.layout, request.columns, request.start, request.end, request.length,
                       how, request.workgroup, request.output_location)  # fmt: skip

    requested = parse_bucket(request.bucket) if request.bucket else None
    chosen = plan(requested or DAY)  # the options checked before any client or server is made
    athena = make_athena(request.profile or state.settings.aws_profile, request.region or state.settings.aws_region,
                         request.endpoint_url)  # fmt: skip
    if request.dry_run:
        for piece, query in chosen.queries():
            lines = athena.explain(query, chosen.where, stop.reason)
            _print_query(chosen.source_id(piece), query, lines)
        err.print("dry run: the queries were explained, none run; nothing written", highlight=False)
        return 0
    with open_store(state.settings) as store:
        chosen = plan(store.time_bucket(requested))
        summary, scanned = athena_load.load(athena, store, chosen, naming, reload=request.reload, stop=stop.reason)
    out.print(summary_table(summary, scanned, request.price_per_tb))
    for result in summary.files:
        if result.status == "failed":
            err.print(report.failed_line(result.source_id, result.detail), highlight=False)
    return stop.exit_code or summary.exit_code


def summary_table(summary: LoadSummary, scanned: Scanned, price_per_tb: float) -> RichTable:
    rows = [
        ("slices loaded", summary.count("loaded")),
        ("slices skipped (already loaded)", summary.count("skipped")),
        ("slices failed", summary.count("failed")),
        ("records", summary.stats.records),
        ("edges written", summary.edges_written),
        ("Athena queries run", len(scanned.queries)),
        ("bytes scanned", sum(scanned.bytes)),
    ]
    table = RichTable(title="load summary (Athena)", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for what, value in rows:
        table.add_row(what, f"{value:,}")
    table.add_row(f"estimated cost at ${price_per_tb:.2f} per TB", f"${scanned.cost(price_per_tb):.4f}")
    table.add_row("seconds", f"{summary.seconds:.2f}")
    return table
