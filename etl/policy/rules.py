"""A policy file: which addresses are guarded, which conversations into them are allowed, which must be seen.

    guard: [data, app]
    allow:
      - {from: app, to: data, ports: [5432, 6379], protocol: tcp}
    expect:
      - {from: app, to: database, ports: [5432]}

Every mistake is one sentence naming the file, the line and what would be valid.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from etl.errors import UsageError
from etl.policy.observed import Conversation, End
from etl.policy.protocols import NAMES, protocol_number
from etl.policy.selectors import ANY, SCOPES, Selector, cidr_error, selector
from etl.yamlfile import compose, line, read_value

SECTIONS = ("guard", "allow", "expect")
RULE_KEYS = ("from", "to", "ports", "protocol")
_ICMP = (NAMES["icmp"], NAMES["icmpv6"])
_LISTED = 30  # valid names listed in an error before "and N more"


@dataclass(frozen=True)
class PortRange:
    low: int
    high: int

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high


@dataclass(frozen=True)
class Rule:
    """An `allow` rule or an `expect` entry: who may talk (or must be seen talking) to whom, on what."""

    section: str
    number: int  # 1-based, in its section
    line: int
    written: dict[str, Any]
    client: Selector
    server: Selector
    ports: tuple[PortRange, ...] = ()  # none: every port
    protocol: int | None = None  # None: every protocol

    def covers(self, conversation: Conversation) -> bool:
        return (
            (self.protocol is None or conversation.protocol == self.protocol)
            and (not self.ports or any(conversation.port in r for r in self.ports))
            and self.client.matches(conversation.client)
            and self.server.matches(conversation.server)
        )

    def entry(self) -> dict[str, Any]:
        """The JSON form: the rule as written, and where."""
        return {"section": self.section, "number": self.number, "line": self.line, **self.written}


@dataclass(frozen=True)
class Policy:
    guard: tuple[Selector, ...]
    allow: tuple[Rule, ...]
    expect: tuple[Rule, ...]

    def guards(self, end: End) -> bool:
        return any(s.matches(end) for s in self.guard)

    @property
    def names_cidrs(self) -> bool:
        selectors = [*self.guard, *(s for r in (*self.allow, *self.expect) for s in (r.client, r.server))]
        return any(s.cidr is not None for s in selectors)


@dataclass(frozen=True)
class Vocabulary:
    """The names and groups a selector may use: those of the graph's addresses and the known-ips file."""

    names: Collection[str]
    groups: Collection[str]


def read_policy(path: Path, vocabulary: Vocabulary) -> Policy:
    root = compose(path, "the policy")
    if root is None:
        raise UsageError(f"{path} is empty; a policy has {', '.join(SECTIONS)}")
    if not isinstance(root, yaml.MappingNode):
        raise UsageError(f"{path} line {line(root)}: a policy is a mapping of {', '.join(SECTIONS)}")
    reader = Reader(path, vocabulary)
    sections: dict[str, yaml.Node] = {}
    for key_node, value_node in root.value:
        key = _scalar(key_node)
        if key not in SECTIONS:
            raise UsageError(
                f"{path} line {line(key_node)}: unknown section {key!r}; a policy has {', '.join(SECTIONS)}"
            )
        sections[key] = value_node
    guard = reader.guard(sections["guard"]) if "guard" in sections else ()
    allow = reader.rules("allow", sections.get("allow"))
    expect = reader.rules("expect", sections.get("expect"))
    return Policy(guard, allow, expect)


def _scalar(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"


class Reader:
    """Reads the parts of a policy (selectors, ports, protocols), each mistake one sentence with its line."""

    def __init__(self, path: Path, vocabulary: Vocabulary) -> None:
        self.path = path
        self.vocabulary = vocabulary

    def fail(self, node: yaml.Node, what: str) -> UsageError:
        return UsageError(f"{self.path} line {line(node)}: {what}")

    def guard(self, node: yaml.Node) -> tuple[Selector, ...]:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        return tuple(self.selector(item, "guard") for item in items)

    def rules(self, section: str, node: yaml.Node | None) -> tuple[Rule, ...]:
        if node is None or (isinstance(node, yaml.ScalarNode) and read_value(node) is None):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(
                node, f"`{section}` is a list of rules, each like `- {{from: app, to: data, ports: [5432]}}`"
            )
        return tuple(self.rule(section, number, item) for number, item in enumerate(node.value, 1))

    def rule(self, section: str, number: int, node: yaml.Node) -> Rule:
        where = f"{section} rule {number}"
        if not isinstance(node, yaml.MappingNode) or not node.value:
            raise self.fail(node, f"{where} is a mapping of {', '.join(RULE_KEYS)}, like `{{from: app, to: data}}`")
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key not in RULE_KEYS:
                raise self.fail(key_node, f"{where} has an unknown key {key!r}; a rule takes {', '.join(RULE_KEYS)}")
            fields[key] = value_node
        protocol = self.protocol(fields["protocol"], where) if "protocol" in fields else None
        ports = self.ports(fields["ports"], where) if "ports" in fields else ()
        if ports and protocol in _ICMP:
            raise self.fail(fields["ports"], f"{where} gives ports for ICMP, which has none; leave `ports` out")
        return Rule(
            section,
            number,
            line(node),
            {key: read_value(value) for key, value in fields.items()},
            self.selector(fields["from"], where) if "from" in fields else selector(ANY),
            self.selector(fields["to"], where) if "to" in fields else selector(ANY),
            ports,
            protocol,
        )

    def selector(self, node: yaml.Node, where: str) -> Selector:
        value = read_value(node)
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            raise self.fail(node, f"{where}: {value!r} is not a name, group, CIDR or scope")
        text = str(value).strip()
        found = selector(text)
        if found.kind != "name":
            return found
        if host_bits := cidr_error(text):
            raise self.fail(node, f"{where}: {host_bits}")
        if text not in self.vocabulary.names and text not in self.vocabulary.groups:
            raise self.fail(node, f"{where}: {text!r} is no known name, group, CIDR or scope; {self.valid(text)}")
        return found

    def valid(self, text: str) -> str:
        known = sorted({*self.vocabulary.names, *self.vocabulary.groups})
        close = difflib.get_close_matches(text, known, n=3)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        listed = ", ".join(known[:_LISTED]) + (f" and {len(known) - _LISTED} more" if len(known) > _LISTED else "")
        return (
            f"{hint}valid: any, the scopes {', '.join(SCOPES)}, a CIDR, or a name or group ({listed or 'none known'})"
        )

    def protocol(self, node: yaml.Node, where: str) -> int | None:
        value = read_value(node)
        try:
            if isinstance(value, bool):
                raise ValueError(value)
            return protocol_number(value)
        except ValueError:
            raise self.fail(
                node, f"{where}: protocol {value!r} is none of tcp, udp, icmp, icmpv6, a number 0-255 or any"
            ) from None

    def ports(self, node: yaml.Node, where: str) -> tuple[PortRange, ...]:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if not items:
            raise self.fail(node, f"{where}: `ports` is empty; leave it out to mean every port")
        return tuple(self.port_range(item, where) for item in items)

    def port_range(self, node: yaml.Node, where: str) -> PortRange:
        value = read_value(node)
        low, sep, high = str(value).partition("-")
        try:
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError(value)
            bounds = PortRange(int(low), int(high) if sep else int(low))
        except ValueError:
            raise self.fail(node, f'{where}: port {value!r} is neither a number nor a range like "9000-9001"') from None
        if not 0 <= bounds.low <= bounds.high <= 65535:
            raise self.fail(node, f"{where}: port {value!r} is outside 0-65535 or runs backwards")
        return bounds
