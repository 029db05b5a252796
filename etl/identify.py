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

import pyarrow as pa

from etl.batch import ADDRESS_SCHEMA
from etl.classify import Classifier, load_aws_ip_ranges
from etl.errors import UsageError
from etl.known_ips import VPC_ROLE, Known, KnownIPs
from etl.pseudonymize import Pseudonymizer, existing_key, load_or_create_key

MODES = ("unknown", "all", "none")
# What `Naming.identities` says of each address: an Address node's properties but first/last seen.
IDENTITY_SCHEMA = pa.schema(
    ADDRESS_SCHEMA.field(name) for name in ("id", "scope", "pseudonymized", "name", "group", "role")
)


@dataclass(frozen=True)
class Naming:
    known: KnownIPs = field(default_factory=KnownIPs)
    classifier: Classifier = field(default_factory=Classifier)
    pseudonymizer: Pseudonymizer | None = None
    mode: str = "none"

    def identities(self, addresses: Sequence[str], aws_service: Collection[str] = ()) -> pa.Table:
        """One row per address, in their order (IDENTITY_SCHEMA): the id null for an invalid one.

        Python runs here once per distinct address of a file; the edges take the rows by position."""
        scopes = self.classifier.scopes(addresses, aws_service)
        names = [_name(k) for k in self.known.lookup_many(addresses)]
        hidden = [
            scope is not None and (self.mode == "all" or (self.mode == "unknown" and known is None))
            for scope, known in zip(scopes, names, strict=True)
        ]
        shown = list(addresses)
        if self.pseudonymizer is not None and any(hidden):
            at = [i for i, hide in enumerate(hidden) if hide]
            for i, pseudonym in zip(at, self.pseudonymizer.pseudonyms([addresses[i] for i in at]), strict=True):
                shown[i] = pseudonym
        columns = [
            [s if scope else None for s, scope in zip(shown, scopes, strict=True)],
            scopes,
            hidden,
            *([getattr(k, part) if k else None for k in names] for part in ("name", "group", "role")),
        ]
        return pa.table(columns, schema=IDENTITY_SCHEMA)


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
    classifier = Classifier(known.vpc_networks, aws)
    return Naming(known, classifier, pseudonymizer, mode), created
