"""The commands that talk to the graph: `db`, `query` and `view`.

The graph store imports the neo4j driver, which takes a quarter of a second: these commands import
it when they run, so that `load --dry-run` and `parse` start without it."""

from __future__ import annotations

import sys
import time
import webbrowser
from pathlib import Path
from typing import Annotated, Any

import typer

from etl.cli.common import State, check_format, check_output_folder, err, errors, out
from etl.cli.display import literal
from etl.errors import UsageError
from etl.graph.embedded import embedded_endpoint
from etl.queries import browser_text, find_query, saved_queries, shown_params
from etl.stopping import stop_signals

db_app = typer.Typer(no_args_is_help=True, help="The graph server: serve the embedded one, status, reset.")
query_app = typer.Typer(no_args_is_help=True, help="Saved Cypher queries: list, show, run.")


@db_app.command("serve")
def db_serve(ctx: typer.Context) -> None:
    """Run the embedded server for other Bolt clients (Neo4j drivers, cypher-shell) until Ctrl-C."""
    state: State = ctx.obj
    with errors(state):
        if state.settings.neo4j_uri:
            raise UsageError(f"NEO4J_URI is set ({state.settings.neo4j_uri}); db serve runs the embedded server")
        from etl.graph.store import connect

        home = state.settings.home
        with embedded_endpoint(home, serve=True) as endpoint, stop_signals() as stop, connect(endpoint):
            out.print(f"serving the embedded graph store of {home} over Bolt", highlight=False)
            out.print(f"  uri:      {endpoint.uri}\n  user:     {endpoint.user}", highlight=False)
            out.print(f"  password: in {home / 'root-password'}\n  database: {endpoint.database}", highlight=False)
            out.print("other vpcflow commands on this state directory use it; Ctrl-C stops it")
            # Short sleeps, not one endless wait: the kernel may hand the signal to one of the JVM's
            # threads, and Python runs its handler only when the main thread next wakes.
            while stop.signum is None:
                time.sleep(0.2)


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """The server's agent and what the graph holds."""
    from etl.graph.store import open_store

    state: State = ctx.obj
    with errors(state), open_store(state.settings) as store:
        counts = store.counts()
        out.print(f"server:    {store.agent} at {store.endpoint.uri}", highlight=False)
        out.print(f"addresses: {counts['addresses']:,}\nflows:     {counts['flows']:,}\nlog files: {counts['files']:,}")


@db_app.command("reset")
def db_reset(ctx: typer.Context, yes: Annotated[bool, typer.Option("--yes", help="Really delete.")] = False) -> None:
    """Delete every node and relationship (the ledger too)."""
    from etl.graph.store import open_store

    state: State = ctx.obj
    with errors(state):
        if not yes:
            raise UsageError("db reset deletes the whole graph and its ledger; add --yes to do it")
        with open_store(state.settings) as store:
            deleted = store.reset()
    out.print(f"deleted {deleted:,} nodes and their relationships")


@query_app.command("list")
def query_list(ctx: typer.Context) -> None:
    """The saved queries and their parameters."""
    from etl.cli import output

    with errors(ctx.obj):
        table = output.query_table(saved_queries())
    out.print(table)


@query_app.command("show")
def query_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Saved query name or .cypher path.")],
    browser: Annotated[bool, typer.Option("--browser", help="With :param lines, ready for Neo4j Browser.")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="name=value; repeatable.")] = None,
) -> None:
    """Print a saved query's text."""
    with errors(ctx.obj):
        query = find_query(name)
        values = query.bind(param or [])
        text = browser_text(query, values) if browser else query.text
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


ParamOption = Annotated[list[str] | None, typer.Option("--param", "-p", help="name=value; repeatable.")]


def _run(state: State, name: str, params: list[str] | None) -> tuple[Any, list[str], list[dict[str, Any]], dict]:
    from etl.graph.store import open_store

    query = find_query(name)
    values = query.bind(params or [])
    if query.writes:
        err.print(literal(f"{query.name}: this query writes to the graph (its header says '// writes: true')"))
    with open_store(state.settings) as store:
        columns, rows = store.query(query.text, values, writes=query.writes)
    return query, columns, rows, values


@query_app.command("run")
def query_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Saved query name or .cypher path.")],
    param: ParamOption = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Run a saved query (or any .cypher file) and print its rows."""
    from etl.cli import output

    state: State = ctx.obj
    with errors(state):
        check_format(format, output.FORMATS)
        query, columns, rows, _ = _run(state, name, param)
    if format == "json":
        sys.stdout.write(output.as_json(rows))  # not through rich: it would turn `:smile:` into an emoji
    elif format == "csv":
        sys.stdout.write(output.as_csv(columns, rows))
    elif rows:
        out.print(output.as_table(columns, rows, query.title))
    else:
        err.print("the query returned no rows")


def view(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Saved query name or .cypher path.")],
    output_path: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("view.html"),
    param: ParamOption = None,
    title: Annotated[str | None, typer.Option(help="Page title; default the query's.")] = None,
    group_by: Annotated[str | None, typer.Option(help="Merge nodes that share a name or group.")] = None,
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Open folded: group, subnet, prefix (unnamed addresses by /24 or /64), public, or none. "
            "Default: public unnamed addresses fold above 1,000 nodes."
        ),
    ] = None,
) -> None:
    """Render a query's result as one self-contained HTML page (vis-network inlined)."""
    from viewer import graph_from_rows, render_html

    state: State = ctx.obj
    with errors(state):
        check_output_folder(output_path)
        query, _, rows, values = _run(state, name, param)
        group_by = group_by or query.view.get("group-by")
        if group_by not in (None, "name", "group"):
            raise UsageError(f"--group-by takes name or group, not {group_by!r}")
        try:
            graph = graph_from_rows(rows, group_by=group_by)
            page = render_html(
                graph,
                title=title or query.title,
                params=shown_params(query, values),
                subtitle=query.description,
                fold=cluster,
            )
        except ValueError as error:
            raise UsageError(f"{query.name}: {error}") from error
        _write_page(output_path, page)
    out.print(literal(f"wrote {output_path} ({len(graph.nodes):,} nodes, {len(graph.edges):,} edges)"))
    if open_page:
        webbrowser.open(output_path.resolve().as_uri())


def _write_page(path: Path, page: str) -> None:
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error


def pseudonym_doubts(state: State, addresses: list[str]) -> tuple[list[str], bool]:
    """Why each of `addresses` cannot be a pseudonym of the graph, and whether the graph could be asked.

    Any address "reveals" to some address, so only the graph tells a pseudonym from a real address."""
    import ipaddress

    from etl.errors import StoreError
    from etl.graph import cypher
    from etl.graph.store import open_store

    canonical = {address: str(ipaddress.ip_address(address)) for address in addresses}  # the graph's spelling
    try:
        with open_store(state.settings) as store:
            _, rows = store.query(cypher.ADDRESS_KINDS, {"ids": sorted(set(canonical.values()))})
    except StoreError as error:
        return [f"cannot check that these are pseudonyms of the graph: {error}"], False
    held = {row["id"]: row for row in rows}
    doubts = []
    for address, key in canonical.items():
        row = held.get(key) or {}
        if not row.get("held"):
            doubts.append(f"{address} is not an address in the graph, so not one of its pseudonyms")
        elif row.get("pseudonymized"):
            continue
        elif row.get("name"):
            doubts.append(f"{address} is not a pseudonym: the graph holds it as the real address of {row['name']!r}")
        else:
            doubts.append(f"{address} is not a pseudonym: the graph holds it as a real address")
    return doubts, True
