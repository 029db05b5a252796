"""The commands about who is who: `known-ips discover`, and `reveal` of pseudonyms."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from etl.cli.common import State, err, errors
from etl.cli.display import literal
from etl.cli.graph import pseudonym_doubts
from etl.cli.selection import ProfileOption
from etl.errors import UsageError

known_ips_app = typer.Typer(no_args_is_help=True, help="Known addresses: discover them from an AWS account.")


@known_ips_app.command("discover")
def known_ips_discover(
    ctx: typer.Context,
    profile: ProfileOption = None,
    region: Annotated[str | None, typer.Option(help="The region to describe [env: AWS_REGION]")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="EC2-compatible endpoint (testing).")] = None,
    output_path: Annotated[Path | None, typer.Option("--output", "-o", help="Write the YAML here.")] = None,
    into: Annotated[
        Path | None, typer.Option(help="Merge into this inventory file (created if missing), with each entry's span.")
    ] = None,
) -> None:
    """Name every network interface's addresses, VPC and subnet of a region, as a known-ips YAML file.

    With --into, the file is an inventory kept over runs: each entry has `from` and `to`, the first
    and last run that saw it. An address held by something new gets a new entry; the old one keeps
    its span, and so do entries no longer seen. Entries without `from` and `to` are left as written.
    The file is replaced whole (mode 0600, comments dropped); stderr counts the entries seen again,
    new, and gone since the previous run over the same VPCs.
    """
    from etl.discover import discover_known_ips, make_ec2_client
    from etl.inventory import update_inventory
    from etl.known_ips import to_yaml, write_yaml

    state: State = ctx.obj
    with errors(state):
        if into is not None and output_path is not None:
            raise UsageError("--into merges into an inventory and --output writes a new file: give one of them")
        now = datetime.now(UTC)  # the snapshot's time, for every entry of this run
        client = make_ec2_client(
            profile or state.settings.aws_profile, region or state.settings.aws_region, endpoint_url
        )
        entries = discover_known_ips(client)
        if into is not None:
            merged = update_inventory(into, entries, now)
            err.print(
                literal(f"{into}: {merged.seen:,} entries seen again, {merged.new:,} new, {merged.gone:,} gone"),
                highlight=False,
            )
            return
        if output_path is None:
            sys.stdout.write(to_yaml(entries))
            return
        write_yaml(entries, output_path)
    err.print(f"wrote {len(entries):,} entries to {output_path}", highlight=False)


def reveal(
    ctx: typer.Context,
    pseudonyms: Annotated[
        list[str], typer.Argument(help="Pseudonymized addresses, addresses of a network (vpc-…/…), or AWS ids.")
    ],
) -> None:
    """The real address behind each pseudonym (needs the key the pseudonyms were made with).

    Prints PSEUDONYM, a tab, the real address. An address of a network (`vpc-0abc/97.68.175.5`, from
    `--pseudonymize all`) reveals both parts, and so does a holder's interface after `@`; an account,
    VPC, subnet or interface id alone reveals to the real id. Any address reveals to some address, so the graph is asked too: an
    input it does not hold as a pseudonym (a named or real address, or one it never saw) still gets
    its line, with a warning on stderr, and the exit status is 1. When the graph cannot be reached,
    a warning says so and the exit status is 0.
    """
    from etl.id_pseudonyms import IdPseudonymizer, is_resource_id
    from etl.pseudonymize import KEY_FILE, Pseudonymizer, existing_key

    state: State = ctx.obj
    with errors(state):
        key = existing_key(state.settings.home, state.settings.key)
        if key is None:
            raise UsageError(
                f"no pseudonym key: set VPCFLOW_KEY, or use the state directory whose {KEY_FILE} made them"
            )
        pseudonymizer, ids = Pseudonymizer(key), IdPseudonymizer(key)
        lines, addresses = [], []
        for pseudonym in pseudonyms:
            # A key: [network/]address[@holder], the holder an interface id (or a name, kept as it is).
            # A view or a table marks a pseudonym with a leading "~": pasted from there, it reveals too.
            node, at, holder = pseudonym.removeprefix("~").partition("@")
            network, _, address = node.rpartition("/")
            if is_resource_id(node):
                real = ids.reveal(node)
            elif network and is_resource_id(network):
                real = f"{ids.reveal(network)}/{pseudonymizer.reveal(address)}"
                addresses.append(address)
            else:
                real = pseudonymizer.reveal(node)
                addresses.append(node)
            if at:
                real += f"@{ids.reveal(holder) if is_resource_id(holder) else holder}"
            lines.append(f"{pseudonym}\t{real}\n")
    doubts, checked = pseudonym_doubts(state, addresses) if addresses else ([], False)
    sys.stdout.write("".join(lines))
    for doubt in doubts:
        err.print(literal(f"warning: {doubt}"), highlight=False)
    raise typer.Exit(1 if checked and doubts else 0)
