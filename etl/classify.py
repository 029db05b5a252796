"""What kind of endpoint an address is, decided on the real address before any pseudonym.

Scopes, the first that applies wins:

- `special`: link-local (including the instance metadata service 169.254.169.254, and fe80::/10),
  loopback, multicast, unspecified, limited broadcast. They mean the same in every network, so no
  configuration can make them anything else.
- `vpc`: inside a VPC CIDR the known-ips file declares (`role: vpc`). It is the user's own address
  space: an AWS-managed interface in it (a VPC endpoint, a load balancer node) is still part of the VPC.
- `aws-service`: flagged by a record's pkt-src-aws-service / pkt-dst-aws-service field, or inside a
  prefix of an AWS ip-ranges.json. More specific than the private/public split that follows.
- `private`: RFC 1918, RFC 6598 (carrier-grade NAT) and IPv6 ULA fc00::/7 outside any declared VPC
  (a peered VPC, on-premises). Python's `is_private` also covers documentation ranges, which a VPC
  sees as public, so the networks are listed here.
- `public`: everything else.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.errors import UsageError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
V = TypeVar("V")

# AMAZON lists all of Amazon's space and EC2 all of EC2's public addresses, so either would make
# every EC2 instance an "AWS service"; the other services' prefixes are the services themselves.
AWS_RANGES_EXCLUDED = frozenset({"AMAZON", "EC2"})


def address_number(text: str) -> tuple[int, int] | None:
    """(4 or 6, the address as an integer), or None when `text` is not an IP address."""
    for version, family in ((4, socket.AF_INET), (6, socket.AF_INET6)):
        try:
            return version, int.from_bytes(socket.inet_pton(family, text))
        except (OSError, ValueError):  # ValueError: an embedded NUL
            continue
    return None


# A dotted quad as inet_pton reads one: four decimal octets up to 255, none with a leading zero.
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = rf"^{_OCTET}(?:\.{_OCTET}){{3}}$"


def ipv4_numbers(addresses: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which of the addresses are IPv4 (a bool mask), and those addresses as integers, in one
    vectorised pass: a file's tens of thousands of distinct internet addresses cost Python per
    address otherwise. The others (IPv6, no address at all) are left to `address_number`."""
    texts = pa.array(addresses, pa.string())
    v4 = pc.fill_null(pc.match_substring_regex(texts, _DOTTED_QUAD), False)
    octets = pc.cast(pc.list_flatten(pc.split_pattern(texts.filter(v4), ".")), pa.uint32())
    quads = octets.to_numpy(zero_copy_only=False).reshape(-1, 4)
    numbers = quads[:, 0] << 24 | quads[:, 1] << 16 | quads[:, 2] << 8 | quads[:, 3]
    return v4.to_numpy(zero_copy_only=False), numbers.astype(np.uint64)


class PrefixTable(Generic[V]):
    """Longest-prefix match: one dict probe per distinct prefix length, longest first."""

    def __init__(self, items: Iterable[tuple[IPNetwork, V]]) -> None:
        tables: dict[tuple[int, int], dict[int, V]] = {}
        for network, value in items:
            shift = network.max_prefixlen - network.prefixlen
            tables.setdefault((network.version, shift), {})[int(network.network_address) >> shift] = value
        self._probes = {
            version: [(shift, tables[version, shift]) for v, shift in sorted(tables) if v == version]
            for version in (4, 6)
        }
        self._v4_prefixes = [
            (np.uint64(shift), np.fromiter(table, np.uint64, len(table))) for shift, table in self._probes[4]
        ]

    def holds_v4(self, numbers: np.ndarray) -> np.ndarray:
        """Whether any prefix holds each IPv4 address (as `ipv4_numbers` gives them), for all at once."""
        held = np.zeros(len(numbers), bool)
        for shift, prefixes in self._v4_prefixes:
            held |= np.isin(numbers >> shift, prefixes)
        return held

    def match(self, version: int, number: int) -> V | None:
        return next(self.matches(version, number), None)

    def matches(self, version: int, number: int) -> Iterator[V]:
        """Every value whose prefix holds the address, longest prefix first."""
        for shift, table in self._probes[version]:
            if (value := table.get(number >> shift)) is not None:
                yield value


def _table(networks: Iterable[str | IPNetwork]) -> PrefixTable[bool]:
    return PrefixTable((ipaddress.ip_network(n), True) for n in networks)


_SPECIAL = _table(
    ("0.0.0.0/32", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
     "::/128", "::1/128", "fe80::/10", "ff00::/8")
)  # fmt: skip
_PRIVATE = _table(("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))


class Classifier:
    """Scopes for addresses, given the VPC CIDRs and the AWS service prefixes (both may be empty)."""

    def __init__(self, vpc_networks: Iterable[IPNetwork] = (), aws_networks: Iterable[IPNetwork] = ()) -> None:
        self._vpc = _table(vpc_networks)
        self._aws = _table(aws_networks)

    def scope(self, address: str, *, aws_service: bool = False) -> str | None:
        """The address's scope; None when `address` is not an IP address."""
        parsed = address_number(address)
        if parsed is None:
            return None
        if _SPECIAL.match(*parsed):
            return "special"
        if self._vpc.match(*parsed):
            return "vpc"
        if aws_service or self._aws.match(*parsed):
            return "aws-service"
        return "private" if _PRIVATE.match(*parsed) else "public"

    def scopes(self, addresses: Sequence[str], aws_service: Collection[str] = frozenset()) -> list[str | None]:
        """`scope` of each address; `aws_service` holds those a record flagged as an AWS service.
        IPv4 addresses are decided together, by the same rules in the same order."""
        v4, numbers = ipv4_numbers(addresses)
        flagged = np.array([a in aws_service for a in addresses], bool)[v4] if aws_service else False
        decided = np.select(
            [_SPECIAL.holds_v4(numbers), self._vpc.holds_v4(numbers), flagged | self._aws.holds_v4(numbers),
             _PRIVATE.holds_v4(numbers)],
            ["special", "vpc", "aws-service", "private"],
            "public",
        ).tolist()  # fmt: skip
        found = iter(decided)
        return [
            next(found) if is_v4 else self.scope(a, aws_service=a in aws_service)
            for a, is_v4 in zip(addresses, v4.tolist(), strict=True)
        ]


_DEFAULT = Classifier()


def scope_of(text: str) -> str | None:
    """The scope with no VPC CIDRs and no AWS ranges known: `special`, `private` or `public`."""
    return _DEFAULT.scope(text)


def load_aws_ip_ranges(path: Path) -> list[IPNetwork]:
    """The service prefixes of an AWS ip-ranges.json (https://ip-ranges.amazonaws.com/ip-ranges.json).

    A prefix counts when any service other than AMAZON and EC2 lists it (see AWS_RANGES_EXCLUDED).
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = [(e["ip_prefix"], e["service"]) for e in document["prefixes"]]
        entries += [(e["ipv6_prefix"], e["service"]) for e in document["ipv6_prefixes"]]
        networks = {ipaddress.ip_network(prefix) for prefix, service in entries if service not in AWS_RANGES_EXCLUDED}
    except OSError as error:
        raise UsageError(f"cannot read the AWS ip-ranges file {path}: {error.strerror}") from error
    except (ValueError, KeyError, TypeError) as error:
        # ValueError covers bad JSON, bad UTF-8 and bad prefixes; KeyError/TypeError a different shape.
        raise UsageError(f"{path} is not an AWS ip-ranges.json file ({type(error).__name__}: {error})") from error
    return sorted(networks, key=lambda n: (n.version, n.network_address, n.prefixlen))
