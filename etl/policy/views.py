"""Findings as a page: the conversations they are about drawn as a graph, the findings in its side panel."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from etl.policy.audit import Audit, describe_rule
from etl.policy.check import Findings
from etl.policy.observed import Conversation
from viewer.graph import edge_index, graph_from_rows
from viewer.render import render_html

Panel = list[tuple[str, list[tuple[str, Sequence[Conversation]]]]]  # heading -> (text, the edges it is about)


def check_page(findings: Findings, *, title: str, params: dict[str, object]) -> str:
    violations = set(findings.violations)
    rows = [c.row("violation: no allow rule covers it" if c in violations else None) for c in findings.guarded]
    panel: Panel = [
        ("Violations", [(c.describe(), [c]) for c in findings.violations]),
        ("Missing", [(f"expect {r.number} (line {r.line}): {_written(r.written)}", []) for r in findings.missing]),
        (
            "Unused rules",
            [(f"allow {r.number} (line {r.line}): {_written(r.written)}", []) for r in findings.unused_rules],
        ),
        ("Rejected attempts", [(c.describe(), [c]) for c in findings.rejected]),
    ]
    subtitle = "Conversations into the guarded addresses; violations in amber."
    return _page(rows, panel, title=title, subtitle=subtitle, params=params)


def audit_page(result: Audit, *, title: str, params: dict[str, object]) -> str:
    wide = {c: f"carried by a wide rule: {describe_rule(u)}" for u in result.wide for c in u.carried}
    shown = _distinct([c for u in result.uses for c in u.carried] + [c for r in result.refusals for c in r.refused])
    panel: Panel = [
        ("Wide rules used narrowly", [(describe_rule(u), u.carried) for u in result.wide]),
        ("Rules with no traffic", [(describe_rule(u), []) for u in result.unused]),
        ("Refused at groups", [(f"{r.group.id} {r.group.name or ''}: {sum(c.count for c in r.refused):,} records refused", r.refused)
                               for r in result.refusals]),
    ]  # fmt: skip
    subtitle = "Conversations the security groups carried or refused; those of wide rules used narrowly in amber."
    return _page([c.row(wide.get(c)) for c in shown], panel, title=title, subtitle=subtitle, params=params)


def _page(rows: list[dict[str, Any]], panel: Panel, *, title: str, subtitle: str, params: dict[str, object]) -> str:
    graph = graph_from_rows(rows)
    index = edge_index(graph)
    findings: list[dict[str, object]] = [
        {
            "title": heading,
            "items": [{"text": text, "edges": [index[c.edge_key()] for c in about]} for text, about in items],
        }
        for heading, items in panel
        if items
    ]
    return render_html(graph, title=title, params=params, subtitle=subtitle, findings=findings)


def _distinct(conversations: Iterable[Conversation]) -> list[Conversation]:
    return list(dict.fromkeys(conversations))


def _written(rule: dict[str, Any]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in rule.items())
