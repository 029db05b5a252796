"""Who is who: each real address becomes the id the graph shows, with its name, group, role and scope.

Scope is decided on the real address. A named address (the longest known-ips entry holding it, other
than a VPC's CIDR, which only sets the scope) keeps its real IP; the rest are replaced by their
keyed, prefix-preserving pseudonyms, unless the mode says otherwise:
`unknown` (default) pseudonymizes the unnamed, `all` every address, `none` none.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from etl.classify import Classifier, load_aws_ip_ranges
from etl.errors import UsageError
from etl.known_ips import VPC_ROLE, Known, KnownIPs
from etl.pseudonymize import Pseudonymizer, existing_key, load_or_create_key

MODES = ("unknown", "all", "none")


@dataclass(frozen=True)
class Identity:
    id: str
    scope: str
    pseudonymized: bool
    name: str | None = None
    group: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Naming:
    known: KnownIPs = field(default_factory=KnownIPs)
    classifier: Classifier = field(default_factory=Classifier)
    pseudonymizer: Pseudonymizer | None = None
    mode: str = "none"

    def identities(self, addresses: Sequence[str], aws_service: Collection[str] = ()) -> dict[str, Identity]:
        """Real address -> identity, for every valid address; invalid ones are left out."""
        scopes = self.classifier.scopes(addresses, aws_service)
        names = [_name(k) for k in self.known.lookup_many(addresses)]
        hidden = [
            scope is not None and (self.mode == "all" or (self.mode == "unknown" and known is None))
            for scope, known in zip(scopes, names, strict=True)
        ]
        shown = dict(zip(addresses, addresses, strict=True))
        if self.pseudonymizer is not None and any(hidden):
            secret = [a for a, h in zip(addresses, hidden, strict=True) if h]
            shown.update(zip(secret, self.pseudonymizer.pseudonyms(secret), strict=True))
        return {
            address: Identity(
                shown[address],
                scope,
                hide,
                known.name if known else None,
                known.group if known else None,
                known.role if known else None,
            )
            for address, scope, known, hide in zip(addresses, scopes, names, hidden, strict=True)
            if scope is not None
        }


def _name(known: Known | None) -> Known | None:
    return None if known is None or known.role == VPC_ROLE else known


def build_naming(
    home: Path,
    key: str | None,
    known_ips: Path | None,
    mode: str,
    aws_ip_ranges: Path | None = None,
    *,
    save_key: bool = True,
) -> tuple[Naming, Path | None]:
    """The run's naming, and the path of a pseudonym key created just now (to tell the user once).

    Without `save_key` (a dry run writes nothing) a missing key is replaced by a throwaway one."""
    if mode not in MODES:
        raise UsageError(f"--pseudonymize takes one of {', '.join(MODES)}, not {mode!r}")
    known = KnownIPs.load(known_ips) if known_ips else KnownIPs()
    aws = load_aws_ip_ranges(aws_ip_ranges) if aws_ip_ranges else []
    created = None
    pseudonymizer = None
    if mode != "none":
        if save_key:
            secret, created = load_or_create_key(home, key)
        else:
            secret = existing_key(home, key) or secrets.token_bytes(32)
        pseudonymizer = Pseudonymizer(secret)
    return Naming(known, Classifier(known.vpc_networks, aws), pseudonymizer, mode), created
