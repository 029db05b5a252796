"""A policy held against the window's conversations: what it forbids that happened, what it expects that did not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from etl.policy.observed import Conversation
from etl.policy.rules import Policy, Rule

ACCEPT, REJECT = "ACCEPT", "REJECT"


@dataclass(frozen=True)
class Findings:
    violations: tuple[Conversation, ...]  # ACCEPTed into a guarded address, no allow rule covers it
    unused_rules: tuple[Rule, ...]  # allow rules no ACCEPTed conversation matched
    missing: tuple[Rule, ...]  # expect entries no ACCEPTed conversation matched
    rejected: tuple[Conversation, ...]  # REJECTed attempts into guarded addresses: stopped, so no violation
    guarded: tuple[Conversation, ...]  # every conversation into a guarded address, for the view
    unchecked: int  # conversations whose records have no action: neither allowed nor refused

    @property
    def failed(self) -> bool:
        """What exit status 4 reports: traffic the policy forbids, or traffic it expects and did not see."""
        return bool(self.violations or self.missing)

    def as_json(self) -> dict[str, Any]:
        return {
            "violations": [c.entry() for c in self.violations],
            "unused_rules": [r.entry() for r in self.unused_rules],
            "missing": [r.entry() for r in self.missing],
            "rejected": [c.entry() for c in self.rejected],
        }


def check(policy: Policy, conversations: list[Conversation]) -> Findings:
    accepted = [c for c in conversations if c.action == ACCEPT]
    guarded = tuple(c for c in conversations if c.action in (ACCEPT, REJECT) and policy.guards(c.server))
    return Findings(
        violations=tuple(c for c in guarded if c.action == ACCEPT and not any(rule.covers(c) for rule in policy.allow)),
        unused_rules=tuple(rule for rule in policy.allow if not any(rule.covers(c) for c in accepted)),
        missing=tuple(rule for rule in policy.expect if not any(rule.covers(c) for c in accepted)),
        rejected=tuple(c for c in guarded if c.action == REJECT),
        guarded=guarded,
        unchecked=sum(1 for c in conversations if c.action not in (ACCEPT, REJECT)),
    )
