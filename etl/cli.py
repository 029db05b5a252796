"""The `vpcflow` command: options in, one library call, library errors as one sentence and an exit code."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from etl import demo as demo_data
from etl import logs, pipeline, report
from etl.cli_graph import db_app, pseudonym_doubts, query_app, view
from etl.cli_shared import State, err, errors, out
from etl.config import Settings, resolve_settings
from etl.display import literal
from etl.errors import UsageError, VpcflowError
from etl.fields import parse_fields
from etl.identify import build_naming
from etl.sources import S3Options, resolve_sources
from etl.sources.timewindow import TimeWindow, parse_time
from etl.stopping import stop_signals
from etl.workers import use_system_allocator

# Local variables in a traceback would print settings, keys and passwords (typer shows them by default).
app = typer.Typer(
    no_args_is_help=True,
    help="Turn AWS VPC Flow Logs into a graph you can query and look at.",
    pretty_exceptions_show_locals=False,
)
known_ips_app = typer.Typer(no_args_is_help=True, help="Known addresses: discover them from an AWS account.")
app.add_typer(db_app, name="db")
app.add_typer(query_app, name="query")
app.add_typer(known_ips_app, name="known-ips")
app.command()(view)


@app.callback()
def _global(
    ctx: typer.Context,
    home: Annotated[Path | None, typer.Option(help="State directory [env: VPCFLOW_HOME; default .vpcflow]")] = None,
    neo4j_uri: Annotated[str | None, typer.Option(help="Bolt URI of a Neo4j server [env: NEO4J_URI]")] = None,
    neo4j_user: Annotated[str | None, typer.Option(help="[env: NEO4J_USER; default neo4j]")] = None,
    neo4j_database: Annotated[str | None, typer.Option(help="[env: NEO4J_DATABASE]")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    logs.configure(debug)
    use_system_allocator()
    flags = {"home": home, "neo4j_uri": neo4j_uri, "neo4j_user": neo4j_user, "neo4j_database": neo4j_database}
    state = State(Settings(), debug)
    with errors(state):
        state.settings = resolve_settings(flags)
    ctx.obj = state


SourcesArgument = Annotated[
    list[str], typer.Argument(help="Files, folders (searched recursively), glob patterns, or s3://bucket/prefix URLs.")
]
FieldsOption = Annotated[str | None, typer.Option(help="Field order of header-less records: names or ${...} format.")]
ProfileOption = Annotated[str | None, typer.Option(help="AWS profile for s3:// sources [env: AWS_PROFILE]")]
RegionOption = Annotated[str | None, typer.Option(help="Region of the S3 client, the bucket's [env: AWS_REGION]")]
EndpointOption = Annotated[
    str | None, typer.Option(help="S3-compatible endpoint, e.g. http://localhost:9000 [env: AWS_ENDPOINT_URL_S3]")
]
StartOption = Annotated[
    str | None,
    typer.Option(
        help="Only records from this time: ISO 8601 (2026-01-02T00:00:00Z), a date, or a span back (24h, 7d)."
    ),
]
EndOption = Annotated[str | None, typer.Option(help="Only records before this time; same forms as --start.")]
AccountOption = Annotated[
    list[str] | None, typer.Option("--account", help="Only this account's logs in S3 (repeatable).")
]
AwsRegionOption = Annotated[
    list[str] | None, typer.Option("--aws-region", help="Only this region's logs in S3 (repeatable).")
]


@dataclass(frozen=True)
class Selection:
    """What the source options of `load` and `parse` pick: the sources, and the records' time window."""

    sources: list[Any]
    start: int | None
    end: int | None


def _select(
    state: State,
    sources: list[str],
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    start: str | None,
    end: str | None,
    account: list[str] | None,
    aws_region: list[str] | None,
) -> Selection:
    now = datetime.now(UTC)
    window = TimeWindow(parse_time(start, now) if start else None, parse_time(end, now) if end else None)
    s3 = S3Options(
        profile or state.settings.aws_profile,
        region or state.settings.aws_region,
        endpoint_url,
        window.start,
        window.end,
        frozenset(account) if account else None,
        frozenset(aws_region) if aws_region else None,
    )
    return Selection(resolve_sources(sources, s3), _epoch(window.start), _epoch(window.end))


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[pipeline.FileResult], None]]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("files", total=total)
        yield lambda result: progress.advance(task)


@app.command()
def load(
    ctx: typer.Context,
    sources: SourcesArgument,
    fields: FieldsOption = None,
    max_errors: Annotated[int | None, typer.Option(help="Give up on a file past this many malformed lines.")] = None,
    reload: Annotated[bool, typer.Option("--reload", help="Replace the contribution of files already loaded.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Parse and aggregate, write nothing.")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes parsing files in parallel.")] = 2,
    known_ips: Annotated[Path | None, typer.Option(help="YAML naming known addresses [env: VPCFLOW_KNOWN_IPS]")] = None,
    pseudonymize: Annotated[
        str, typer.Option(help="unknown (every address the known-ips file does not name), all, or none.")
    ] = "unknown",
    aws_ip_ranges: Annotated[
        Path | None, typer.Option(help="AWS ip-ranges.json: addresses in its service prefixes get scope aws-service.")
    ] = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    endpoint_url: EndpointOption = None,
    start: StartOption = None,
    end: EndOption = None,
    account: AccountOption = None,
    aws_region: AwsRegionOption = None,
) -> None:
    """Load flow logs into the graph. Exit 0 ok, 1 nothing loaded, 2 usage, 3 some files failed,
    130/143 stopped by SIGINT/SIGTERM (files not loaded are named; the same command loads them)."""
    state: State = ctx.obj
    # From the start: a signal while the JVM starts or S3 is listed stops the load before its first file.
    stop = ctx.with_resource(stop_signals())
    with errors(state):
        chosen = _select(state, sources, profile, region, endpoint_url, start, end, account, aws_region)
        settings = state.settings
        naming, created = build_naming(
            settings.home,
            settings.key,
            known_ips or settings.known_ips,
            pseudonymize,
            aws_ip_ranges,
            save_key=not dry_run,
        )
        if created:
            err.print(
                literal(
                    f"generated a pseudonym key in {created}; keep it: the same key gives the same pseudonyms on "
                    "later loads, and `vpcflow reveal` needs it"
                ),
                highlight=False,
            )
        options = pipeline.LoadOptions(
            parse_fields(fields) if fields else None, max_errors, reload, workers, chosen.start, chosen.end, naming
        )
        with _progress(len(chosen.sources)) as on_file:
            if dry_run:
                summary = pipeline.load(chosen.sources, None, options, on_file, stop.reason)
            else:
                from etl.graph.store import open_store  # neo4j: a quarter second to import, not for dry runs

                with open_store(state.settings) as store:
                    summary = pipeline.load(chosen.sources, store, options, on_file, stop.reason)
    out.print(report.summary_table(summary, dry_run))
    for result in summary.files:
        if result.status == "failed":
            err.print(report.failed_line(result.source_id, result.detail), highlight=False)
    if stop.exit_code is not None:
        err.print(f"{stop.reason()}: the same command loads what was not loaded", highlight=False)
    raise typer.Exit(stop.exit_code or summary.exit_code)


@app.command()
def parse(
    ctx: typer.Context,
    sources: SourcesArgument,
    fields: FieldsOption = None,
    output_format: Annotated[str, typer.Option("--output", help="jsonl or csv.")] = "jsonl",
    profile: ProfileOption = None,
    region: RegionOption = None,
    endpoint_url: EndpointOption = None,
    start: StartOption = None,
    end: EndOption = None,
    account: AccountOption = None,
    aws_region: AwsRegionOption = None,
) -> None:
    """Print the normalised records (NODATA/SKIPDATA included); malformed lines go to a summary on stderr."""
    state: State = ctx.obj
    with errors(state):
        if output_format not in ("jsonl", "csv"):
            raise UsageError(f"--output takes jsonl or csv, not {output_format!r}")
        chosen = _select(state, sources, profile, region, endpoint_url, start, end, account, aws_region)
        options = pipeline.LoadOptions(parse_fields(fields) if fields else None, start=chosen.start, end=chosen.end)
        stats, failed = pipeline.ParseStats(), 0
        for source in chosen.sources:
            failed += not _print_records(source, options, stats, output_format)
    sys.stdout.flush()
    err.print(f"{stats.records:,} records ({stats.nodata:,} NODATA, {stats.skipdata:,} SKIPDATA)", highlight=False)
    for reason, count in stats.malformed.most_common():
        err.print(literal(f"malformed: {reason}: {count:,}"), highlight=False)
    raise typer.Exit(3 if failed else 0)


def _print_records(source: Any, options: pipeline.LoadOptions, stats: pipeline.ParseStats, form: str) -> bool:
    columns: list[str] | None = None
    try:
        for table in pipeline.records(source, options, stats):
            sys.stdout.write(report.record_lines(table, form, header=form == "csv" and table.column_names != columns))
            columns = table.column_names
    except VpcflowError as error:
        err.print(report.failed_line(source.id, str(error)), highlight=False)
        return False
    return True


@app.command()
def demo(
    ctx: typer.Context,
    records: Annotated[int, typer.Option(min=1, help="How many flow records to write.")] = 100_000,
    output_path: Annotated[Path, typer.Option("--output", "-o", help="A .log/.gz file, or a folder.")] = Path(
        "demo-logs"
    ),
    files: Annotated[int, typer.Option(min=1, help="How many gzip files to split them into.")] = 1,
    seed: Annotated[int, typer.Option(help="Same seed, same logs.")] = 7,
) -> None:
    """Write realistic flow logs of a small VPC (web, app, database, NAT, clients, scanners)."""
    with errors(ctx.obj):
        written = demo_data.write_demo(output_path, records, files=files, seed=seed)
    for path in written:
        out.print(str(path), highlight=False)


@known_ips_app.command("discover")
def known_ips_discover(
    ctx: typer.Context,
    profile: ProfileOption = None,
    region: Annotated[str | None, typer.Option(help="The region to describe [env: AWS_REGION]")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="EC2-compatible endpoint (testing).")] = None,
    output_path: Annotated[Path | None, typer.Option("--output", "-o", help="Write the YAML here.")] = None,
) -> None:
    """Name every network interface's addresses, VPC and subnet of a region, as a known-ips YAML file."""
    from etl.discover import discover_known_ips, make_ec2_client
    from etl.known_ips import to_yaml, write_yaml

    state: State = ctx.obj
    with errors(state):
        client = make_ec2_client(
            profile or state.settings.aws_profile, region or state.settings.aws_region, endpoint_url
        )
        entries = discover_known_ips(client)
        if output_path is None:
            sys.stdout.write(to_yaml(entries))
            return
        write_yaml(entries, output_path)
    err.print(f"wrote {len(entries):,} entries to {output_path}", highlight=False)


@app.command()
def reveal(
    ctx: typer.Context, pseudonyms: Annotated[list[str], typer.Argument(help="Pseudonymized addresses.")]
) -> None:
    """The real address behind each pseudonym (needs the key the pseudonyms were made with).

    Prints PSEUDONYM, a tab, the real address. Any address reveals to some address, so the graph is
    asked too: an input it does not hold as a pseudonym (a named or real address, or one it never
    saw) still gets its line, with a warning on stderr, and the exit status is 1. When the graph
    cannot be reached, a warning says so and the exit status is 0.
    """
    from etl.pseudonymize import KEY_FILE, Pseudonymizer, existing_key

    state: State = ctx.obj
    with errors(state):
        key = existing_key(state.settings.home, state.settings.key)
        if key is None:
            raise UsageError(
                f"no pseudonym key: set VPCFLOW_KEY, or use the state directory whose {KEY_FILE} made them"
            )
        pseudonymizer = Pseudonymizer(key)
        lines = [f"{pseudonym}\t{pseudonymizer.reveal(pseudonym)}\n" for pseudonym in pseudonyms]
    doubts, checked = pseudonym_doubts(state, pseudonyms)
    sys.stdout.write("".join(lines))
    for doubt in doubts:
        err.print(literal(f"warning: {doubt}"), highlight=False)
    raise typer.Exit(1 if checked and doubts else 0)


def main() -> NoReturn:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
    raise SystemExit(0)
