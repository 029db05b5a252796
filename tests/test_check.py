"""`vpcflow check POLICY.yaml`: a policy held against conversations loaded from flow-log lines.

The lines are written here, each conversation with the records its interfaces would log (request,
reply or both), so every expected count below is a sum of the lines' own fields.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from typer.testing import CliRunner

from etl.cli import app
from etl.errors import UsageError
from etl.graph.store import GraphStore
from etl.policy.observed import End, conversations, real_addresses
from etl.policy.rules import Vocabulary, read_policy
from tests.browser import wait_until_laid_out
from tests.test_viewer_browser import OpenedView
from tests.test_viewer_browser import browser as browser  # the module's headless Chromium, as a fixture here

runner = CliRunner()
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
APP, WEB, DB, CACHE, DNS = "10.0.2.21", "10.0.1.11", "10.0.3.30", "10.0.3.40", "10.0.0.2"
SCANNER, AWS_API, CUSTOMER = "198.51.100.9", "52.94.1.1", "203.0.113.50"
KNOWN = f"""
- {{cidr: 10.0.0.0/16, name: vpc, role: vpc}}
- {{ip: {APP}, name: app-1, group: app}}
- {{ip: {WEB}, name: web-1, group: web}}
- {{ip: {DB}, name: database, group: data}}
- {{ip: {CACHE}, name: cache, group: data}}
- {{ip: {DNS}, name: dns-resolver}}
"""
# (src, dst, srcport, dstport, protocol, packets, bytes, action, start): one record each.
Record = tuple[str, str, int, int, int, int, int, str, int]
RECORDS: list[Record] = [
    # app -> database:5432, request and reply, logged on both interfaces: allowed by rule 1.
    (APP, DB, 40000, 5432, 6, 10, 1000, "ACCEPT", T0), (DB, APP, 5432, 40000, 6, 20, 8000, "ACCEPT", T0),
    (APP, DB, 40001, 5432, 6, 4, 400, "ACCEPT", T0 + 60), (DB, APP, 5432, 40001, 6, 6, 2400, "ACCEPT", T0 + 60),
    # web -> database:5432, only the database's replies in the logs: a violation all the same.
    (DB, WEB, 5432, 41000, 6, 3, 900, "ACCEPT", T0 + 120), (DB, WEB, 5432, 41001, 6, 2, 500, "ACCEPT", T0 + 180),
    # web -> cache:6379: allowed by rule 2's range.
    (WEB, CACHE, 42000, 6379, 6, 5, 250, "ACCEPT", T0), (CACHE, WEB, 6379, 42000, 6, 5, 450, "ACCEPT", T0),
    # app -> dns-resolver:53/udp: allowed by rule 3, from the vpc scope to any.
    (APP, DNS, 50000, 53, 17, 1, 70, "ACCEPT", T0), (DNS, APP, 53, 50000, 17, 1, 150, "ACCEPT", T0),
    # app pings the database: ICMP's ports are both 0, so the sender is the client; rule 4.
    (APP, DB, 0, 0, 1, 2, 168, "ACCEPT", T0),
    # a scanner tries the database's ssh: refused, so a rejected attempt, never a violation.
    (SCANNER, DB, 55555, 22, 6, 1, 40, "REJECT", T0), (SCANNER, DB, 55556, 22, 6, 1, 40, "REJECT", T0 + 60),
    # app calls an AWS API on the internet: nothing guarded.
    (APP, AWS_API, 43000, 443, 6, 8, 3000, "ACCEPT", T0), (AWS_API, APP, 443, 43000, 6, 9, 9000, "ACCEPT", T0),
    # a customer reaches web:443, allowed by rule 6's CIDR.
    (CUSTOMER, WEB, 60000, 443, 6, 12, 2400, "ACCEPT", T0), (WEB, CUSTOMER, 443, 60000, 6, 14, 9800, "ACCEPT", T0),
    # two days later, web -> database:3306: a violation only for a window that reaches that day.
    (WEB, DB, 44000, 3306, 6, 7, 700, "ACCEPT", T0 + 2 * DAY), (DB, WEB, 3306, 44000, 6, 7, 1400, "ACCEPT", T0 + 2 * DAY),
]  # fmt: skip
POLICY = """\
guard: [data, web]
allow:
  - {from: app, to: data, ports: [5432, 6379], protocol: tcp}
  - {from: web, to: cache, ports: ["6000-6400"]}
  - {from: vpc, to: any, ports: [53], protocol: udp}
  - {from: app, to: data, protocol: icmp}
  - {from: 10.0.1.0/24, to: data, ports: ["9000-9001"]}
  - {from: 203.0.113.0/24, to: web-1, ports: [443], protocol: tcp}
expect:
  - {from: app, to: database, ports: [5432]}
  - {from: web, to: cache, ports: [6379], protocol: udp}
"""


def _line(record: Record) -> str:
    src, dst, sport, dport, protocol, packets, nbytes, action, start = record
    return f"2 123456789012 eni-0a {src} {dst} {sport} {dport} {protocol} {packets} {nbytes} {start} {start + 60} {action} OK\n"


def _expected(client: str, server: str, port: int, protocol: int, action: str, since: int = 0) -> dict[str, Any]:
    """The conversation's sums, request and reply records together, from RECORDS."""
    mine = [
        r for r in RECORDS
        if {r[0], r[1]} == {client, server} and min(r[2], r[3]) == port and r[4] == protocol and r[7] == action
        and r[8] >= since
    ]  # fmt: skip
    return {
        "count": len(mine),
        "packets": sum(r[5] for r in mine),
        "bytes": sum(r[6] for r in mine),
        "first_seen": min(r[8] for r in mine),
        "last_seen": max(r[8] + 60 for r in mine),
    }


@pytest.fixture
def loaded(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> Path:
    logs = tmp_path / "logs.log"
    logs.write_text(V2 + "\n" + "".join(map(_line, RECORDS)))
    known = tmp_path / "known.yaml"
    known.write_text(KNOWN)
    result = runner.invoke(app, ["load", "--pseudonymize", "none", "--known-ips", str(known), str(logs)])
    assert result.exit_code == 0, result.output
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    return policy


def _check(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["check", *args, "--format", "json"])
    assert result.exit_code in (0, 4), result.output
    return result.exit_code, json.loads(result.stdout)


def _conversation(client: str, server: str, port: int, protocol: int, action: str, since: int = 0) -> dict[str, Any]:
    names = {APP: "app-1", WEB: "web-1", DB: "database", CACHE: "cache", DNS: "dns-resolver"}
    return {"client": client, "client_name": names.get(client), "server": server, "server_name": names.get(server),
            "port": port, "protocol": protocol} | _expected(client, server, port, protocol, action, since)  # fmt: skip


def test_every_finding_and_nothing_else(loaded: Path) -> None:
    status, found = _check(str(loaded))
    assert status == 4
    assert sorted(found["violations"], key=lambda c: c["port"]) == [
        _conversation(WEB, DB, 3306, 6, "ACCEPT"),
        _conversation(WEB, DB, 5432, 6, "ACCEPT"),
    ]
    assert found["unused_rules"] == [{"section": "allow", "number": 5, "line": 7, "from": "10.0.1.0/24",
                                             "to": "data", "ports": ["9000-9001"]}]  # fmt: skip
    assert found["missing"] == [{"section": "expect", "number": 2, "line": 11, "from": "web", "to": "cache",
                                 "ports": [6379], "protocol": "udp"}]  # fmt: skip
    assert found["rejected"] == [_conversation(SCANNER, DB, 22, 6, "REJECT")]


def test_the_window_leaves_out_what_it_did_not_see(loaded: Path) -> None:
    status, found = _check(str(loaded), "--end", "2026-01-02T00:00:00Z")
    assert [(c["server"], c["port"]) for c in found["violations"]] == [(DB, 5432)]
    assert status == 4
    _, later = _check(str(loaded), "--start", "2026-01-02T00:00:00Z")
    assert later["violations"] == [_conversation(WEB, DB, 3306, 6, "ACCEPT", since=T0 + DAY)]
    assert {r["number"] for r in later["unused_rules"]} == {1, 2, 3, 4, 5, 6}  # nothing else happened then
    assert {r["number"] for r in later["missing"]} == {1, 2}


def test_a_policy_without_findings_exits_0(loaded: Path, tmp_path: Path) -> None:
    policy = tmp_path / "quiet.yaml"
    policy.write_text("guard: [cache]\nallow:\n  - {from: web, to: cache, ports: [6379]}\n")
    result = runner.invoke(app, ["check", str(policy)])
    assert result.exit_code == 0, result.output
    assert "Violations: none" in result.stdout
    assert "0 violations, 0 unused rules, 0 missing, 0 rejected attempts" in result.stderr


def test_a_wrong_key_moves_pseudonymized_addresses_out_of_their_cidr(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With pseudonyms in the graph, a CIDR matches the real address the key reveals."""
    logs = tmp_path / "logs.log"
    logs.write_text(V2 + "\n" + "".join(map(_line, RECORDS)))
    monkeypatch.setenv("VPCFLOW_KEY", bytes(range(32)).hex())
    loaded = runner.invoke(app, ["load", str(logs)])  # every address a pseudonym: none is known
    assert loaded.exit_code == 0, loaded.output
    policy = tmp_path / "policy.yaml"
    policy.write_text("guard: [10.0.1.0/24]\nallow:\n  - {from: 203.0.113.0/24, to: 10.0.1.0/24, ports: [443]}\n")
    status, found = _check(str(policy))
    assert (status, found["violations"], found["unused_rules"]) == (0, [], [])
    monkeypatch.setenv("VPCFLOW_KEY", bytes(range(1, 33)).hex())
    status, found = _check(str(policy))
    assert status == 0 and found["violations"] == [] and [r["number"] for r in found["unused_rules"]] == [1]


@pytest.mark.browser
def test_the_view_highlights_violations_and_lists_them(loaded: Path, tmp_path: Path, browser: Browser) -> None:
    page = tmp_path / "check.html"
    result = runner.invoke(app, ["check", str(loaded), "-o", str(page)])
    assert result.exit_code == 4, result.output
    view = OpenedView(browser.new_page(viewport={"width": 1200, "height": 760}))
    view.listen()
    view.page.goto(page.as_uri())
    wait_until_laid_out(view.page, timeout_ms=15_000)
    flagged = view.js(
        "() => vpcflowView.edges.get().filter((e) => e.flagged)"
        ".map((e) => [vpcflowView.keyOf(e.from), vpcflowView.keyOf(e.to), e.count])"
    )
    items = view.js("() => [...document.querySelectorAll('#findings li')].map((li) => li.textContent)")
    view.page.click("#findings li:nth-child(2)")  # the first violation
    selected = view.js("() => vpcflowView.network.getSelectedEdges().map((id) => vpcflowView.edges.get(id).flagged)")
    view.assert_quiet()
    view.page.close()
    # Both violations run from web-1 to the database: one line, their counts summed.
    assert [[src.rsplit("/", 1)[-1], dst.rsplit("/", 1)[-1], n] for src, dst, n in flagged] == [
        [WEB, DB, _expected(WEB, DB, 3306, 6, "ACCEPT")["count"] + _expected(WEB, DB, 5432, 6, "ACCEPT")["count"]]
    ]
    assert items[0] == "Violations (2)"
    assert items[3].startswith("Missing (1)") and items[4].startswith("expect 2 (line 11): from: web, to: cache")
    assert items[5] == "Unused rules (1)" and items[6].startswith("allow 5 (line 7): from: 10.0.1.0/24")
    assert items[7] == "Rejected attempts (1)" and items[8].startswith(
        f"{SCANNER} → database (10.0.3.30) tcp/22 REJECT"
    )
    assert selected == [True]


# -- conversations from edges, as a pure function -------------------------------------------------------

A, B = End("a", "10.0.0.1"), End("b", "10.0.0.2")


def _edge(src: str, dst: str, requests: int | None, replies: int | None, count: int, start: int = T0) -> dict[str, Any]:
    return {"src": src, "dst": dst, "port": 443, "protocol": 6, "action": "ACCEPT", "count": count, "packets": count,
            "bytes": 10 * count, "requests": requests, "replies": replies, "first_seen": start, "last_seen": T0 + 60}  # fmt: skip


@pytest.mark.parametrize(
    ("edges", "client", "count"),
    [
        ([_edge("a", "b", 3, 0, 3), _edge("b", "a", 0, 3, 3)], "a", 6),  # request and reply: one conversation
        ([_edge("b", "a", 0, 2, 2)], "a", 2),  # the reply alone says who served
        ([_edge("a", "b", 2, 2, 2)], "a", 2),  # both ports equal: the sender is the client
        ([_edge("b", "a", 1, 1, 1, T0 + 1), _edge("a", "b", 1, 1, 1)], "a", 2),  # echo, then its reply
        ([_edge("a", "b", 1, 1, 1, T0 + 1), _edge("b", "a", 1, 1, 1)], "b", 2),
        ([_edge("a", "b", 0, 1, 1) | {"action": "REJECT"}], "a", 1),  # refused: an attempt, whatever its ports
        ([_edge("a", "b", None, None, 4)], "a", 4),  # an edge from before the counts: the sender too
    ],
)
def test_edges_fold_into_conversations(edges: list[dict[str, Any]], client: str, count: int) -> None:
    (conversation,) = conversations(edges, {"a": A, "b": B})
    assert (conversation.client.key, conversation.count, conversation.bytes) == (client, count, 10 * count)


def test_only_pseudonyms_of_addresses_are_revealed() -> None:
    rows: list[dict[str, Any]] = [{"id": "10.0.3.30"}, {"id": "97.68.175.5", "pseudonymized": True},
            {"id": "97.68.0.0/16", "pseudonymized": True, "prefix": True}, {"id": "pub-7f3a9c", "pseudonymized": True}]  # fmt: skip
    asked: list[list[str]] = []

    def reveal(ids: Sequence[str]) -> list[str]:
        asked.append(list(ids))
        return ["10.0.1.11" for _ in ids]

    assert real_addresses(rows, reveal) == ["10.0.3.30", "10.0.1.11", None, None]
    assert asked == [["97.68.175.5"]]  # one batch, of what can be an address's pseudonym
    assert real_addresses(rows, None) == ["10.0.3.30", None, None, None]


# -- each policy error is one sentence ---------------------------------------------------------------------

WORDS = Vocabulary(names={"database", "web-1"}, groups={"data", "web"})


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("", "is empty; a policy has guard, allow, expect"),
        ("- app\n", "line 1: a policy is a mapping of guard, allow, expect"),
        ("allow: [\n", "line 2: not valid YAML"),
        ("gaurd: [data]\n", "line 1: unknown section 'gaurd'; a policy has guard, allow, expect"),
        ("allow: {from: web}\n", "line 1: `allow` is a list of rules"),
        ("allow:\n  - web\n", "line 2: allow rule 1 is a mapping of from, to, ports, protocol"),
        ("allow:\n  - {from: web, prot: tcp}\n", "line 2: allow rule 1 has an unknown key 'prot'; a rule takes from, to, ports, protocol"),
        ("expect:\n  - {to: databse}\n", "line 2: expect rule 1: 'databse' is no known name, group, CIDR or scope; did you mean 'database'"),
        ("guard: [10.0.3.1/24]\n", "line 1: guard: '10.0.3.1/24' has host bits set (did you mean 10.0.3.0/24?)"),
        ("allow:\n  - {to: data, ports: [70000]}\n", "line 2: allow rule 1: port 70000 is outside 0-65535 or runs backwards"),
        ("allow:\n  - {to: data, ports: [\"9001-9000\"]}\n", "runs backwards"),
        ("allow:\n  - {to: data, ports: [https]}\n", "line 2: allow rule 1: port 'https' is neither a number nor a range"),
        ("allow:\n  - {to: data, ports: []}\n", "line 2: allow rule 1: `ports` is empty; leave it out to mean every port"),
        ("allow:\n  - {to: data, protocol: sctp}\n", "line 2: allow rule 1: protocol 'sctp' is none of tcp, udp, icmp"),
        ("allow:\n  - {to: data, protocol: icmp, ports: [0]}\n", "allow rule 1 gives ports for ICMP, which has none"),
    ],
)  # fmt: skip
def test_each_policy_error_is_one_sentence(tmp_path: Path, text: str, sentence: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as raised:
        read_policy(path, WORDS)
    assert sentence in str(raised.value)
    assert str(raised.value).startswith(str(path)) or str(raised.value).startswith("cannot")
    assert "\n" not in str(raised.value)


def test_unknown_names_list_the_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("guard: [nobody]\n")
    with pytest.raises(UsageError, match=r"valid: any, the scopes public, private, vpc, aws-service, special, a CIDR, "
                                         r"or a name or group \(data, database, web, web-1\)"):  # fmt: skip
        read_policy(path, WORDS)


def test_a_missing_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read the policy .*nowhere\.yaml: No such file or directory"):
        read_policy(tmp_path / "nowhere.yaml", WORDS)


# -- the shipped example, on the demo, as `make demo` runs it -------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_the_example_policy_on_the_demo(store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    from tests.flowlines import read_records

    assert (
        runner.invoke(app, ["demo", "--records", "20000", "--files", "2", "-o", str(tmp_path / "logs")]).exit_code == 0
    )
    known = str(ROOT / "known-ips.example.yaml")
    assert runner.invoke(app, ["load", "--known-ips", known, str(tmp_path / "logs")]).exit_code == 0
    status, found = _check(str(ROOT / "policy.example.yaml"), "--known-ips", known)
    records = [r for path in sorted((tmp_path / "logs").glob("*.log.gz")) for r in read_records(path)]
    # The web servers' conversations with the cache: their requests and the cache's replies, on 6379.
    web_cache = {
        web: sum(1 for r in records if {r["srcaddr"], r["dstaddr"]} == {web, CACHE} and r["action"] == "ACCEPT"
                 and "6379" in (r["srcport"], r["dstport"]))
        for web in ("10.0.1.11", "10.0.1.12")
    }  # fmt: skip
    assert status == 4
    assert {(v["client"], v["server_name"], v["port"]): v["count"] for v in found["violations"]} == {
        (web, "cache", 6379): count for web, count in web_cache.items()
    }
    assert [(r["number"], r["ports"]) for r in found["unused_rules"]] == [(6, ["9000-9001"])]
    assert found["missing"] == []
    scanned = {r["dstaddr"] for r in records if r["action"] == "REJECT"}
    assert found["rejected"] and {c["server"] for c in found["rejected"]} == scanned
    assert sum(c["count"] for c in found["rejected"]) == sum(1 for r in records if r["action"] == "REJECT")
