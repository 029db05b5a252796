"""The `vpcflow` command: options in, one library call, library errors as one sentence and an exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from etl import logs
from etl.cli.athena import athena_app
from etl.cli.changes import alerts, diff, watch
from etl.cli.common import State, errors
from etl.cli.graph import db_app, query_app, view
from etl.cli.load import demo, load, parse
from etl.cli.names import known_ips_app, reveal
from etl.cli.policy import audit_app, check
from etl.config import Settings, resolve_settings

# Local variables in a traceback would print settings, keys and passwords (typer shows them by default).
app = typer.Typer(
    no_args_is_help=True,
    help="Turn AWS VPC Flow Logs into a graph you can query and look at.",
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_app, name="db")
app.add_typer(query_app, name="query")
app.add_typer(known_ips_app, name="known-ips")
app.add_typer(audit_app, name="audit")
app.add_typer(athena_app, name="athena")
for command in (view, load, parse, demo, reveal, check, diff, watch, alerts):
    app.command()(command)


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
    flags = {"home": home, "neo4j_uri": neo4j_uri, "neo4j_user": neo4j_user, "neo4j_database": neo4j_database}
    state = State(Settings(), debug)
    with errors(state):
        state.settings = resolve_settings(flags)
    ctx.obj = state


def main() -> NoReturn:
    app()  # exits itself: Typer turns Ctrl-C outside a load's own handling into exit 130
    raise SystemExit(0)
