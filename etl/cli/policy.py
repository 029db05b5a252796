"""Expected versus observed: `check POLICY.yaml` and `audit security-groups`.

Exit status 4 says the check found something (violations or missing flows; with `audit --fail-on`, the
kinds asked for), so cron and CI can act; 1 and 2 keep their meaning (a failure; a usage error)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import RenderableType

from etl.changes.windows import Window, window_of
from etl.cli.common import State, check_format, check_output_folder, err, errors, out
from etl.cli.display import literal
from etl.cli.selection import EndOption, ProfileOption, StartOption
from etl.errors import UsageError
from etl.policy.audit import FAIL_ON, Audit
from etl.policy.audit import audit as audit_groups
from etl.policy.check import Findings
from etl.policy.check import check as check_policy
from etl.policy.groups import GroupInventory
from etl.policy.rules import Vocabulary, read_policy

if TYPE_CHECKING:
    from etl.graph.store import GraphStore
    from etl.policy.observed import Conversation, End

FOUND = 4
FORMATS = ("table", "json")
audit_app = typer.Typer(no_args_is_help=True, help="Audit configuration against the traffic the graph saw.")

FormatOption = Annotated[str, typer.Option("--format", "-f", help="table or json.")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Also write the findings as an HTML view here.")
]


def vocabulary_of(names: Iterable[str | None], groups: Iterable[str | None], known_ips: Path | None) -> Vocabulary:
    """The names and groups a policy or rules file may use: the graph's, and those of the known-ips file."""
    from etl.known_ips import KnownIPs

    listed = KnownIPs.load(known_ips).entries if known_ips else []
    return Vocabulary(
        {n for n in names if n} | {e["name"] for e in listed if e.get("name")},
        {g for g in groups if g} | {e["group"] for e in listed if e.get("group")},
    )


def _observe(state: State, store: GraphStore, window: Window) -> tuple[list[End], list[Conversation], bool]:
    """The graph's addresses and the window's conversations, with pseudonyms revealed when the key is at
    hand (CIDRs are matched against real addresses); and whether every address is real now."""
    from etl.policy.observed import observe
    from etl.pseudonymize import Pseudonymizer, existing_key

    key = existing_key(state.settings.home, state.settings.key)
    ends, conversations = observe(store, window.start, window.end, Pseudonymizer(key).reveals if key else None)
    return ends, conversations, key is not None or not any(e.pseudonymized for e in ends)


def _require_real(real: bool) -> None:
    from etl.pseudonymize import KEY_FILE

    if not real:
        raise UsageError(
            "CIDRs are matched against real addresses and the graph holds pseudonyms: set VPCFLOW_KEY, or use "
            f"the state directory whose {KEY_FILE} made them"
        )


def _emit(document: dict[str, object], format: str, tables: Callable[[], list[RenderableType]]) -> None:
    if format == "json":
        sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")
        return
    for table in tables():
        out.print(table)


def _tables(result: Findings | Audit) -> list[RenderableType]:
    from etl.cli import findings  # tables of driver values: the neo4j driver, a quarter of a second to import

    return findings.check_tables(result) if isinstance(result, Findings) else findings.audit_tables(result)


def _write(path: Path | None, page: Callable[[], str]) -> None:
    if path is None:
        return
    try:
        path.write_text(page(), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error
    except ValueError as error:  # nothing to draw
        raise UsageError(f"{path}: {error}") from error
    err.print(literal(f"wrote {path}"), highlight=False)


def check(
    ctx: typer.Context,
    policy_path: Annotated[Path, typer.Argument(metavar="POLICY.yaml", help="The policy: guard, allow, expect.")],
    start: StartOption = None,
    end: EndOption = None,
    known_ips: Annotated[
        Path | None, typer.Option(help="Known-ips YAML whose names the policy may use [env: VPCFLOW_KNOWN_IPS]")
    ] = None,
    format: FormatOption = "table",
    output_path: OutputOption = None,
) -> None:
    """Check a policy against the conversations the graph saw: violations, unused rules, missing flows.

    A conversation (client, server, service port, protocol) is counted once whether the logs hold its
    requests, its replies or both. A violation is an ACCEPTed conversation into a guarded address that
    no allow rule covers; REJECTed ones are listed apart. Edges seen in the window count whole. Exit
    status 4 when there are violations or missing flows.
    """
    from etl.graph.store import open_store

    state: State = ctx.obj
    with errors(state):
        check_format(format, FORMATS)
        check_output_folder(output_path)
        window = window_of(start, end, "--start must be before --end")
        with open_store(state.settings) as store:
            ends, conversations, real = _observe(state, store, window)
        vocabulary = vocabulary_of(
            [e.name for e in ends], [e.group for e in ends], known_ips or state.settings.known_ips
        )
        policy = read_policy(policy_path, vocabulary)
        if policy.names_cidrs:
            _require_real(real)
        findings = check_policy(policy, conversations)
        _emit(findings.as_json(), format, lambda: _tables(findings))
        _write(output_path, lambda: _check_page(findings, policy_path, window))
    err.print(
        literal(
            f"{len(conversations):,} conversations {window.described()}, {len(findings.guarded):,} into guarded addresses: "
            f"{len(findings.violations):,} violations, {len(findings.unused_rules):,} unused rules, "
            f"{len(findings.missing):,} missing, {len(findings.rejected):,} rejected attempts"
            + (f"; {findings.unchecked:,} without an action were not checked" if findings.unchecked else "")
        ),
        highlight=False,
    )
    raise typer.Exit(FOUND if findings.failed else 0)


_VOCABULARY = (
    "MATCH (a:Address) WHERE a.name IS NOT NULL OR a.group IS NOT NULL RETURN DISTINCT a.name AS name, a.group AS group"
)


def _check_page(findings: Findings, policy_path: Path, window: Window) -> str:
    from etl.policy.views import check_page  # draws with the viewer, which imports the neo4j driver

    return check_page(findings, title=f"check {policy_path.name}", params=window.shown())


@audit_app.command("security-groups")
def audit_security_groups(
    ctx: typer.Context,
    start: StartOption = None,
    end: EndOption = None,
    from_graph: Annotated[
        bool, typer.Option("--from-graph", help="Read the groups from a Cartography graph in the same database.")
    ] = False,
    profile: ProfileOption = None,
    region: Annotated[str | None, typer.Option(help="The region to describe [env: AWS_REGION]")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="EC2-compatible endpoint (testing).")] = None,
    narrow: Annotated[
        int, typer.Option(min=1, help="A wide rule (a /24 or more) used by at most this many peers is used narrowly.")
    ] = 5,
    fail_on: Annotated[
        str | None, typer.Option(help="Exit 4 when these findings occur: unused, wide, or both (comma-separated).")
    ] = None,
    format: FormatOption = "table",
    output_path: OutputOption = None,
) -> None:
    """Hold the security groups against the traffic: what each rule carried, rules with no traffic in
    the window, wide rules used narrowly (and the narrower rule that would do), traffic refused at each
    group. Reads with ec2:DescribeSecurityGroups and ec2:DescribeNetworkInterfaces; changes nothing.
    """
    from etl.graph.store import open_store

    state: State = ctx.obj
    with errors(state):
        check_format(format, FORMATS)
        check_output_folder(output_path)
        kinds = [k.strip() for k in (fail_on or "").split(",") if k.strip()]
        if unknown := [k for k in kinds if k not in FAIL_ON]:
            raise UsageError(f"--fail-on takes {' and '.join(FAIL_ON)}, not {', '.join(map(repr, unknown))}")
        window = window_of(start, end, "--start must be before --end")
        with open_store(state.settings) as store:
            inventory = _inventory(state, store, from_graph, profile, region, endpoint_url)
            ends, conversations, real = _observe(state, store, window)
        _require_real(real)
        result = audit_groups(inventory, ends, conversations, narrow)
        _emit(result.as_json() | {"window": window.as_json()}, format, lambda: _tables(result))
        _write(output_path, lambda: _audit_page(result, window))
    err.print(
        literal(
            f"{len(inventory.groups):,} groups, {len(result.uses):,} inbound rules, {len(conversations):,} "
            f"conversations {window.described()}: {len(result.unused):,} rules with no traffic, {len(result.wide):,} wide rules used "
            f"narrowly, {len(result.refusals):,} groups refused traffic"
        ),
        highlight=False,
    )
    raise typer.Exit(FOUND if result.failed(kinds) else 0)


def _inventory(
    state: State,
    store: GraphStore,
    from_graph: bool,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
) -> GroupInventory:
    if from_graph:
        if profile or region or endpoint_url:
            raise UsageError(
                "--from-graph reads the groups from the graph: --profile, --region and --endpoint-url are for EC2"
            )
        from etl.policy.cartography import read_cartography

        return read_cartography(store)
    from etl.discover import make_ec2_client
    from etl.policy.ec2_groups import read_security_groups

    client = make_ec2_client(profile or state.settings.aws_profile, region or state.settings.aws_region, endpoint_url)
    return read_security_groups(client)


def _audit_page(result: Audit, window: Window) -> str:
    from etl.policy.views import audit_page

    return audit_page(result, title="audit security-groups", params=window.shown())
