"""The findings of `check` and `audit` as terminal tables. Pure: returns renderables."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text

from etl.cli.display import literal
from etl.cli.output import as_table
from etl.policy.audit import Audit
from etl.policy.check import Findings

CONVERSATION_COLUMNS = ["client", "client_name", "server", "server_name", "port", "protocol", "count", "packets",
                        "bytes", "first_seen", "last_seen"]  # fmt: skip
RULE_COLUMNS = ["number", "line", "from", "to", "ports", "protocol"]
GROUP_RULE_COLUMNS = ["group", "group_name", "protocol", "ports", "peer", "description"]
TRAFFIC_COLUMNS = ["conversations", "peers", "count", "packets", "bytes"]


def _section(title: str, columns: list[str], rows: list[dict[str, Any]]) -> RenderableType:
    if not rows:
        return Text.assemble((title, "bold"), ": none")
    return as_table(columns, rows, f"{title} ({len(rows):,})")


def check_tables(findings: Findings) -> list[RenderableType]:
    document = findings.as_json()
    return [
        _section("Violations", CONVERSATION_COLUMNS, document["violations"]),
        _section("Unused allow rules", RULE_COLUMNS, document["unused_rules"]),
        _section("Missing expected flows", RULE_COLUMNS, document["missing"]),
        _section("Rejected attempts", CONVERSATION_COLUMNS, document["rejected"]),
    ]


def audit_tables(result: Audit) -> list[RenderableType]:
    document = result.as_json()
    wide = [
        row | {"narrower": _narrower(row["narrower"]), "observed": ", ".join(sorted(p.label for p in use.peers))}
        for row, use in zip(document["wide_rules"], result.wide, strict=True)
    ]
    tables = [
        _section("Rules and what they carried", GROUP_RULE_COLUMNS + TRAFFIC_COLUMNS, document["rules"]),
        _section("Rules with no traffic", GROUP_RULE_COLUMNS, document["unused_rules"]),
        _section("Wide rules used narrowly", [*GROUP_RULE_COLUMNS, "peers", "observed", "narrower"], wide),
        _section("Refused at groups", ["group", "group_name", *TRAFFIC_COLUMNS], document["rejected"]),
    ]
    if result.unresolved:
        count = len(result.unresolved)
        tables.append(literal(f"{count:,} rules admit a prefix list, which the audit does not resolve: not counted"))
    return tables


def _narrower(suggestion: dict[str, Any]) -> str:
    ports = f"/{suggestion['ports']}" if suggestion["ports"] else ""
    return f"{suggestion['protocol']}{ports} from {', '.join(suggestion['peers'])}"
