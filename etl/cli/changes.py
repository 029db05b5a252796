"""Change over time: `diff` of two windows, `watch` for change and the `alerts` it stored."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from etl.changes.windows import Window, parse_range, window_of
from etl.cli.common import State, check_format, check_output_folder, err, errors, out
from etl.cli.display import literal
from etl.cli.selection import (
    AccountOption,
    AwsRegionOption,
    EndpointOption,
    ProfileOption,
    RegionOption,
    SourcesArgument,
    WorkersOption,
)
from etl.errors import UsageError
from etl.sources.timewindow import iso_time
from etl.stopping import StopRequest, stop_signals

if TYPE_CHECKING:
    from etl.changes.watch import PassResult, Watched
    from etl.changes.webhook import Webhook
    from etl.graph.store import GraphStore

FORMATS = ("table", "json")
WindowOption = (
    "START..END: times as --start takes them (2026-01-05, 2026-01-05T06:00:00Z, 7d); a side may be left open."
)
EDGE_COLUMNS = ["src", "src_name", "dst", "dst_name", "port", "protocol", "action", "before_count", "count"]
CHANGE_COLUMNS = [*EDGE_COLUMNS, "count_change", "count_ratio", "bytes_change", "bytes_ratio"]
ADDRESS_COLUMNS = ["id", "name", "scope", "group", "network", "first_seen"]
_SHOWN = 50  # rows of each table; --format json gives them all


def diff(
    ctx: typer.Context,
    before: Annotated[str, typer.Option(help=f"The earlier window, {WindowOption}")],
    after: Annotated[str, typer.Option(help="The later window, the same way; it needs a start.")],
    top: Annotated[int, typer.Option(min=1, help="How many changed edges (by count, then bytes).")] = 50,
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    output_path: Annotated[Path | None, typer.Option("--output", "-o", help="Also draw the changes as HTML.")] = None,
) -> None:
    """What changed between two windows: edges that appeared, disappeared, changed most; new addresses.

    Windows count the time buckets whose start lies inside them (see `load --bucket`). An address is
    new when it was first seen in the later window."""
    from etl.changes.diff import diff as compare_windows
    from etl.graph.store import open_store

    state: State = ctx.obj
    with errors(state):
        check_format(format, FORMATS)
        check_output_folder(output_path)
        earlier, later = parse_range(before, "--before"), parse_range(after, "--after")
        if later.start is None:
            raise UsageError("--after needs a start: addresses are new when first seen after it")
        with open_store(state.settings) as store:
            found = compare_windows(store, earlier, later, top)
        if format == "json":
            sys.stdout.write(json.dumps(found.as_json(), indent=2) + "\n")
        else:
            _print_tables(found.as_json())
        if output_path is not None:
            _write_page(output_path, found.as_json(), earlier, later)
    err.print(
        literal(
            f"{earlier} against {later}: {len(found.new):,} new edges, {len(found.gone):,} gone, "
            f"{len(found.changed):,} changed most, {len(found.new_addresses):,} new addresses"
        ),
        highlight=False,
    )


def _print_tables(document: dict[str, list[dict[str, Any]]]) -> None:
    from etl.cli.output import as_table  # tables of driver values: imports the neo4j driver

    for title, key, columns in (("New edges", "new", EDGE_COLUMNS), ("Gone edges", "gone", EDGE_COLUMNS),
                                ("Changed most", "changed", CHANGE_COLUMNS),
                                ("New addresses", "new_addresses", ADDRESS_COLUMNS)):  # fmt: skip
        rows = document[key]
        if not rows:
            out.print(f"[bold]{title}[/bold]: none")
            continue
        more = f", the first {_SHOWN}" if len(rows) > _SHOWN else ""
        out.print(as_table(columns, rows[:_SHOWN], f"{title} ({len(rows):,}{more})"))


def _write_page(path: Path, document: dict[str, list[dict[str, Any]]], before: Window, after: Window) -> None:
    from viewer import graph_from_rows, render_html

    rows = [e | {"change": "new"} for e in document["new"]] + [e | {"change": "gone"} for e in document["gone"]]
    rows += [e | {"change": "grown" if e["count_change"] > 0 else "shrunk"} for e in document["changed"]]
    try:
        page = render_html(
            graph_from_rows(rows),
            title="diff",
            params={"before": str(before), "after": str(after)},
            subtitle="New edges green, gone edges grey and dashed, grown edges thicker; counts are the later window's.",
        )
        path.write_text(page, encoding="utf-8")
    except ValueError as error:
        raise UsageError(f"{path}: nothing changed between the windows, so there is nothing to draw") from error
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error
    err.print(literal(f"wrote {path}"), highlight=False)


def alerts(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only alerts about buckets from this time (as --start takes it).")
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """The alerts `watch` has stored, latest bucket first."""
    from etl.changes import stored
    from etl.graph.store import open_store

    state: State = ctx.obj
    with errors(state):
        check_format(format, FORMATS)
        start = window_of(since, None, "").start
        with open_store(state.settings) as store:
            rows = stored.listed(store, start)
        if format == "json":
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        elif rows:
            from etl.cli.output import as_table

            columns = ["bucket", "severity", "rule", "subject", "message", "count", "addresses"]
            out.print(
                as_table(columns, [r | {"bucket": iso_time(r["bucket"])} for r in rows], f"Alerts ({len(rows):,})")
            )
        else:
            err.print("no alerts stored")


def watch(
    ctx: typer.Context,
    sources: SourcesArgument,
    rules_path: Annotated[Path, typer.Option("--rules", help="The rules: what change deserves an alert.")],
    interval: Annotated[str, typer.Option(help="Time between passes: 30s, 5m, 1h.")] = "5m",
    webhook: Annotated[str | None, typer.Option(help="POST each alert, as JSON, to this URL (retried).")] = None,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron and tests).")] = False,
    known_ips: Annotated[Path | None, typer.Option(help="YAML naming known addresses [env: VPCFLOW_KNOWN_IPS]")] = None,
    pseudonymize: Annotated[str, typer.Option(help="unknown, all or none, as `load` takes it.")] = "unknown",
    bucket: Annotated[str | None, typer.Option(help="The store's time bucket, as `load` takes it.")] = None,
    workers: WorkersOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    endpoint_url: EndpointOption = None,
    account: AccountOption = None,
    aws_region: AwsRegionOption = None,
) -> None:
    """Load what is new, pass after pass, and alert on change: one JSON line per new alert on stdout.

    Each pass loads the files not loaded yet (in S3, listing only the keys after the previous pass's
    window), evaluates the rules on the time buckets it touched, stores the alerts as (:Alert) nodes
    and prints (and POSTs) those not seen before: an alert fires once per rule, subject and bucket.
    A summary per pass goes to stderr. SIGINT or SIGTERM stops it between files. With --once, the
    exit status is the load's (0, 1, 3)."""
    from etl import pipeline
    from etl.buckets import parse_bucket
    from etl.changes.rules import read_rules
    from etl.changes.watch import Watched, parse_interval
    from etl.changes.webhook import Webhook
    from etl.cli.load import naming_of, workers_of
    from etl.cli.policy import vocabulary_of
    from etl.graph.store import open_store
    from etl.pseudonymize import Pseudonymizer, existing_key
    from etl.sources import S3Options

    state: State = ctx.obj
    stop = ctx.with_resource(stop_signals())
    with errors(state):
        pause = parse_interval(interval)
        requested = parse_bucket(bucket) if bucket else None
        naming = naming_of(state, known_ips, pseudonymize)
        hook = Webhook(webhook) if webhook else None
        s3 = S3Options(profile or state.settings.aws_profile, region or state.settings.aws_region, endpoint_url,
                       accounts=frozenset(account) if account else None,
                       regions=frozenset(aws_region) if aws_region else None)  # fmt: skip
        with open_store(state.settings) as store:
            names = store.query(_NAMES, {})[1][0]
            rules = read_rules(
                rules_path, vocabulary_of(names["names"], names["groups"], known_ips or state.settings.known_ips)
            )
            key = existing_key(state.settings.home, state.settings.key)
            options = pipeline.LoadOptions(
                naming=naming,
                workers=workers_of(state, workers),
                bucket=store.time_bucket(requested),
            )
            watched = Watched(sources, s3, options, rules, Pseudonymizer(key).reveals if key else None)
            code = _passes(store, watched, hook, once, pause, stop)
    if stop.exit_code is not None:
        err.print(f"{stop.reason()}: the next pass loads what this one did not", highlight=False)
        raise typer.Exit(stop.exit_code)
    raise typer.Exit(code)


_NAMES = "MATCH (a:Address) RETURN collect(DISTINCT a.name) AS names, collect(DISTINCT a.group) AS groups"
_DRAIN = 30.0  # seconds the last pass's alerts get to reach the webhook before the command ends


def _passes(
    store: GraphStore, watched: Watched, hook: Webhook | None, once: bool, pause: float, stop: StopRequest
) -> int:
    from etl.changes.watch import run_pass

    number, code = 0, 0
    while stop.signum is None:
        number += 1
        result = run_pass(store, watched, stop.reason)
        for alert in result.alerts:
            entry = alert.entry()
            sys.stdout.write(json.dumps(entry) + "\n")
            sys.stdout.flush()
            if hook is not None:
                hook.send(entry)
        code = result.summary.exit_code
        err.print(literal(_summary(number, result, hook)), highlight=False)
        if once:
            break
        deadline = time.monotonic() + pause
        while stop.signum is None and time.monotonic() < deadline:
            time.sleep(0.2)  # short sleeps: a signal's handler runs when the main thread wakes
    if hook is not None:
        counts = hook.close(_DRAIN)
        err.print(f"webhook at {hook.host}: {counts.delivered:,} delivered, {counts.failed:,} failed, "
                  f"{counts.pending:,} not sent", highlight=False)  # fmt: skip
    return code


def _summary(number: int, result: PassResult, hook: Webhook | None) -> str:
    summary = result.summary
    text = (
        f"pass {number}: {summary.count('loaded'):,} files loaded, {summary.count('skipped'):,} skipped, "
        f"{summary.count('failed'):,} failed, {len(result.alerts):,} new alerts"
    )
    if hook is not None:
        counts = hook.counts()
        text += f"; webhook at {hook.host}: {counts.delivered:,} delivered, {counts.failed:,} failed, {counts.pending:,} pending"
    return text
