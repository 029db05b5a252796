"""The commands that read or write flow logs: `load`, `parse` and `demo`."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from etl import demo as demo_data
from etl import pipeline
from etl.athena.billing import PRICE_PER_TB
from etl.buckets import DAY, parse_bucket
from etl.cli import athena, report
from etl.cli.common import State, err, errors, out
from etl.cli.display import literal
from etl.cli.selection import (
    AccountOption,
    Addresses,
    AwsRegionOption,
    EndOption,
    EndpointOption,
    FieldsOption,
    ProfileOption,
    RegionOption,
    SourcesArgument,
    StartOption,
    WorkersOption,
    select,
)
from etl.errors import UsageError, VpcflowError
from etl.fields import parse_fields
from etl.identify import Naming, PublicPrefixes, build_naming
from etl.stopping import stop_signals
from etl.workers import default_workers


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[pipeline.FileResult], None]]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("files", total=total)
        yield lambda result: progress.advance(task)


def load(
    ctx: typer.Context,
    sources: SourcesArgument,
    fields: FieldsOption = None,
    max_errors: Annotated[int | None, typer.Option(help="Give up on a file past this many malformed lines.")] = None,
    reload: Annotated[bool, typer.Option("--reload", help="Replace the contribution of files already loaded.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Parse and aggregate, write nothing.")] = False,
    workers: WorkersOption = None,
    known_ips: Annotated[Path | None, typer.Option(help="YAML naming known addresses [env: VPCFLOW_KNOWN_IPS]")] = None,
    pseudonymize: Annotated[
        str, typer.Option(help="unknown (every address the known-ips file does not name), all, or none.")
    ] = "unknown",
    aws_ip_ranges: Annotated[
        Path | None, typer.Option(help="AWS ip-ranges.json: addresses in its service prefixes get scope aws-service.")
    ] = None,
    public_prefix: Annotated[
        int | None,
        typer.Option(min=1, max=32, help="Fold unnamed public IPv4 addresses into one node per /N (e.g. 24)."),
    ] = None,
    public_prefix6: Annotated[
        int | None,
        typer.Option(min=1, max=128, help="Fold unnamed public IPv6 addresses into one node per /M (e.g. 48)."),
    ] = None,
    addresses: Annotated[
        Addresses,
        typer.Option(
            help="interface: edges join srcaddr/dstaddr, the interface's; packet: pkt-srcaddr/pkt-dstaddr where "
            "records have them (the client behind a NAT gateway, the far end through a transit gateway)."
        ),
    ] = Addresses.interface,
    bucket: Annotated[
        str | None,
        typer.Option(
            help="Keep each edge's counts per time bucket of this length: 1d (default), 1h, 15m... "
            "Chosen by a store's first load, then the store's."
        ),
    ] = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    endpoint_url: EndpointOption = None,
    start: StartOption = None,
    end: EndOption = None,
    account: AccountOption = None,
    aws_region: AwsRegionOption = None,
    layout: athena.LayoutOption = athena.LayoutChoice.text,
    columns: athena.ColumnsOption = None,
    length: athena.SliceOption = "1d",
    workgroup: athena.WorkgroupOption = None,
    output_location: athena.OutputLocationOption = None,
    price_per_tb: athena.PriceOption = PRICE_PER_TB,
) -> None:
    """Load flow logs into the graph. Exit 0 ok, 1 nothing loaded, 2 usage, 3 some files failed,
    130/143 stopped by SIGINT/SIGTERM (files not loaded are named; the same command loads them).

    An athena://DATABASE/TABLE source is summed by Athena, one query per --slice of --start/--end:
    --layout, --columns, --slice, --workgroup, --output-location and --price-per-tb are for it."""
    state: State = ctx.obj
    # From the start: a signal while the JVM starts or S3 is listed stops the load before its first file.
    stop = ctx.with_resource(stop_signals())
    if any(source.startswith("athena://") for source in sources):
        with errors(state):
            request = athena.AthenaRequest(
                start, end, layout, columns, length, workgroup, output_location, price_per_tb, account or (),
                aws_region or (), addresses is Addresses.packet, bucket, reload, dry_run, profile, region, endpoint_url,
            )  # fmt: skip
            naming = naming_of(
                state,
                known_ips,
                pseudonymize,
                aws_ip_ranges,
                not dry_run,
                PublicPrefixes(public_prefix, public_prefix6),
            )
            code = athena.load_table(state, sources, request, naming, stop)
        if stop.exit_code is not None:
            err.print(f"{stop.reason()}: the same command loads what was not loaded", highlight=False)
        raise typer.Exit(code)
    with errors(state):
        chosen = select(state, sources, profile, region, endpoint_url, start, end, account, aws_region)
        naming = naming_of(
            state, known_ips, pseudonymize, aws_ip_ranges, not dry_run, PublicPrefixes(public_prefix, public_prefix6)
        )
        options = pipeline.LoadOptions(
            parse_fields(fields) if fields else None,
            max_errors,
            reload,
            workers_of(state, workers, writes=not dry_run),
            chosen.start,
            chosen.end,
            naming,
            addresses.value,
        )
        requested = parse_bucket(bucket) if bucket else None
        with _progress(len(chosen.sources)) as on_file:
            if dry_run:
                options = replace(options, bucket=requested or DAY)
                summary = pipeline.load(chosen.sources, None, options, on_file, stop.reason)
            else:
                from etl.graph.store import open_store  # neo4j: a quarter second to import, not for dry runs

                with open_store(state.settings) as store:
                    options = replace(options, bucket=store.time_bucket(requested))
                    summary = pipeline.load(chosen.sources, store, options, on_file, stop.reason)
    out.print(report.summary_table(summary, dry_run))
    for result in summary.files:
        if result.status == "failed":
            err.print(report.failed_line(result.source_id, result.detail), highlight=False)
    if stop.exit_code is not None:
        err.print(f"{stop.reason()}: the same command loads what was not loaded", highlight=False)
        _leave(stop.exit_code)
    raise typer.Exit(stop.exit_code or summary.exit_code)


def workers_of(state: State, requested: int | None, *, writes: bool = True) -> int:
    """Files prepared at once: `--workers`, else the default for where the load writes (the embedded
    server when NEO4J_URI is not set, as open_store chooses)."""
    return requested or default_workers(embedded=writes and not state.settings.neo4j_uri)


def naming_of(
    state: State,
    known_ips: Path | None,
    pseudonymize: str,
    aws_ip_ranges: Path | None = None,
    save_key: bool = True,
    folding: PublicPrefixes | None = None,
) -> Naming:
    """How a load names addresses; a pseudonym key made just now is announced once."""
    settings = state.settings
    naming, created = build_naming(
        settings.home, settings.key, known_ips or settings.known_ips, pseudonymize, aws_ip_ranges,
        save_key=save_key, folding=folding,
    )  # fmt: skip
    if created:
        err.print(
            literal(
                f"generated a pseudonym key in {created}; keep it: the same key gives the same pseudonyms on "
                "later loads, and `vpcflow reveal` needs it"
            ),
            highlight=False,
        )
    return naming


def _leave(code: int) -> NoReturn:
    """Exit a stopped load without the interpreter's join of the worker pool's threads. A worker killed
    while it wrote its result leaves half a message in the pool's result pipe, whose write end this
    process holds too: the pool's manager thread waits on it for ever, and exit joins that thread (a
    stopped dry run hung after printing its summary, 1 run in 4-6 here). Everything is printed and
    the store closed by now."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


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
        chosen = select(state, sources, profile, region, endpoint_url, start, end, account, aws_region)
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


class DemoProfile(StrEnum):  # demo_data.PROFILES, spelled out for Typer and mypy
    small = "small"
    internet = "internet"


def demo(
    ctx: typer.Context,
    records: Annotated[int, typer.Option(min=1, help="How many flow records to write.")] = 100_000,
    output_path: Annotated[Path, typer.Option("--output", "-o", help="A .log/.gz file, or a folder.")] = Path(
        "demo-logs"
    ),
    files: Annotated[int, typer.Option(min=1, help="How many gzip files to split them into.")] = 1,
    seed: Annotated[int, typer.Option(help="Same seed, same logs.")] = 7,
    profile: Annotated[
        DemoProfile,
        typer.Option(
            help="small: a few hundred clients, edges that repeat. internet: the cardinality of an"
            " internet-facing VPC (tens of thousands of clients an hour, scanners sweeping every address).",
        ),
    ] = DemoProfile.small,
    clients: Annotated[
        int | None,
        typer.Option(min=1, max=demo_data.MAX_CLIENTS, help="internet: distinct clients per hour of log time."),
    ] = None,
    scanners: Annotated[
        int | None, typer.Option(min=1, max=demo_data.MAX_SCANNERS, help="internet: how many scanners.")
    ] = None,
) -> None:
    """Write realistic flow logs of a small VPC (web, app, database, NAT, clients, scanners)."""
    with errors(ctx.obj):
        written = demo_data.write_demo(
            output_path, records, files=files, seed=seed, profile=profile.value, clients=clients, scanners=scanners
        )
    for path in written:
        out.print(str(path), highlight=False)
