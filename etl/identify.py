"""Who is who: each real address becomes the id the graph shows, with its name, group, role and scope.

Scope is decided on the real address. A named address (the longest known-ips entry holding it, other
than a VPC's CIDR, which only sets the scope) keeps its real IP; the rest are replaced by their
keyed, prefix-preserving pseudonyms, unless the mode says otherwise:
`unknown` (default) pseudonymizes the unnamed, `all` every address, `none` none. With
`--public-prefix`, unnamed public addresses are folded into one node per prefix (PublicPrefixes).

A private address also gets its network (etl/networks.py), which makes its key (`vpc-0abc/10.0.3.30`)
and is looked up in known-ips among that network's entries. With `all`, the account, VPC, subnet and
interface ids are replaced by keyed pseudonyms of the same shape (etl/id_pseudonyms.py) too.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from etl.batch import ADDRESS_SCHEMA
from etl.classify import Classifier, load_aws_ip_ranges
from etl.errors import UsageError
from etl.id_pseudonyms import IdPseudonymizer
from etl.known_ips import VPC_ROLE, Known, KnownIPs
from etl.networks import NAMESPACED_SCOPES, NO_NETWORK, network_of, qualified
from etl.pseudonymize import Pseudonymizer, existing_key, load_or_create_key

MODES = ("unknown", "all", "none")
# What `Naming.identities` says of each address: an Address node's properties but first/last seen.
IDENTITY_SCHEMA = pa.schema(
    ADDRESS_SCHEMA.field(name) for name in ADDRESS_SCHEMA.names if name not in ("first_seen", "last_seen")
)
Logged = tuple[str | None, str | None, int | None]  # the logging interface's vpc-id and account-id, the era


@dataclass(frozen=True)
class PublicPrefixes:
    """How many leading bits of an unnamed public address the graph keeps (IPv4, IPv6); None keeps all.

    The internet's long tail (one-off clients, scanners) becomes one node per prefix, its id the
    prefix in CIDR form, so a VPC's edges stop growing with the number of distinct clients."""

    v4: int | None = None
    v6: int | None = None

    def __post_init__(self) -> None:
        for bits, most, option in ((self.v4, 32, "--public-prefix"), (self.v6, 128, "--public-prefix6")):
            if bits is not None and not 1 <= bits <= most:
                raise UsageError(f"{option} takes a prefix length from 1 to {most}, not {bits}")

    def __bool__(self) -> bool:
        return self.v4 is not None or self.v6 is not None

    def prefix(self, address: str) -> str | None:
        """The folded prefix holding `address`, like `203.0.113.0/24`; None when its family is not folded."""
        for bits, family, width in ((self.v4, socket.AF_INET, 32), (self.v6, socket.AF_INET6, 128)):
            if bits is None:
                continue
            try:
                number = int.from_bytes(socket.inet_pton(family, address))
            except (OSError, ValueError):  # the other family (ValueError: an embedded NUL)
                continue
            network = number >> (width - bits) << (width - bits)
            return f"{socket.inet_ntop(family, network.to_bytes(width // 8))}/{bits}"
        return None


@dataclass(frozen=True)
class Naming:
    known: KnownIPs = field(default_factory=KnownIPs)
    classifier: Classifier = field(default_factory=Classifier)
    pseudonymizer: Pseudonymizer | None = None
    mode: str = "none"
    folding: PublicPrefixes = field(default_factory=PublicPrefixes)
    ids: IdPseudonymizer | None = None  # account, VPC, subnet and interface ids, with --pseudonymize all

    def identities(
        self,
        addresses: Sequence[str],
        aws_service: Collection[str] = (),
        logged: Sequence[Logged] | None = None,
        interfaces: Sequence[Interface] | None = None,
    ) -> pa.Table:
        """One row per address, in their order (IDENTITY_SCHEMA): the key and id null for an invalid one.
        `logged` holds, for each, where the interface that logged it is (etl/networks.py) and when
        (the era, KnownIPs.era_time: an address that changed hands is named by its holder then).
        `interfaces` holds what the records say of the interface that logged an address, where they
        tell: the address is then named after that interface (the name follows the interface, not
        the IP), else after its ECS task, and placed in its zone and subnet.

        Python runs here once per distinct address of a file; the edges take the rows by position."""
        scopes = self.classifier.scopes(addresses, aws_service)
        logged = logged or [(None, None, None)] * len(addresses)
        networks = [
            network_of(scope, self.known.vpcs_holding(a), vpc, account) if scope in NAMESPACED_SCOPES else NO_NETWORK
            for a, scope, (vpc, account, _) in zip(addresses, scopes, logged, strict=True)
        ]
        times = [self.known.era_time(era or 0) for _, _, era in logged]
        entries = self.known.lookup_many(addresses, [(n.vpc, n.account) for n in networks], times)
        interfaces = interfaces or [NO_INTERFACE] * len(addresses)
        entries = [
            (self.known.interface(i.eni) if i.eni else None) or entry or i.task()
            for entry, i in zip(entries, interfaces, strict=True)
        ]
        names = [_name(k) for k in entries]
        hidden = [
            scope is not None and (self.mode == "all" or (self.mode == "unknown" and known is None))
            for scope, known in zip(scopes, names, strict=True)
        ]
        shown = list(addresses)
        if self.pseudonymizer is not None and any(hidden):
            at = [i for i, hide in enumerate(hidden) if hide]
            for i, pseudonym in zip(at, self.pseudonymizer.pseudonyms([addresses[i] for i in at]), strict=True):
                shown[i] = pseudonym
        # Folded after pseudonymizing: ipcrypt-pfx keeps a prefix a prefix, so the pseudonyms of one
        # real /N make one pseudonymous /N.
        prefixes = [
            self.folding.prefix(s) if self.folding and scope == "public" and known is None else None
            for s, scope, known in zip(shown, scopes, names, strict=True)
        ]
        ids = [(p or s) if scope else None for s, p, scope in zip(shown, prefixes, scopes, strict=True)]
        places = {
            "vpc": [n.vpc or _place(k, "vpc") for n, k in zip(networks, entries, strict=True)],
            "account": [n.account or _place(k, "account") for n, k in zip(networks, entries, strict=True)],
            **{
                part: [getattr(i, part) or _place(k, part) for k, i in zip(entries, interfaces, strict=True)]
                for part in ("subnet", "az", "eni")
            },
        }
        if (hide := self.ids) is not None:  # zones are AWS's names, the same in every account
            places = {
                part: [hide.pseudonym(v) if v and part != "az" else v for v in values]
                for part, values in places.items()
            }
        network_ids = [
            (vpc or account) if n.id else None
            for n, vpc, account in zip(networks, places["vpc"], places["account"], strict=True)
        ]
        # An address the inventory saw held by several things in turn is one node per holder.
        holders = [
            (places["eni"][at] or k.name) if k is not None and self.known.held_in_turn(k) else None
            for at, k in enumerate(entries)
        ]
        columns = [
            [qualified(n, i, holder) if i else None for n, i, holder in zip(network_ids, ids, holders, strict=True)],
            ids,
            network_ids,
            scopes,
            hidden,
            *([_place(k, part) for k in names] for part in ("name", "group", "role")),
            [p and True for p in prefixes],
            *places.values(),
        ]
        return pa.table(columns, schema=IDENTITY_SCHEMA)


class Interface(NamedTuple):
    """What a record says of the interface that logged an address (aggregate.INTERFACE_FIELDS)."""

    eni: str | None = None
    az: str | None = None
    subnet: str | None = None
    ecs_service: str | None = None
    ecs_task: str | None = None
    ecs_cluster: str | None = None

    def task(self) -> Known | None:
        """An ECS task's interface (version 7 fields) as a name: its service, else its task id."""
        name = self.ecs_service or (self.ecs_task and f"ecs-task {self.ecs_task}")
        return Known(name, self.ecs_cluster, "ecs-task") if name else None


NO_INTERFACE = Interface()


def _place(known: Known | None, part: str) -> str | None:
    return getattr(known, part) if known else None


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
    folding: PublicPrefixes | None = None,
) -> tuple[Naming, Path | None]:
    """The run's naming, and the path of a pseudonym key created just now (to tell the user once).

    Without `save_key` (a dry run writes nothing) a missing key is replaced by a throwaway one."""
    if mode not in MODES:
        raise UsageError(f"--pseudonymize takes one of {', '.join(MODES)}, not {mode!r}")
    known = KnownIPs.load(known_ips) if known_ips else KnownIPs()
    aws = load_aws_ip_ranges(aws_ip_ranges) if aws_ip_ranges else []
    created = None
    pseudonymizer = ids = None
    if mode != "none":
        if save_key:
            secret, created = load_or_create_key(home, key)
        else:
            secret = existing_key(home, key) or secrets.token_bytes(32)
        pseudonymizer = Pseudonymizer(secret)
        ids = IdPseudonymizer(secret) if mode == "all" else None
    classifier = Classifier(known.vpc_networks, aws)
    return Naming(known, classifier, pseudonymizer, mode, folding or PublicPrefixes(), ids), created
