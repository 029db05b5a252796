"""A rules file: what change deserves an alert. Each rule has a name, a severity and a kind:

    rules:
      - {name: new-into-data, severity: high, kind: new-edge, to: data}
      - {name: app-new-destination, severity: medium, kind: new-public-destination, from: app}
      - {name: odd-port, severity: medium, kind: port-outside, ports: [53, 80, 443, 5432], from: vpc}
      - {name: reject-burst, severity: low, kind: rejects, by: source, above: 100, factor: 5, trailing: 24}
      - {name: skipdata, severity: high, kind: skipdata}

Every mistake is one sentence naming the file, the line and what would be valid.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from etl.errors import UsageError
from etl.policy.rules import PortRange, Reader, Vocabulary
from etl.policy.selectors import ANY, Selector, selector
from etl.yamlfile import compose, line, read_value

SEVERITIES = ("info", "low", "medium", "high", "critical")
# Each kind: the keys it takes besides name, severity and kind.
KINDS: dict[str, tuple[str, ...]] = {
    "new-edge": ("from", "to"),
    "new-public-destination": ("from",),
    "port-outside": ("ports", "from", "to", "actions"),
    "rejects": ("by", "above", "factor", "trailing"),
    "skipdata": (),
}
BY = ("source", "destination")
ACTIONS = ("ACCEPT", "REJECT")


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str
    kind: str
    line: int
    client: Selector = field(default_factory=lambda: selector(ANY))  # `from`
    server: Selector = field(default_factory=lambda: selector(ANY))  # `to`
    ports: tuple[PortRange, ...] = ()
    actions: tuple[str, ...] = ("ACCEPT",)
    by: str = "source"
    above: int | None = None
    factor: float | None = None
    trailing: int = 24


def read_rules(path: Path, vocabulary: Vocabulary) -> tuple[Rule, ...]:
    root = compose(path, "the rules file")
    if not isinstance(root, yaml.MappingNode) or [_key(k) for k, _ in root.value] != ["rules"]:
        raise UsageError(f"{path} line {line(root) if root else 1}: a rules file is one mapping, `rules:`, of a list")
    ((_, listed),) = root.value
    if not isinstance(listed, yaml.SequenceNode):
        raise UsageError(
            f"{path} line {line(listed)}: `rules` is a list, each rule like `- {{name: x, kind: skipdata}}`"
        )
    reader = _RuleReader(path, vocabulary)
    rules = [reader.alert_rule(number, item) for number, item in enumerate(listed.value, 1)]
    names = [rule.name for rule in rules]
    if duplicate := next((n for n in names if names.count(n) > 1), None):
        raise UsageError(f"{path}: two rules are named {duplicate!r}; an alert names its rule, so names are unique")
    return tuple(rules)


def _key(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"


class _RuleReader(Reader):
    def alert_rule(self, number: int, node: yaml.Node) -> Rule:
        where = f"rule {number}"
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{where} is a mapping with name, severity and kind")
        fields = {_key(k): v for k, v in node.value}
        for required in ("name", "severity", "kind"):
            if required not in fields:
                raise self.fail(node, f"{where} has no `{required}`; every rule has name, severity and kind")
        kind = self.choice(fields["kind"], where, "kind", KINDS)
        valid = ("name", "severity", "kind", *KINDS[kind])
        if unknown := next((k for k in fields if k not in valid), None):
            raise self.fail(node, f"{where} ({kind}) has an unknown key {unknown!r}; it takes {', '.join(valid)}")
        options: dict[str, Any] = {}
        for key, selector_field in (("from", "client"), ("to", "server")):
            if key in fields:
                options[selector_field] = self.selector(fields[key], where)
        if "ports" in fields:
            options["ports"] = self.ports(fields["ports"], where)
        if "actions" in fields:
            options["actions"] = tuple(self.choice(n, where, "actions", ACTIONS) for n in self.items(fields["actions"]))
        if "by" in fields:
            options["by"] = self.choice(fields["by"], where, "by", BY)
        for key, kind_of in (("above", int), ("factor", float), ("trailing", int)):
            if key in fields:
                options[key] = self.number(fields[key], where, key, kind_of)
        self.complete(kind, options, node, where)
        return Rule(str(read_value(fields["name"])), self.choice(fields["severity"], where, "severity", SEVERITIES), kind,
                    line(node), **options)  # fmt: skip

    def complete(self, kind: str, options: dict[str, Any], node: yaml.Node, where: str) -> None:
        if kind == "port-outside" and "ports" not in options:
            raise self.fail(node, f"{where} (port-outside) needs `ports`: the ports traffic may use")
        if kind == "rejects" and options.get("above") is None and options.get("factor") is None:
            raise self.fail(
                node,
                f"{where} (rejects) needs `above` (records per bucket), `factor` (times its trailing average) or both",
            )

    def items(self, node: yaml.Node) -> list[yaml.Node]:
        return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]

    def choice(self, node: yaml.Node, where: str, key: str, valid: Collection[str]) -> str:
        value = str(read_value(node))
        if value not in valid:
            raise self.fail(node, f"{where}: {key} {value!r} is none of {', '.join(valid)}")
        return value

    def number(self, node: yaml.Node, where: str, key: str, kind_of: type) -> Any:
        value = read_value(node)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value <= 0
            or (kind_of is int and value != int(value))
        ):
            raise self.fail(
                node, f"{where}: {key} takes a positive {'whole ' if kind_of is int else ''}number, not {value!r}"
            )
        return kind_of(value)
