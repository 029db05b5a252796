"""The known-ips file: names for addresses and networks; the longest prefix wins.

A YAML list of entries, each with `ip` (one address) or `cidr` (a network), a `name`, and optional
`group` and `role` (see known-ips.example.yaml). `role: vpc` marks a VPC's CIDR: addresses inside it
get scope `vpc`. Several entries may share a name (a load balancer's nodes, say); the graph keeps one
node per address and merges them only for display. Errors name the file and the line, taken from the
composed YAML nodes: line numbers are gone once YAML becomes Python values.

An entry may also say where it is: `vpc` and `account` (what `discover` writes), and `subnet`, `az`
and `eni`. VPCs that do not route to each other may reuse the same private ranges, so a private
address is looked up only among the entries of its own network (and those that name none); the same
network may then be named once per VPC or account.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

from etl.classify import IPNetwork, PrefixTable, address_number, ipv4_numbers
from etl.errors import UsageError
from etl.sources.timewindow import iso_time
from etl.yamlfile import compose, line

FIELDS = ("ip", "cidr", "name", "group", "role", "vpc", "account", "subnet", "az", "eni", "from", "to")
PLACES = ("vpc", "account", "subnet", "az", "eni")  # where an entry is, as the node shows it
VPC_ROLE = "vpc"
_NULL_TAG = "tag:yaml.org,2002:null"
_HEADER = "# vpcflow known-ips: each entry names an ip or a cidr; the longest prefix wins.\n"

Where = Callable[[str | None], str]  # the location of an entry, or of one of its keys, for errors


@dataclass(frozen=True)
class Known:
    name: str
    group: str | None = None
    role: str | None = None
    vpc: str | None = None
    account: str | None = None
    subnet: str | None = None
    az: str | None = None
    eni: str | None = None
    # First and last inventory snapshot the entry was seen in (`discover --into`), epoch seconds.
    seen_from: int | None = None
    seen_to: int | None = None

    def fits(self, vpc: str | None, account: str | None) -> bool:
        """Whether the entry may name an address of network (vpc, account): it names no other. A VPC id
        is unique across accounts, so an entry of the VPC fits whatever account is given: a shared
        VPC's participants have interfaces of their own account in the owner's VPC."""
        if self.vpc is not None:
            return self.vpc == vpc
        return self.account is None or self.account == account

    @property
    def place(self) -> tuple[str | None, str | None]:
        return self.vpc, self.account


class KnownIPs:
    """The named networks of a known-ips file, looked up by longest prefix within a network."""

    def __init__(self, named: Sequence[tuple[IPNetwork, Known]] = ()) -> None:
        self._named = list(named)
        by_network: dict[IPNetwork, list[Known]] = {}
        for network, known in self._named:
            by_network.setdefault(network, []).append(known)
        # The most specific entry of a network first (a VPC's own entry before one naming no VPC), an
        # entry written by hand before the inventory's, and an inventory's holders in time order.
        self._table = PrefixTable(
            (network, sorted(entries, key=lambda k: (k.vpc is None, k.account is None, *_span(k))))
            for network, entries in by_network.items()
        )
        self._held_in_turn: set[Known] = set()
        switches: set[int] = set()
        for entries in by_network.values():
            for place in {k.place for k in entries}:
                holders = sorted((k for k in entries if k.place == place and k.seen_from is not None), key=_span)
                if len(holders) > 1:
                    self._held_in_turn.update(holders)
                    switches.update(_switch(before, after) for before, after in itertools.pairwise(holders))
        self.switch_times = tuple(sorted(switches))
        self._interfaces: dict[str, Known] = {}
        for _, known in self._named:
            if known.eni is not None:
                self._interfaces.setdefault(known.eni, known)

    @classmethod
    def load(cls, path: Path) -> KnownIPs:
        return cls._checked(_yaml_entries(path))

    @classmethod
    def from_entries(cls, entries: Sequence[Mapping[str, object]]) -> KnownIPs:
        return cls._checked([(dict(entry), _entry_number(i)) for i, entry in enumerate(entries, start=1)])

    @classmethod
    def _checked(cls, entries: Sequence[tuple[Mapping[str, object], Where]]) -> KnownIPs:
        named: list[tuple[IPNetwork, Known]] = []
        seen: dict[tuple[IPNetwork, str | None, str | None, int | None], str] = {}
        for fields, where in entries:
            network, known = _entry(fields, where)
            # One entry per network and place, or per span of time when an inventory kept several owners.
            identity = (network, *known.place, known.seen_from)
            if identity in seen:
                within = "".join(f" in {part}" for part in known.place if part)
                raise UsageError(f"{where(None)}: {network}{within} is already named at {seen[identity]}")
            seen[identity] = where(None)
            named.append((network, known))
        return cls(named)

    def lookup(
        self, address: str, vpc: str | None = None, account: str | None = None, at: int | None = None
    ) -> Known | None:
        """The entry with the longest prefix holding `address` among those that fit its network (`Known.fits`);
        None if none does or it is no address. A public address has no network: any entry may name it.

        Where an inventory saw the address held by several things in turn, the holder at time `at`
        (epoch seconds; the latest without one): the one whose span holds it, else the nearest."""
        parsed = address_number(address)
        if parsed is None:
            return None
        anywhere = vpc is None and account is None
        for entries in self._table.matches(*parsed):
            fitting = [known for known in entries if anywhere or known.fits(vpc, account)]
            if fitting:
                first = fitting[0]
                if first not in self._held_in_turn:
                    return first
                holders = [k for k in fitting if k.place == first.place and k in self._held_in_turn]
                return _holder_at(holders, at)
        return None

    def lookup_many(
        self,
        addresses: Sequence[str],
        networks: Sequence[tuple[str | None, str | None]] | None = None,
        times: Sequence[int | None] | None = None,
    ) -> list[Known | None]:
        networks = networks or [(None, None)] * len(addresses)
        times = times or [None] * len(addresses)
        # Most of a file's addresses (the internet's) are in no entry: found so all at once, they cost
        # no Python each.
        v4, numbers = ipv4_numbers(addresses)
        maybe = np.ones(len(addresses), bool)
        maybe[v4] = self._table.holds_v4(numbers)
        return [
            self.lookup(a, *n, at=t) if m else None
            for a, n, t, m in zip(addresses, networks, times, maybe.tolist(), strict=True)
        ]

    def interface(self, eni: str) -> Known | None:
        """The entry of a network interface (`eni`): each of its addresses has the interface's name."""
        return self._interfaces.get(eni)

    def held_in_turn(self, known: Known) -> bool:
        """Whether the inventory saw the entry's address held by something else at another time: the
        graph then keeps one node per holder."""
        return known in self._held_in_turn

    def era_time(self, era: int) -> int | None:
        """A time inside era `era`: between switch_times[era - 1] and switch_times[era]."""
        if not self.switch_times:
            return None
        return self.switch_times[era - 1] if era > 0 else self.switch_times[0] - 1

    def vpcs_holding(self, address: str) -> list[Known]:
        """The VPC entries (`role: vpc`) whose CIDR holds `address`, longest prefix first."""
        parsed = address_number(address)
        if parsed is None:
            return []
        return [k for entries in self._table.matches(*parsed) for k in entries if k.role == VPC_ROLE]

    @property
    def vpc_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(dict.fromkeys(network for network, known in self._named if known.role == VPC_ROLE))

    @property
    def entries(self) -> list[dict[str, str]]:
        """The entries in file order, in the file's shape (`ip` for single addresses)."""
        return [_as_entry(network, known) for network, known in self._named]


def _span(known: Known) -> tuple[int, int]:
    start = -1 if known.seen_from is None else known.seen_from
    return start, start if known.seen_to is None else known.seen_to


def _switch(before: Known, after: Known) -> int:
    """When the address passes from `before` to `after`: halfway between the last snapshot that saw
    the one and the first that saw the other (each time is given to the nearest snapshot)."""
    return (_span(before)[1] + _span(after)[0] + 1) // 2


def _holder_at(holders: Sequence[Known], at: int | None) -> Known:
    """Of holders in time order, the one at `at`; the latest when `at` is None."""
    if at is None:
        return holders[-1]
    chosen = holders[0]
    for after in holders[1:]:
        if at >= _switch(chosen, after):
            chosen = after
    return chosen


def _as_entry(network: IPNetwork, known: Known) -> dict[str, str]:
    single = network.prefixlen == network.max_prefixlen
    entry = {"ip": str(network.network_address)} if single else {"cidr": str(network)}
    entry["name"] = known.name
    entry.update({key: value for key in ("group", "role", *PLACES) if (value := getattr(known, key)) is not None})
    entry.update({key: iso_time(value) for key, value in (("from", known.seen_from), ("to", known.seen_to)) if value})
    return entry


def entry_order(entry: Mapping[str, str]) -> tuple[int, int, int, int, str, str]:
    """The order `discover` writes entries in: VPCs, subnets, then the rest, each by network, then by VPC
    and account; a stable file that diffs well."""
    network = ipaddress.ip_network(entry.get("ip") or entry["cidr"])
    rank = {VPC_ROLE: 0, "subnet": 1}.get(entry.get("role", ""), 2)
    place = entry.get("vpc", ""), entry.get("account", "")
    return rank, network.version, int(network.network_address), network.prefixlen, *place


def _seconds(fields: Mapping[str, object], key: str, where: Where) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise UsageError(
            f"{where(key)}: `{key}` is an ISO 8601 time like 2026-12-01T06:00:00Z, not {value!r}"
        ) from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _entry_number(number: int) -> Where:
    return lambda _key: f"known-ips entry {number}"


def _entry(fields: Mapping[str, object], where: Where) -> tuple[IPNetwork, Known]:
    unknown = [key for key in fields if key not in FIELDS]
    if unknown:
        raise UsageError(f"{where(unknown[0])}: unknown key {unknown[0]!r}; entries have {', '.join(FIELDS)}")
    if ("ip" in fields) == ("cidr" in fields):
        raise UsageError(f"{where(None)}: an entry needs exactly one of `ip` and `cidr`")
    texts = {key: _text(fields, key, where) for key in ("name", "group", "role", *PLACES)}
    name = texts.pop("name")
    if name is None:
        raise UsageError(f"{where('name')}: the entry needs a `name`")
    seen_from, seen_to = _seconds(fields, "from", where), _seconds(fields, "to", where)
    if seen_from is not None and seen_to is not None and seen_to < seen_from:
        raise UsageError(f"{where('to')}: `to` is before `from`")
    return _network(fields, where), Known(name, **texts, seen_from=seen_from, seen_to=seen_to)


def _text(fields: Mapping[str, object], key: str, where: Where) -> str | None:
    value = fields.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise UsageError(f"{where(key)}: `{key}` must be a non-empty text")
    return value


def _network(fields: Mapping[str, object], where: Where) -> IPNetwork:
    key = "ip" if "ip" in fields else "cidr"
    value = fields[key]
    if isinstance(value, str):
        try:
            return ipaddress.ip_network(ipaddress.ip_address(value)) if key == "ip" else ipaddress.ip_network(value)
        except ValueError:
            pass
    what = "an IP address" if key == "ip" else "a network"
    hint = _hint(key, value) if isinstance(value, str) else ""
    raise UsageError(f"{where(key)}: {'an empty value' if value is None else repr(value)} is not {what}{hint}")


def _hint(key: str, value: str) -> str:
    if key == "ip":
        return " (use `cidr` for a network)" if "/" in value else ""
    try:
        return f"; it has host bits set (did you mean {ipaddress.ip_network(value, strict=False)})"
    except ValueError:
        return ""


def _yaml_entries(path: Path) -> list[tuple[Mapping[str, object], Where]]:
    root = compose(path, "the known-ips file")
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise UsageError(f"{path} line {line(root)}: the file must be a list of entries, each starting with `- `")
    return [_yaml_entry(item, path) for item in root.value]


def _yaml_entry(item: yaml.Node, path: Path) -> tuple[Mapping[str, object], Where]:
    if not isinstance(item, yaml.MappingNode):
        raise UsageError(f"{path} line {line(item)}: an entry is a mapping, like `- {{ip: 10.0.0.5, name: web}}`")
    fields: dict[str, object] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in item.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
        if key in fields:
            raise UsageError(f"{path} line {line(key_node)}: `{key}` is given twice in one entry")
        if not isinstance(value_node, yaml.ScalarNode):
            raise UsageError(f"{path} line {line(value_node)}: `{key}` must be a single value")
        # The text as written: `name: yes` is the name "yes", not True, and `ip: 1:2:3:4:5:6:7:8` stays an address.
        fields[key] = None if value_node.tag == _NULL_TAG else value_node.value
        lines[key] = line(value_node)
    start = line(item)
    return fields, lambda key: f"{path} line {lines.get(key, start) if key else start}"


def to_yaml(entries: Sequence[Mapping[str, object]]) -> str:
    """Entries as a known-ips file, one entry per line; they are checked first, so the text loads back."""
    KnownIPs.from_entries(entries)
    return _HEADER + yaml.safe_dump([dict(e) for e in entries], default_flow_style=None, sort_keys=False, width=1 << 16)


def write_yaml(entries: Sequence[Mapping[str, object]], path: Path) -> None:
    text = to_yaml(entries)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write the known-ips file {path}: {error.strerror}") from error
