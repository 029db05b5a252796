"""Which network a private address belongs to: what makes 10.0.3.30 of one VPC another node than
10.0.3.30 of the next.

VPCs that do not route to each other may use the same private ranges (most start from 10.0.0.0/16),
so a private address (scope `vpc` or `private`) is identified by its network and its IP. The network
is, the first that applies:

1. the VPC whose CIDR holds it, from the known-ips entries with `role: vpc` that say their `vpc` or
   `account` (`known-ips discover` writes both). Where several do (overlapping VPCs), the one of the
   interface that logged the record, else the one of its account;
2. the VPC of the interface that logged the record (`vpc-id`, version 3 and later);
3. its account (`account-id`, or the account folder of the file's S3 key);
4. none: the address is its IP alone, as for every public address.

A peered VPC's address logged by its neighbour resolves to its own VPC by rule 1 when the inventory
knows it, and to the logging VPC by rule 2 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from etl.known_ips import Known

NAMESPACED_SCOPES = frozenset({"vpc", "private"})


@dataclass(frozen=True)
class Network:
    vpc: str | None = None
    account: str | None = None

    @property
    def id(self) -> str | None:
        """What qualifies an address of the network: its VPC, else its account."""
        return self.vpc or self.account


NO_NETWORK = Network()


def network_of(scope: str | None, holding: Sequence[Known], vpc: str | None, account: str | None) -> Network:
    """The network of an address of `scope`, given the VPC entries whose CIDR holds it (`holding`) and
    the logging interface's `vpc` and `account`."""
    if scope not in NAMESPACED_SCOPES:
        return NO_NETWORK
    placed = {Network(k.vpc, k.account) for k in holding if k.vpc or k.account}
    for same in (lambda n: vpc is not None and n.vpc == vpc, lambda n: account is not None and n.account == account):
        if len(own := {n for n in placed if same(n)}) == 1:
            return own.pop()
    if len(placed) == 1:
        return placed.pop()
    return Network(vpc, account)


def qualified(network_id: str | None, address_id: str, holder: str | None = None) -> str:
    """An address's key: `vpc-0abc/10.0.3.30` in a network, its id alone outside any, and `@holder` for
    one of an address's holders in turn. The network and the holder come from data (a record's
    vpc-id, an EC2 Name tag): escaped, neither can reach into the separators of the key or of an
    edge's key (`/`, `@`, `|`)."""
    key = f"{_escaped(network_id)}/{address_id}" if network_id else address_id
    return f"{key}@{_escaped(holder)}" if holder else key


def _escaped(part: str) -> str:
    return quote(part, safe="-_.~:")  # AWS ids and account numbers stay as they are
