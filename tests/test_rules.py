"""Rules files: the shipped example reads, and each mistake is one sentence with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.changes.rules import read_rules
from etl.errors import UsageError
from etl.known_ips import KnownIPs
from etl.policy.rules import Vocabulary

ROOT = Path(__file__).resolve().parent.parent
DEMO = KnownIPs.load(ROOT / "known-ips.example.yaml").entries
WORDS = Vocabulary({e["name"] for e in DEMO}, {e["group"] for e in DEMO if e.get("group")})


def test_the_example_reads_against_the_demo_names() -> None:
    rules = read_rules(ROOT / "rules.example.yaml", WORDS)
    assert [(r.name, r.kind, r.severity) for r in rules] == [
        ("new-into-data", "new-edge", "high"),
        ("app-new-destination", "new-public-destination", "medium"),
        ("unexpected-port", "port-outside", "medium"),
        ("scanned", "rejects", "low"),
        ("scanner-burst", "rejects", "low"),
        ("skipdata", "skipdata", "high"),
    ]
    burst = rules[4]
    assert (burst.by, burst.above, burst.factor, burst.trailing) == ("source", None, 5.0, 24)
    assert [(p.low, p.high) for p in rules[2].ports][:2] == [(53, 53), (80, 80)]


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("- {name: x}\n", "line 1: a rules file is one mapping, `rules:`, of a list"),
        ("rules: {name: x}\n", "line 1: `rules` is a list"),
        ("rules:\n  - {name: x, kind: skipdata}\n", "line 2: rule 1 has no `severity`"),
        ("rules:\n  - {name: x, severity: urgent, kind: skipdata}\n", "rule 1: severity 'urgent' is none of info, low"),
        ("rules:\n  - {name: x, severity: low, kind: anomaly}\n", "rule 1: kind 'anomaly' is none of new-edge"),
        ("rules:\n  - {name: x, severity: low, kind: skipdata, to: data}\n",
         "rule 1 (skipdata) has an unknown key 'to'; it takes name, severity, kind"),
        ("rules:\n  - {name: x, severity: low, kind: new-edge, to: databse}\n", "did you mean 'database'"),
        ("rules:\n  - {name: x, severity: low, kind: port-outside}\n", "rule 1 (port-outside) needs `ports`"),
        ("rules:\n  - {name: x, severity: low, kind: rejects, by: source}\n", "rule 1 (rejects) needs `above`"),
        ("rules:\n  - {name: x, severity: low, kind: rejects, above: -3}\n", "above takes a positive whole number"),
        ("rules:\n  - {name: x, severity: low, kind: rejects, above: 3, by: both}\n", "by 'both' is none of source, destination"),
        ("rules:\n  - {name: x, severity: low, kind: skipdata}\n  - {name: x, severity: high, kind: skipdata}\n",
         "two rules are named 'x'"),
    ],
)  # fmt: skip
def test_each_mistake_is_one_sentence(tmp_path: Path, text: str, sentence: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as raised:
        read_rules(path, WORDS)
    assert sentence in str(raised.value) and "\n" not in str(raised.value)
