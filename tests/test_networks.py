"""Addresses belong to a network: two accounts whose VPCs both use 10.0.0.0/16, loaded into the live server."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.graph.store import GraphStore
from etl.known_ips import Known
from etl.networks import NO_NETWORK, Network, network_of, qualified
from etl.queries import find_query
from tests.flowlines import expected_edges
from tests.test_load import graph_edges
from viewer.graph import graph_from_rows

runner = CliRunner()
PROD_VPC, PROD_ACCOUNT = "vpc-0aaaaaaaaaaaaaaaa", "111111111111"
LAB_VPC, LAB_ACCOUNT = "vpc-0bbbbbbbbbbbbbbbb", "222222222222"
PUBLIC = "198.51.100.7"
V3 = "version account-id vpc-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
# The lab account's flow log leaves out account-id and vpc-id: its account is the folder AWS wrote it in.
NO_ACCOUNT = "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"


# -- the rule, as a pure function --------------------------------------------------------------------

PROD_CIDR = Known("prod", role="vpc", vpc=PROD_VPC, account=PROD_ACCOUNT)
LAB_CIDR = Known("lab", role="vpc", vpc=LAB_VPC, account=LAB_ACCOUNT)


@pytest.mark.parametrize(
    ("scope", "holding", "vpc", "account", "network"),
    [
        ("public", [PROD_CIDR], PROD_VPC, PROD_ACCOUNT, NO_NETWORK),  # public addresses are their IP alone
        ("special", [], PROD_VPC, PROD_ACCOUNT, NO_NETWORK),
        ("vpc", [PROD_CIDR, LAB_CIDR], LAB_VPC, LAB_ACCOUNT, Network(LAB_VPC, LAB_ACCOUNT)),  # overlap: the logging VPC's
        ("vpc", [PROD_CIDR, LAB_CIDR], None, LAB_ACCOUNT, Network(LAB_VPC, LAB_ACCOUNT)),  # overlap: the account's
        ("vpc", [LAB_CIDR], PROD_VPC, PROD_ACCOUNT, Network(LAB_VPC, LAB_ACCOUNT)),  # peered: the VPC that holds it
        ("vpc", [PROD_CIDR, LAB_CIDR], "vpc-0ccccccccccccccccc", "333333333333",
         Network("vpc-0ccccccccccccccccc", "333333333333")),  # neither: the logging interface's
        ("private", [], PROD_VPC, PROD_ACCOUNT, Network(PROD_VPC, PROD_ACCOUNT)),
        ("private", [], None, PROD_ACCOUNT, Network(None, PROD_ACCOUNT)),
        ("private", [Known("old", role="vpc")], None, None, NO_NETWORK),  # a known-ips file without places
    ],
)  # fmt: skip
def test_the_network_of_an_address(
    scope: str, holding: list[Known], vpc: str | None, account: str | None, network: Network
) -> None:
    assert network_of(scope, holding, vpc, account) == network


def test_a_key_qualifies_only_an_address_in_a_network() -> None:
    assert qualified(PROD_VPC, "10.0.3.30") == f"{PROD_VPC}/10.0.3.30"
    assert qualified(None, PUBLIC) == PUBLIC
    assert qualified(PROD_ACCOUNT, "10.0.3.30", "eni-0aaaaaaa") == f"{PROD_ACCOUNT}/10.0.3.30@eni-0aaaaaaa"


def test_a_hostile_network_or_holder_cannot_forge_a_key() -> None:
    """A vpc-id from a log file, a Name tag from EC2: data, kept out of the keys' separators."""
    key = qualified("vpc-a|10.0.0.9|443|6|ACCEPT", "10.0.3.30", "web/1@x|y")
    assert key == "vpc-a%7C10.0.0.9%7C443%7C6%7CACCEPT/10.0.3.30@web%2F1%40x%7Cy"
    assert "|" not in key and key.count("/") == 1 and key.count("@") == 1


# -- two accounts, one range, in the live store -------------------------------------------------------


def _line(account: bool, src: str, dst: str, dport: int, packets: int, nbytes: int, network: tuple[str, str]) -> str:
    start = 1_767_225_600 + packets
    ends = f"{src} {dst} 40000 {dport} 6 {packets} {nbytes} {start} {start + 60} ACCEPT OK"
    return f"3 {network[1]} {network[0]} eni-0a {ends}\n" if account else f"3 eni-0b {ends}\n"


# (src, dst, service port, packets, bytes): 10.0.3.30 is a database in prod and a cache in the lab.
PROD_TRAFFIC = [("10.0.2.21", "10.0.3.30", 5432, 10, 1000), ("10.0.2.22", "10.0.3.30", 5432, 4, 400),
                ("10.0.2.21", PUBLIC, 443, 7, 700)]  # fmt: skip
LAB_TRAFFIC = [("10.0.9.9", "10.0.3.30", 6379, 3, 300), ("10.0.2.21", "10.0.3.30", 6379, 2, 200),
               ("10.0.2.21", PUBLIC, 443, 5, 500)]  # fmt: skip


@pytest.fixture
def two_accounts(tmp_path: Path) -> list[Path]:
    prod = tmp_path / "logs" / "prod.log"
    lab = tmp_path / "logs" / "AWSLogs" / LAB_ACCOUNT / "vpcflowlogs" / "eu-west-1" / "2026" / "01" / "01" / "lab.log"
    lab.parent.mkdir(parents=True)
    prod.write_text(V3 + "\n" + "".join(_line(True, *row, network=(PROD_VPC, PROD_ACCOUNT)) for row in PROD_TRAFFIC))
    lab.write_text(NO_ACCOUNT + "\n" + "".join(_line(False, *row, network=("", "")) for row in LAB_TRAFFIC))
    return [prod, lab]


def _counts(traffic: list[tuple[str, str, int, int, int]], network: str) -> Counter[str]:
    """Records per address key, counted from the lines as written."""
    counts: Counter[str] = Counter()
    for src, dst, *_ in traffic:
        for end in (src, dst):
            counts[end if end == PUBLIC else f"{network}/{end}"] += 1
    return counts


NODE_TOTALS = """
MATCH (a:Address)-[f:FLOW]-()
RETURN a.key AS key, a.id AS id, a.name AS name, a.vpc AS vpc, a.account AS account, sum(f.count) AS count
"""


def _load(*args: str) -> None:
    result = runner.invoke(app, ["load", "--pseudonymize", "none", *args])
    assert result.exit_code == 0, result.output


def test_the_same_ip_in_two_accounts_is_two_nodes(
    store: GraphStore, cli_env: dict[str, str], two_accounts: list[Path]
) -> None:
    _load(*map(str, two_accounts))
    _, rows = store.query(NODE_TOTALS, {})
    totals = {r["key"]: r["count"] for r in rows}
    assert totals == _counts(PROD_TRAFFIC, PROD_VPC) + _counts(LAB_TRAFFIC, LAB_ACCOUNT)
    databases = sorted((r["key"], r["id"], r["vpc"], r["account"]) for r in rows if r["id"] == "10.0.3.30")
    assert databases == [
        (f"{LAB_ACCOUNT}/10.0.3.30", "10.0.3.30", None, LAB_ACCOUNT),  # the lab's log names no VPC
        (f"{PROD_VPC}/10.0.3.30", "10.0.3.30", PROD_VPC, PROD_ACCOUNT),
    ]
    assert totals[PUBLIC] == 2  # a public address is one node, whoever logged it


def test_the_inventory_puts_each_address_in_its_vpc_and_names_it_there(
    store: GraphStore, cli_env: dict[str, str], two_accounts: list[Path], tmp_path: Path
) -> None:
    known = tmp_path / "known-ips.yaml"
    known.write_text(
        f"- {{cidr: 10.0.0.0/16, name: prod, role: vpc, vpc: {PROD_VPC}, account: '{PROD_ACCOUNT}'}}\n"
        f"- {{cidr: 10.0.0.0/16, name: lab, role: vpc, vpc: {LAB_VPC}, account: '{LAB_ACCOUNT}'}}\n"
        f"- {{ip: 10.0.3.30, name: orders-db, vpc: {PROD_VPC}, account: '{PROD_ACCOUNT}', subnet: subnet-0d, az: euw1-az1}}\n"
        f"- {{ip: 10.0.3.30, name: lab-cache, vpc: {LAB_VPC}, account: '{LAB_ACCOUNT}', eni: eni-0c}}\n"
    )
    _load("--known-ips", str(known), *map(str, two_accounts))
    _, rows = store.query(NODE_TOTALS + ", a.subnet AS subnet, a.az AS az, a.eni AS eni", {})
    totals = {r["key"]: r["count"] for r in rows}
    assert totals == _counts(PROD_TRAFFIC, PROD_VPC) + _counts(LAB_TRAFFIC, LAB_VPC)
    named = {
        r["key"]: (r["name"], r["account"], r["subnet"], r["az"], r["eni"]) for r in rows if r["id"] == "10.0.3.30"
    }
    assert named == {
        f"{PROD_VPC}/10.0.3.30": ("orders-db", PROD_ACCOUNT, "subnet-0d", "euw1-az1", None),
        f"{LAB_VPC}/10.0.3.30": ("lab-cache", LAB_ACCOUNT, None, None, "eni-0c"),
    }


def test_one_vpc_alone_loads_as_before(store: GraphStore, cli_env: dict[str, str], two_accounts: list[Path]) -> None:
    """Ids are the addresses, as they were before networks; edges and sums are the lines'."""
    prod = two_accounts[0]
    _load(str(prod))
    assert graph_edges(store) == expected_edges([prod])
    _, rows = store.query("MATCH (a:Address) RETURN a.id AS id", {})
    assert sorted(r["id"] for r in rows) == sorted({end for src, dst, *_ in PROD_TRAFFIC for end in (src, dst)})


def test_a_store_from_before_networks_gets_keys_and_loads_on(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """An address written before keys existed is given its id as its key, once, and a load adds to it."""
    store.query("MATCH (v:VpcflowSchema) DELETE v", {}, writes=True)
    store.query("CREATE (:Address {id: '203.0.113.5', scope: 'public'})", {}, writes=True)
    store.ensure_schema()
    log = tmp_path / "public.log"
    log.write_text(V3 + "\n" + _line(True, "203.0.113.5", PUBLIC, 443, 2, 20, ("-", "-")))
    _load(str(log))
    _, rows = store.query("MATCH (a:Address) RETURN a.key AS key ORDER BY key", {})
    assert [r["key"] for r in rows] == ["198.51.100.7", "203.0.113.5"]


def _saved(store: GraphStore, name: str, *assignments: str) -> list[dict[str, object]]:
    query = find_query(name)
    return store.query(query.text, query.bind(list(assignments)))[1]


def test_queries_and_views_tell_the_two_apart(
    store: GraphStore, cli_env: dict[str, str], two_accounts: list[Path]
) -> None:
    _load(*map(str, two_accounts))
    rows = _saved(store, "top-edges", "k=100")
    into_db = {
        (r["src"], r["src_network"], r["dst_network"], r["port"], r["count"]) for r in rows if r["dst"] == "10.0.3.30"
    }
    assert into_db == {
        ("10.0.2.21", PROD_VPC, PROD_VPC, 5432, 1), ("10.0.2.22", PROD_VPC, PROD_VPC, 5432, 1),
        ("10.0.9.9", LAB_ACCOUNT, LAB_ACCOUNT, 6379, 1), ("10.0.2.21", LAB_ACCOUNT, LAB_ACCOUNT, 6379, 1),
    }  # fmt: skip
    labels = {n["id"]: n["label"] for n in graph_from_rows(rows).nodes}
    # Unnamed addresses in both networks read apart; the public one stays a plain address.
    assert labels[f"{PROD_VPC}/10.0.3.30"] == f"{PROD_VPC}/10.0.3.30"
    assert labels[f"{LAB_ACCOUNT}/10.0.3.30"] == f"{LAB_ACCOUNT}/10.0.3.30"
    assert labels[PUBLIC] == PUBLIC
    assert len(labels) == len(_counts(PROD_TRAFFIC, PROD_VPC) + _counts(LAB_TRAFFIC, LAB_ACCOUNT))
    one = _saved(store, "talks-to", f"who={PROD_VPC}/10.0.3.30")
    assert sorted((r["src"], r["port"]) for r in one) == [("10.0.2.21", 5432), ("10.0.2.22", 5432)]
    both = _saved(store, "talks-to", "who=10.0.3.30")
    assert len(both) == 4
    by_name = _saved(store, "by-name", "k=100")
    assert {(r["dst"], r["dst_network"]) for r in by_name if r["dst"] == "10.0.3.30"} == {
        ("10.0.3.30", PROD_VPC),
        ("10.0.3.30", LAB_ACCOUNT),
    }


def test_pseudonymize_all_hides_the_networks_and_reveal_brings_them_back(
    store: GraphStore, cli_env: dict[str, str], two_accounts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VPCFLOW_KEY", bytes(range(32)).hex())
    result = runner.invoke(app, ["load", "--pseudonymize", "all", *map(str, two_accounts)])
    assert result.exit_code == 0, result.output
    _, rows = store.query(NODE_TOTALS, {})
    private = [r for r in rows if r["key"] != r["id"]]
    assert len(private) == len(_counts(PROD_TRAFFIC, PROD_VPC)) - 1 + len(_counts(LAB_TRAFFIC, LAB_ACCOUNT)) - 1
    shown = {r["vpc"] for r in private} | {r["account"] for r in private}
    assert not shown & {PROD_VPC, PROD_ACCOUNT, LAB_ACCOUNT}  # no real id is stored
    keys = sorted(r["key"] for r in private)
    revealed = runner.invoke(app, ["reveal", *keys])
    assert revealed.exit_code == 0, revealed.output
    real = sorted(line.split("\t")[1] for line in revealed.stdout.splitlines())
    expected = _counts(PROD_TRAFFIC, PROD_VPC) + _counts(LAB_TRAFFIC, LAB_ACCOUNT)
    assert real == sorted(k for k in expected if k != PUBLIC)
    account = next(r["account"] for r in private if r["vpc"] is not None)
    assert runner.invoke(app, ["reveal", account]).stdout == f"{account}\t{PROD_ACCOUNT}\n"


# -- ownership over time --------------------------------------------------------------------------

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3600
MOVED_INVENTORY = f"""\
- {{cidr: 10.0.0.0/16, name: prod, role: vpc, vpc: {PROD_VPC}, account: '{PROD_ACCOUNT}'}}
- {{ip: 10.0.1.5, name: app-a, vpc: {PROD_VPC}, account: '{PROD_ACCOUNT}', eni: eni-0a, role: instance,
   from: '2026-01-01T00:00:00Z', to: '2026-01-01T10:00:00Z'}}
- {{ip: 10.0.1.5, name: app-b, vpc: {PROD_VPC}, account: '{PROD_ACCOUNT}', eni: eni-0b, role: instance,
   from: '2026-01-01T12:00:00Z', to: '2026-01-02T00:00:00Z'}}
"""
# Record starts (hours after T0) of 10.0.2.9 -> 10.0.1.5:8080, and who held 10.0.1.5 then: inside
# app-a's span, nearer its last snapshot than app-b's first, nearer app-b's, inside app-b's.
MOVED_RECORDS = [(9, "app-a"), (9.5, "app-a"), (10.9, "app-a"), (11.1, "app-b"), (13, "app-b"), (20, "app-b"),
                 (30, "app-b")]  # fmt: skip


def test_an_address_is_named_by_whoever_held_it_at_the_record(tmp_path: Path) -> None:
    from etl.known_ips import KnownIPs

    path = tmp_path / "inventory.yaml"
    path.write_text(MOVED_INVENTORY)
    known = KnownIPs.load(path)
    assert known.switch_times == (T0 + 11 * HOUR,)
    named = [known.lookup("10.0.1.5", PROD_VPC, PROD_ACCOUNT, at=int(T0 + h * HOUR)) for h, _ in MOVED_RECORDS]
    assert [k.name if k else None for k in named] == [holder for _, holder in MOVED_RECORDS]
    assert known.lookup("10.0.1.5", PROD_VPC, PROD_ACCOUNT).name == "app-b"  # type: ignore[union-attr]


def test_records_before_and_after_a_move_reach_the_right_holder(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(MOVED_INVENTORY)
    log = tmp_path / "moved.log"
    lines = [f"3 {PROD_ACCOUNT} {PROD_VPC} eni-0c 10.0.2.9 10.0.1.5 40000 8080 6 {i + 1} 100 "
             f"{int(T0 + h * HOUR)} {int(T0 + h * HOUR) + 60} ACCEPT OK\n" for i, (h, _) in enumerate(MOVED_RECORDS)]  # fmt: skip
    log.write_text(V3 + "\n" + "".join(lines))
    _load("--known-ips", str(inventory), str(log))
    _, rows = store.query(
        "MATCH (s:Address)-[f:FLOW]->(d:Address) RETURN d.key AS key, d.name AS name, d.eni AS eni, "
        "f.count AS count, f.packets AS packets",
        {},
    )
    got = {(r["key"], r["name"], r["eni"]): (r["count"], r["packets"]) for r in rows}
    expected: dict[str, list[int]] = {"app-a": [], "app-b": []}
    for i, (_, holder) in enumerate(MOVED_RECORDS):
        expected[holder].append(i + 1)
    assert got == {
        (f"{PROD_VPC}/10.0.1.5@eni-0a", "app-a", "eni-0a"): (len(expected["app-a"]), sum(expected["app-a"])),
        (f"{PROD_VPC}/10.0.1.5@eni-0b", "app-b", "eni-0b"): (len(expected["app-b"]), sum(expected["app-b"])),
    }


# -- interfaces and zones -------------------------------------------------------------------------

V5 = (
    "version account-id vpc-id interface-id az-id flow-direction srcaddr dstaddr srcport dstport protocol packets "
    "bytes start end action log-status"
)


def test_the_logging_interface_names_its_address_and_gives_its_zone(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """10.0.1.77 is a secondary address eni-0web got after the inventory's snapshot: the records' interface
    names it all the same; the far ends have no interface in the records and keep the inventory's zone."""
    known = tmp_path / "known-ips.yaml"
    known.write_text(
        f"- {{ip: 10.0.1.10, name: web, role: instance, vpc: {PROD_VPC}, account: '{PROD_ACCOUNT}', eni: eni-0web, "
        "az: euw1-az2}\n"
        f"- {{ip: 10.0.3.30, name: orders-db, vpc: {PROD_VPC}, account: '{PROD_ACCOUNT}', az: euw1-az1}}\n"
    )
    log = tmp_path / "v5.log"
    head = f"5 {PROD_ACCOUNT} {PROD_VPC} eni-0web euw1-az2"
    log.write_text(
        V5 + "\n"
        f"{head} egress 10.0.1.77 10.0.3.30 40000 5432 6 10 4000 {T0} {T0 + 60} ACCEPT OK\n"
        f"{head} ingress 10.0.3.30 10.0.1.77 5432 40000 6 8 3000 {T0} {T0 + 60} ACCEPT OK\n"
        f"{head} ingress 198.51.100.7 10.0.1.77 50000 443 6 2 100 {T0} {T0 + 60} ACCEPT OK\n"
    )
    _load("--known-ips", str(known), str(log))
    _, rows = store.query("MATCH (a:Address) RETURN a.id AS id, a.name AS name, a.eni AS eni, a.az AS az", {})
    assert {r["id"]: (r["name"], r["eni"], r["az"]) for r in rows} == {
        "10.0.1.77": ("web", "eni-0web", "euw1-az2"),
        "10.0.3.30": ("orders-db", None, "euw1-az1"),
        PUBLIC: (None, None, None),
    }
    crossing = _saved(store, "cross-az")
    assert {(r["src"], r["dst"], r["bytes"]) for r in crossing} == {
        ("10.0.1.77", "10.0.3.30", 4000),  # both directions, each as logged
        ("10.0.3.30", "10.0.1.77", 3000),
    }


def test_an_ecs_task_interface_is_named_after_its_service(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Version 7 fields name the task an interface belongs to, where no known-ips entry names it."""
    log = tmp_path / "v7.log"
    log.write_text(
        "version account-id vpc-id interface-id subnet-id flow-direction srcaddr dstaddr srcport dstport protocol "
        "packets bytes start end action log-status ecs-cluster-name ecs-service-name ecs-task-id\n"
        f"7 {PROD_ACCOUNT} {PROD_VPC} eni-0task subnet-0a egress 10.0.4.8 10.0.3.30 40000 5432 6 3 300 {T0} {T0 + 60} "
        "ACCEPT OK shop checkout 0f1e2d3c\n"
        f"7 {PROD_ACCOUNT} {PROD_VPC} eni-0task2 subnet-0a egress 10.0.4.9 10.0.3.30 40000 5432 6 3 300 {T0} {T0 + 60} "
        "ACCEPT OK shop - 9a8b7c6d\n"
    )
    _load(str(log))
    _, rows = store.query("MATCH (a:Address) RETURN a.id AS id, a.name AS name, a.group AS group, a.role AS role, "
                          "a.eni AS eni, a.subnet AS subnet", {})  # fmt: skip
    assert {r["id"]: (r["name"], r["group"], r["role"], r["eni"], r["subnet"]) for r in rows} == {
        "10.0.4.8": ("checkout", "shop", "ecs-task", "eni-0task", "subnet-0a"),
        "10.0.4.9": ("ecs-task 9a8b7c6d", "shop", "ecs-task", "eni-0task2", "subnet-0a"),
        "10.0.3.30": (None, None, None, None, None),
    }


def test_without_flow_direction_the_address_in_all_of_an_interfaces_records_is_its_own(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A version 4 log says the zone (az-id) but not which end is the interface: the end in every record
    eni-0web logged is its address. eni-0lb sent from two of its addresses to one target, so the target
    is in all its records too: claimed by two interfaces, it is placed by neither, rather than wrongly."""
    log = tmp_path / "v4.log"
    head = "version account-id vpc-id interface-id az-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    lines = [
        ("eni-0web", "euw1-az2", "10.0.1.10", "10.0.3.30", 40000, 5432),
        ("eni-0web", "euw1-az2", "10.0.3.30", "10.0.1.10", 5432, 40000),
        ("eni-0web", "euw1-az2", "10.0.1.10", "10.0.3.31", 40001, 5432),
        ("eni-0lb", "euw1-az1", "10.0.0.10", "10.0.1.10", 40002, 80),
        ("eni-0lb", "euw1-az1", "10.0.0.11", "10.0.1.10", 40003, 80),
        ("eni-0db", "euw1-az1", "10.0.1.12", "10.0.3.32", 40004, 5432),
        ("eni-0db", "euw1-az1", "10.0.3.32", "10.0.1.13", 5432, 40005),
    ]
    log.write_text(head + "\n" + "".join(
        f"4 {PROD_ACCOUNT} {PROD_VPC} {eni} {az} {src} {dst} {sp} {dp} 6 1 100 {T0} {T0 + 60} ACCEPT OK\n"
        for eni, az, src, dst, sp, dp in lines
    ))  # fmt: skip
    _load(str(log))
    _, rows = store.query("MATCH (a:Address) RETURN a.id AS id, a.eni AS eni, a.az AS az", {})
    assert {r["id"]: (r["eni"], r["az"]) for r in rows} == {
        "10.0.1.10": (None, None),
        "10.0.3.30": (None, None),
        "10.0.3.31": (None, None),
        "10.0.0.10": (None, None),
        "10.0.0.11": (None, None),
        "10.0.1.12": (None, None),
        "10.0.1.13": (None, None),
        "10.0.3.32": ("eni-0db", "euw1-az1"),
    }


def test_reveal_turns_back_a_holders_key(
    store: GraphStore, cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --pseudonymize all, the key of an address held in turn hides its network, address and
    interface; reveal gives all three back."""
    monkeypatch.setenv("VPCFLOW_KEY", bytes(range(32)).hex())
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(MOVED_INVENTORY.replace("eni-0a,", "eni-0aaaaaaa,").replace("eni-0b,", "eni-0bbbbbbb,"))
    log = tmp_path / "moved.log"
    lines = [f"3 {PROD_ACCOUNT} {PROD_VPC} eni-0c 10.0.2.9 10.0.1.5 40000 8080 6 1 100 {int(T0 + h * HOUR)} "
             f"{int(T0 + h * HOUR) + 60} ACCEPT OK\n" for h in (9, 13)]  # fmt: skip
    log.write_text(V3 + "\n" + "".join(lines))
    result = runner.invoke(app, ["load", "--pseudonymize", "all", "--known-ips", str(inventory), str(log)])
    assert result.exit_code == 0, result.output
    _, rows = store.query("MATCH (a:Address) WHERE a.key CONTAINS '@' RETURN a.key AS key", {})
    keys = [r["key"] for r in rows]
    assert len(keys) == 2 and not any(PROD_VPC in k or "eni-0aaaaaaa" in k for k in keys)
    revealed = runner.invoke(app, ["reveal", *keys])
    assert revealed.exit_code == 0, revealed.output
    assert sorted(line.split("\t")[1] for line in revealed.stdout.splitlines()) == [
        f"{PROD_VPC}/10.0.1.5@eni-0aaaaaaa",
        f"{PROD_VPC}/10.0.1.5@eni-0bbbbbbb",
    ]
