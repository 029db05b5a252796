"""`vpcflow audit security-groups`: the groups of moto's EC2 (over HTTP) or of a Cartography graph, held
against flows loaded from lines written here, so that each kind of finding occurs once; a control set of
flows, where every rule is used by many, produces none.

The groups are those of tests/cartography_graph.py, made in moto the same way: `web` (HTTPS from
0.0.0.0/0 and 10.0.0.0/8, SSH from `bastion`), `db` (PostgreSQL from `web`, ICMP from 10.0.0.0/16),
`bastion` (SSH from 203.0.113.0/24, everything from 10.9.0.0/16). The database's interface carries `db`
and `web`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.graph.store import GraphStore
from tests import cartography_graph as carto
from tests.test_discover import _client
from tests.test_discover import endpoint as endpoint
from tests.test_discover import no_aws_config as no_aws_config

runner = CliRunner()
T0 = 1_767_225_600
REGION = "sa-east-1"  # a region no other test module uses: moto's state is shared in-process
MOTO_ACCOUNT = "123456789012"
V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
WEB_IP, WEB_IP_2, DB_IP, BASTION_IP = "10.0.1.11", "10.0.1.12", "10.0.3.30", "10.0.0.5"
CUSTOMERS = [f"192.0.2.{n}" for n in range(1, 7)]
INTERNAL = [f"10.0.2.{n}" for n in range(1, 7)]
OPERATORS = [f"10.9.0.{n}" for n in range(1, 7)]
SCANNER = "192.0.2.200"
# A rule by (group name, protocol, ports, peer): the peer a CIDR or a group's name.
Rule = tuple[str, str, str | None, str]
HTTPS_ANY: Rule = ("web", "tcp", "443-443", "0.0.0.0/0")
HTTPS_INTERNAL: Rule = ("web", "tcp", "443-443", "10.0.0.0/8")
SSH_FROM_BASTION: Rule = ("web", "tcp", "22-22", "bastion")
POSTGRES_FROM_WEB: Rule = ("db", "tcp", "5432-5432", "web")
PING_FROM_VPC: Rule = ("db", "icmp", None, "10.0.0.0/16")
SSH_FROM_OFFICE: Rule = ("bastion", "tcp", "22-22", "203.0.113.0/24")
ALL_FROM_OPERATORS: Rule = ("bastion", "any", None, "10.9.0.0/16")


@dataclass(frozen=True)
class Talk:
    """A conversation as its two records (request and reply), and the rules that can have allowed it."""

    client: str
    server: str
    port: int
    protocol: int
    rules: tuple[Rule, ...]
    action: str = "ACCEPT"
    records: int = 2

    def lines(self, account: str) -> list[str]:
        ports = (40000, self.port) if self.protocol != 1 else (0, 0)
        pairs = [(self.client, self.server, *ports), (self.server, self.client, *reversed(ports))]
        if self.action == "REJECT":  # nothing answers a refused attempt: each record is a try
            pairs = [pairs[0]] * self.records
        # A reply starts a second later, as in AWS's own ICMP example (its ports say nothing for ICMP).
        return [f"2 {account} eni-0 {s} {d} {sp} {dp} {self.protocol} 3 300 {T0 + n} {T0 + 60} {self.action} OK\n"
                for n, (s, d, sp, dp) in enumerate(pairs)]  # fmt: skip


def _talks(admins: list[str], pings: bool, scanner: bool) -> list[Talk]:
    talks = [Talk(c, WEB_IP, 443, 6, (HTTPS_ANY,)) for c in CUSTOMERS]
    talks += [Talk(c, WEB_IP_2, 443, 6, (HTTPS_ANY, HTTPS_INTERNAL)) for c in INTERNAL]
    talks += [Talk(BASTION_IP, WEB_IP, 22, 6, (SSH_FROM_BASTION,)), Talk(WEB_IP, DB_IP, 5432, 6, (POSTGRES_FROM_WEB,))]
    talks += [Talk(a, BASTION_IP, 22, 6, (SSH_FROM_OFFICE,)) for a in admins]
    talks += [Talk(o, BASTION_IP, 9000 + n, 6, (ALL_FROM_OPERATORS,)) for n, o in enumerate(OPERATORS)]
    if pings:
        talks += [Talk(c, DB_IP, 0, 1, (PING_FROM_VPC,)) for c in INTERNAL]
    if scanner:
        talks.append(Talk(SCANNER, BASTION_IP, 3389, 6, (), action="REJECT", records=3))
    return talks


FINDINGS = _talks(["203.0.113.7", "203.0.113.8"], pings=False, scanner=True)
CONTROL = _talks([f"203.0.113.{n}" for n in range(1, 7)], pings=True, scanner=False)


def _expected_use(talks: list[Talk]) -> dict[Rule, tuple[int, int, int]]:
    """Each rule's (conversations, distinct clients, records), from the talks as written."""
    use: dict[Rule, tuple[int, int, int]] = {}
    for rule in (HTTPS_ANY, HTTPS_INTERNAL, SSH_FROM_BASTION, POSTGRES_FROM_WEB, PING_FROM_VPC, SSH_FROM_OFFICE,
                 ALL_FROM_OPERATORS):  # fmt: skip
        mine = [t for t in talks if rule in t.rules]
        use[rule] = (len(mine), len({t.client for t in mine}), sum(t.records for t in mine))
    return use


@dataclass(frozen=True)
class Groups:
    """Where the groups come from: the command's options and each group's id by name."""

    options: tuple[str, ...]
    ids: dict[str, str]
    account: str


def _moto_groups(endpoint: str) -> Groups:
    ec2 = _client(endpoint, region=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids = {name: ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
           for name in ("web", "db", "bastion")}  # fmt: skip

    def tcp(port: int, cidrs: tuple[str, ...] = (), group: str | None = None) -> dict[str, Any]:
        return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": c} for c in cidrs],
                "UserIdGroupPairs": [{"GroupId": ids[group]}] if group else []}  # fmt: skip

    permissions = {
        "web": [tcp(443, ("0.0.0.0/0", "10.0.0.0/8")), tcp(22, group="bastion")],
        "db": [tcp(5432, group="web"),
               {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}],
        "bastion": [tcp(22, ("203.0.113.0/24",)), {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}],
    }  # fmt: skip
    for name, rules in permissions.items():
        ec2.authorize_security_group_ingress(GroupId=ids[name], IpPermissions=rules)
    for cidr, addresses, groups in (("10.0.1.0/24", [WEB_IP, WEB_IP_2], ["web"]), ("10.0.3.0/24", [DB_IP], ["db", "web"]),
                                    ("10.0.0.0/24", [BASTION_IP], ["bastion"])):  # fmt: skip
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
        ec2.create_network_interface(
            SubnetId=subnet,
            Groups=[ids[g] for g in groups],
            PrivateIpAddresses=[{"PrivateIpAddress": a, "Primary": n == 0} for n, a in enumerate(addresses)],
        )
    return Groups(("--region", REGION, "--endpoint-url", endpoint), ids, MOTO_ACCOUNT)


@pytest.fixture(scope="module")
def moto_groups(endpoint: str) -> Groups:
    return _moto_groups(endpoint)


@pytest.fixture(params=["ec2", "cartography"])
def groups(request: pytest.FixtureRequest, store: GraphStore, cli_env: dict[str, str]) -> Groups:
    if request.param == "cartography":
        carto.write_cartography_graph(store, carto.CURRENT)
        return Groups(("--from-graph",), {name: id for id, name in carto.GROUPS}, carto.ACCOUNT)
    request.getfixturevalue("no_aws_config")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        request.getfixturevalue("monkeypatch").setenv(name, value)
    return request.getfixturevalue("moto_groups")  # type: ignore[no-any-return]


def _load(talks: list[Talk], account: str, tmp_path: Path) -> None:
    logs = tmp_path / "flows.log"
    logs.write_text(V2 + "\n" + "".join(line for talk in talks for line in talk.lines(account)))
    result = runner.invoke(app, ["load", "--pseudonymize", "none", str(logs)])
    assert result.exit_code == 0, result.output


def _audit(groups: Groups, *more: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["audit", "security-groups", *groups.options, "--format", "json", *more])
    assert result.exit_code in (0, 4), result.output
    return result.exit_code, json.loads(result.stdout)


def _rule_of(entry: dict[str, Any], groups: Groups) -> Rule:
    names = {id: name for name, id in groups.ids.items()}
    return (entry["group_name"], entry["protocol"], entry["ports"], names.get(entry["peer"], entry["peer"]))


def test_each_kind_of_finding_once(groups: Groups, tmp_path: Path) -> None:
    _load(FINDINGS, groups.account, tmp_path)
    status, found = _audit(groups)
    assert status == 0  # findings alone fail nothing without --fail-on
    used = {_rule_of(r, groups): (r["conversations"], r["peers"], r["count"]) for r in found["rules"]}
    assert used == _expected_use(FINDINGS)
    assert [_rule_of(r, groups) for r in found["unused_rules"]] == [PING_FROM_VPC]
    (wide,) = found["wide_rules"]
    assert _rule_of(wide, groups) == SSH_FROM_OFFICE
    assert wide["narrower"] == {"protocol": "tcp", "ports": "22-22", "peers": ["203.0.113.7/32", "203.0.113.8/32"]}
    (refused,) = found["rejected"]
    assert (refused["group"], refused["conversations"], refused["peers"], refused["count"]) == (
        groups.ids["bastion"], 1, 1, 3)  # fmt: skip
    assert [(c["client"], c["server"], c["port"]) for c in refused["attempts"]] == [(SCANNER, BASTION_IP, 3389)]
    assert found["window"] == {"start": None, "end": None}
    assert _audit(groups, "--fail-on", "unused")[0] == 4
    assert _audit(groups, "--fail-on", "wide")[0] == 4


def test_the_control_set_produces_no_finding(groups: Groups, tmp_path: Path) -> None:
    _load(CONTROL, groups.account, tmp_path)
    status, found = _audit(groups, "--fail-on", "unused,wide", "--start", "2026-01-01T00:00:00Z")
    assert status == 0
    assert found["window"] == {"start": "2026-01-01T00:00:00Z", "end": None}
    assert (found["unused_rules"], found["wide_rules"], found["rejected"]) == ([], [], [])
    used = {_rule_of(r, groups): (r["conversations"], r["peers"], r["count"]) for r in found["rules"]}
    assert used == _expected_use(CONTROL)


def test_the_view_and_the_table(groups: Groups, tmp_path: Path) -> None:
    _load(FINDINGS, groups.account, tmp_path)
    page = tmp_path / "audit.html"
    result = runner.invoke(app, ["audit", "security-groups", *groups.options, "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert "Wide rules used narrowly (1)" in result.stdout and "Rules with no traffic (1)" in result.stdout
    data = json.loads(page.read_text().split('<script type="application/json" id="data">')[1].split("</script>")[0])
    panel = {group["title"]: [item["text"] for item in group["items"]] for group in data["meta"]["findings"]}
    assert set(panel) == {"Wide rules used narrowly", "Rules with no traffic", "Refused at groups"}
    flagged = [e for e in data["edges"] if e.get("flag")]
    assert sorted(e["src"].rsplit("/", 1)[-1] for e in flagged) == ["203.0.113.7", "203.0.113.8"]


def test_fail_on_takes_only_known_kinds(groups: Groups) -> None:
    result = runner.invoke(app, ["audit", "security-groups", *groups.options, "--fail-on", "unused,everything"])
    assert result.exit_code == 2
    assert "--fail-on takes unused and wide, not 'everything'" in result.stderr
