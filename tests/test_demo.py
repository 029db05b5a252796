"""The demo generator writes well-formed, realistic, reproducible VPC flow log files.

Lines are checked with plain str.split, independently of etl/parse.py.
"""

import gzip
import ipaddress
import itertools
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.cli.load import DemoProfile
from etl.demo import (
    DEMO_ACCOUNT,
    DEMO_SCANNER_CIDR,
    DEMO_START,
    DEMO_VPC_CIDR,
    HEADER,
    INTERNET_SCANNER_CIDR,
    PROFILES,
    demo_known_ips,
    generate_lines,
    write_demo,
)
from etl.demo.internet import InternetModel
from etl.errors import UsageError

AWS_NAME = re.compile(
    rf"{DEMO_ACCOUNT}_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f67890_\d{{8}}T\d{{4}}Z_[0-9a-f]{{8}}\.log\.gz"
)
SCANNERS = ipaddress.ip_network(DEMO_SCANNER_CIDR)
VPC = ipaddress.IPv4Network(DEMO_VPC_CIDR)
LINES = 30_000
INTERNET_LINES = 60_000  # a minute of the demo's clock


@pytest.fixture(scope="module")
def lines() -> list[list[str]]:
    return [line.split(" ") for line in generate_lines(LINES, seed=7)]


def known(name: str) -> str:
    return next(entry["ip"] for entry in demo_known_ips() if entry["name"] == name)


def read_lines(path: Path) -> list[str]:
    """A file's lines after its header, which must come first."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        text = handle.read()
    header, *rest = text.split("\n")
    assert header == HEADER
    assert rest[-1] == "", "every line ends with a newline"
    return rest[:-1]


def totals(lines: list[str]) -> tuple[int, int, int, Counter[str]]:
    """Records, packets, bytes and records per action, counted by hand."""
    packets = bytes_ = 0
    actions: Counter[str] = Counter()
    for line in lines:
        fields = line.split()
        actions[fields[13] if fields[13] == "NODATA" else fields[12]] += 1
        if fields[13] == "OK":
            packets += int(fields[8])
            bytes_ += int(fields[9])
    return len(lines), packets, bytes_, actions


@pytest.mark.parametrize(("records", "files"), [(10_001, 3), (5, 4), (0, 2), (7_000, 1)])
def test_directory_holds_exactly_the_records_asked_for(tmp_path: Path, records: int, files: int) -> None:
    paths = write_demo(tmp_path / "logs", records, files=files, seed=3)
    assert len(paths) == files == len(set(paths))
    assert all(AWS_NAME.fullmatch(p.name) and p.parent == tmp_path / "logs" for p in paths)
    counts = [len(read_lines(p)) for p in paths]
    assert sum(counts) == records
    assert max(counts) - min(counts) <= 1


def test_files_cover_consecutive_time_slices(tmp_path: Path) -> None:
    paths = write_demo(tmp_path, 240_000, files=3, seed=1)  # 240 s of traffic at the demo's rate
    minutes = [[int(line.split()[10]) // 60 for line in read_lines(p)] for p in paths]
    for earlier, later in itertools.pairwise(minutes):
        assert max(earlier) <= min(later) and min(earlier) < min(later)
    assert min(minutes[0]) * 60 == 1767225600  # the default start, 2026-01-01T00:00Z
    assert [p.name.split("_")[4] for p in paths] == ["20260101T0000Z", "20260101T0001Z", "20260101T0002Z"]


@pytest.mark.parametrize("name", ["flows.log", "flows.log.gz"])
def test_single_file_is_the_generated_lines_after_a_header(tmp_path: Path, name: str) -> None:
    (path,) = write_demo(tmp_path / name, 4_321, seed=11)
    assert path == tmp_path / name
    assert read_lines(path) == list(generate_lines(4_321, seed=11))


def test_sums_in_files_match_a_recount_of_the_generator(tmp_path: Path) -> None:
    (path,) = write_demo(tmp_path / "out", 20_000, seed=5)
    from_file = totals(read_lines(path))
    assert from_file == totals(list(generate_lines(20_000, seed=5)))
    records, packets, bytes_, actions = from_file
    assert records == 20_000 == sum(actions.values())
    assert 40 * packets <= bytes_ <= 1500 * packets
    assert actions["ACCEPT"] > actions["REJECT"] > actions["NODATA"] > 0


def test_bad_arguments_are_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        write_demo(tmp_path, 10, files=0)
    with pytest.raises(UsageError):
        write_demo(tmp_path, -1)


def test_generate_lines_yields_exactly_the_count() -> None:
    for records in (0, 1, 2, 5_000, 4_097):
        assert sum(1 for _ in generate_lines(records, seed=2)) == records


def test_same_seed_same_lines_other_seed_other_lines() -> None:
    first = list(generate_lines(3_000, seed=1))
    assert first == list(generate_lines(3_000, seed=1))
    assert first != list(generate_lines(3_000, seed=2))


def test_records_are_well_formed(lines: list[list[str]]) -> None:
    eni = re.compile(r"eni-[0-9a-f]{17}")
    for fields in (f for f in lines if f[13] == "OK"):
        version, account, interface, src, dst, sport, dport, proto, packets, bytes_, start, end, action = fields[:13]
        assert (version, account, len(fields)) == ("2", DEMO_ACCOUNT, 14)
        assert eni.fullmatch(interface)
        assert ipaddress.ip_address(src).version == ipaddress.ip_address(dst).version == 4
        assert 0 <= int(sport) <= 65535 and 0 <= int(dport) <= 65535
        assert proto in {"1", "6", "17"}
        assert 40 * int(packets) <= int(bytes_) <= 1500 * int(packets) and int(packets) >= 1
        assert int(start) <= int(end) <= int(start) + 60
        assert int(end) <= int(start) // 60 * 60 + 60, "a record stays inside its aggregation interval"
        assert action in {"ACCEPT", "REJECT"}


def test_nodata_records_are_rare_and_well_formed(lines: list[list[str]]) -> None:
    nodata = [f for f in lines if f[13] == "NODATA"]
    assert 0.002 * LINES < len(nodata) < 0.01 * LINES
    for fields in nodata:
        assert len(fields) == 14 and fields[:2] == ["2", DEMO_ACCOUNT]
        assert fields[3:10] == ["-"] * 7 and fields[12] == "-"
        assert int(fields[10]) <= int(fields[11])
    assert {f[13] for f in lines} == {"OK", "NODATA"}


def test_only_scanners_are_rejected_and_only_at_the_load_balancers(lines: list[list[str]]) -> None:
    balancers = {e["ip"] for e in demo_known_ips() if e.get("name") == "load-balancer"}
    rejected = [f for f in lines if f[12] == "REJECT"]
    assert {ipaddress.ip_address(f[3]) in SCANNERS for f in lines if f[13] == "OK"} == {True, False}
    assert all(ipaddress.ip_address(f[3]) in SCANNERS and f[4] in balancers for f in rejected)
    assert all(f[12] == "REJECT" for f in lines if f[13] == "OK" and ipaddress.ip_address(f[3]) in SCANNERS)
    assert len({f[6] for f in rejected}) >= 10, "scanners probe many ports"
    assert {"22", "3389", "445"} <= {f[6] for f in rejected}


def test_database_requests_and_replies(lines: list[list[str]]) -> None:
    db, apps = known("database"), {known("app-1"), known("app-2")}
    requests = [f for f in lines if f[4] == db and f[6] == "5432"]
    replies = [f for f in lines if f[3] == db and f[5] == "5432"]
    assert requests and replies
    assert {f[3] for f in requests} == {f[4] for f in replies} == apps
    assert all(32768 <= int(f[6]) <= 60999 for f in replies)
    # Each reply goes back to the app server and ephemeral port its request came from.
    reply_ends = {(f[4], f[6]) for f in replies}
    assert len(reply_ends) > 100 and reply_ends <= {(f[3], f[5]) for f in requests}


def test_replies_to_internet_clients_use_many_ephemeral_ports(lines: list[list[str]]) -> None:
    balancers = {e["ip"] for e in demo_known_ips() if e.get("name") == "load-balancer"}
    replies = [f for f in lines if f[3] in balancers and f[5] in {"443", "80"}]
    ports = {int(f[6]) for f in replies}
    assert len(replies) > 1000 and len(ports) > 0.8 * len(replies)
    assert all(32768 <= port <= 65535 for port in ports)
    assert min(ports) < 49152, "Linux clients' range starts lower than Windows'"
    clients = {f[4] for f in replies}
    assert len(clients) > 100 and not any(ipaddress.ip_address(c) in VPC for c in clients)


def test_outbound_traffic_goes_through_the_nat(lines: list[list[str]]) -> None:
    nat = known("nat-gateway")
    outbound = {(f[6], f[7]) for f in lines if f[3] == nat}
    assert {("443", "6"), ("123", "17")} <= outbound
    assert any(f[4] == known("dns-resolver") and f[6] == "53" and f[7] == "17" for f in lines)


def test_known_ips_name_the_vpc_but_no_outsider() -> None:
    entries = demo_known_ips()
    addresses = [e for e in entries if "ip" in e]
    balancers = [e["ip"] for e in addresses if e["name"] == "load-balancer"]
    assert len(balancers) == len(set(balancers)) == 3
    names = {e["name"] for e in addresses}
    assert {"web-1", "app-1", "database", "cache", "nat-gateway", "dns-resolver"} <= names
    assert all(ipaddress.ip_address(e["ip"]) in VPC and e["group"] and e["role"] for e in addresses)
    subnets = [ipaddress.IPv4Network(e["cidr"]) for e in entries if "cidr" in e]
    assert len(subnets) >= 3 and all(s.subnet_of(VPC) for s in subnets)
    assert all(any(ipaddress.ip_address(e["ip"]) in s for s in subnets) for e in addresses)


@pytest.mark.parametrize("target", ["missing-folder/demo.log", "a-file/inside.log"])
def test_an_output_that_cannot_be_written_is_one_sentence(target: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(
        UsageError, match=f"^cannot write {tmp_path / target}: (No such file or directory|Not a directory)$"
    ):
        write_demo(tmp_path / target, 10)


# The internet profile: the cardinality of an internet-facing VPC.


@pytest.fixture(scope="module")
def internet() -> list[list[str]]:
    return [line.split(" ") for line in generate_lines(INTERNET_LINES, seed=7, profile="internet")]


def client_requests(lines: list[list[str]]) -> Counter[str]:
    """Connections per internet client: its requests to a load balancer on 443 or 80."""
    balancers = {e["ip"] for e in demo_known_ips() if e.get("name") == "load-balancer"}
    return Counter(f[3] for f in lines if f[13] == "OK" and f[4] in balancers and f[6] in {"443", "80"}
                   and ipaddress.ip_address(f[3]) not in VPC)  # fmt: skip


def test_internet_clients_are_many_and_heavy_tailed(internet: list[list[str]]) -> None:
    counts = sorted(client_requests(internet).values(), reverse=True)
    # 40,000 clients an hour: in a minute, ten thousand regulars' busiest few thousand and passers-by.
    assert 3_500 <= len(counts) <= 4_500
    top = sum(counts[: len(counts) // 100])
    assert top > 0.35 * sum(counts), "the top 1% of clients open more than a third of the connections"
    assert sum(c <= 2 for c in counts) > 0.8 * len(counts), "most clients are seen once or twice"
    assert not any(
        ipaddress.ip_address(a) in VPC or ipaddress.ip_address(a).is_private for a in client_requests(internet)
    )


def test_internet_clients_option_sets_how_many() -> None:
    fewer = client_requests(
        [line.split(" ") for line in generate_lines(INTERNET_LINES, profile="internet", clients=4_000)]
    )
    assert 800 <= len(fewer) <= 1_300


def test_new_clients_keep_arriving() -> None:
    """Besides the regulars, clients come and go: those of an hour later are all new."""
    clients = InternetModel(7).clients
    regulars = {address for address, _, _ in clients.regulars}
    early, late = ({c[0] for c in clients.draw(random.Random(1), DEMO_START + t, 20_000)} - regulars for t in (0, 3600))
    assert 800 <= len(early) <= 1_500 and 800 <= len(late) <= 1_500
    assert not early & late


def test_internet_scanners_sweep_every_address_on_several_ports(internet: list[list[str]]) -> None:
    scanners = ipaddress.ip_network(INTERNET_SCANNER_CIDR)
    hosts = {e["ip"] for e in demo_known_ips() if "ip" in e}
    rejected = [f for f in internet if f[12] == "REJECT"]
    assert 0.02 * INTERNET_LINES < len(rejected) < 0.08 * INTERNET_LINES
    assert len({f[3] for f in rejected}) >= 250, "a few hundred scanners"
    targets = {ipaddress.ip_address(f[4]) for f in rejected}
    assert len(targets) >= 800 and len(targets - {ipaddress.ip_address(h) for h in hosts}) >= 790
    subnets = [ipaddress.ip_network(e["cidr"]) for e in demo_known_ips() if "cidr" in e]
    # AWS keeps the first four addresses and the last of each subnet: no ENI has them.
    assert all(any(t in s for s in subnets) and 4 <= int(t) % 256 <= 254 for t in targets)
    assert len({(f[6], f[7]) for f in rejected}) >= 15
    per_scanner = Counter(f[3] for f in rejected)
    busiest = max(per_scanner, key=per_scanner.__getitem__)
    assert 3 <= len({f[6] for f in rejected if f[3] == busiest}) <= 8, "each scanner has a few ports of its own"
    assert all(ipaddress.ip_address(f[3]) in scanners for f in rejected)
    assert all(f[12] == "REJECT" for f in internet if f[13] == "OK" and ipaddress.ip_address(f[3]) in scanners)


def test_internet_replies_carry_the_service_port_back_to_the_request(internet: list[list[str]]) -> None:
    balancers = {e["ip"] for e in demo_known_ips() if e.get("name") == "load-balancer"}
    replies = [f for f in internet if f[3] in balancers and ipaddress.ip_address(f[4]) not in VPC]
    requests = {(f[2], f[3], f[5], f[4], f[6]) for f in internet if f[4] in balancers and f[12] == "ACCEPT"}
    assert len(replies) > 10_000 and {f[5] for f in replies} == {"443", "80"}
    assert all(32768 <= int(f[6]) <= 65535 and f[12] == "ACCEPT" for f in replies)
    # Same ENI, the reply's destination and port are the request's source and port.
    assert all((f[2], f[4], f[6], f[3], f[5]) in requests for f in replies)


def test_internet_records_are_well_formed_and_keep_the_vpc(internet: list[list[str]]) -> None:
    assert all(len(f) == 14 and f[:2] == ["2", DEMO_ACCOUNT] for f in internet)
    ok = [f for f in internet if f[13] == "OK"]
    assert all(40 * int(f[8]) <= int(f[9]) <= 1500 * int(f[8]) and int(f[10]) <= int(f[11]) for f in ok)
    assert 0.002 * INTERNET_LINES < sum(f[13] == "NODATA" for f in internet) < 0.01 * INTERNET_LINES
    assert any(f[4] == known("database") and f[6] == "5432" for f in ok)
    assert any(f[3] == known("nat-gateway") and f[6] == "443" for f in ok)


def test_internet_profile_is_deterministic_and_seeded() -> None:
    first = list(generate_lines(5_000, seed=1, profile="internet"))
    assert first == list(generate_lines(5_000, seed=1, profile="internet"))
    assert first != list(generate_lines(5_000, seed=2, profile="internet"))
    assert first != list(generate_lines(5_000, seed=1, profile="internet", scanners=20))


def test_internet_files_have_aws_names_and_the_same_bytes_for_a_seed(tmp_path: Path) -> None:
    paths = [write_demo(tmp_path / d, 9_000, files=3, seed=4, profile="internet") for d in ("a", "b")]
    assert all(AWS_NAME.fullmatch(p.name) for p in paths[0])
    assert [gzip.decompress(p.read_bytes()) for p in paths[0]] == [gzip.decompress(p.read_bytes()) for p in paths[1]]
    assert sum(len(read_lines(p)) for p in paths[0]) == 9_000


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"profile": "bogus"}, "unknown demo profile 'bogus': choose one of small, internet"),
        ({"profile": "internet", "clients": 0}, "need 1 to 10,000,000 clients"),
        ({"profile": "internet", "scanners": 0}, "and 1 to 100,000 scanners"),
        ({"clients": 5}, "--clients and --scanners size the internet profile"),
    ],
)
def test_bad_profile_arguments_are_a_usage_error(tmp_path: Path, arguments: dict, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        write_demo(tmp_path, 10, **arguments)


def test_the_cli_knows_every_profile() -> None:
    assert tuple(DemoProfile) == PROFILES


@pytest.mark.parametrize(
    ("arguments", "code", "words"),
    [
        (["--profile", "bogus"], 2, ["--profile", "bogus", "small", "internet"]),
        (["--profile", "internet", "--clients", "0"], 2, ["--clients"]),
        (["--profile", "internet", "--scanners", "0"], 2, ["--scanners"]),
        (["--scanners", "5"], 2, ["--profile internet"]),
    ],
)
def test_demo_cli_rejects_bad_profiles_and_sizes(
    tmp_path: Path, arguments: list[str], code: int, words: list[str]
) -> None:
    result = CliRunner().invoke(app, ["demo", "--records", "10", "-o", str(tmp_path / "x.log"), *arguments])
    assert result.exit_code == code, result.output
    assert all(word in result.output for word in words), result.output
    assert not (tmp_path / "x.log").exists()


def test_demo_cli_writes_the_internet_profile(tmp_path: Path) -> None:
    arguments = ["--profile", "internet", "--clients", "2000", "--scanners", "30", "--seed", "5"]
    result = CliRunner().invoke(app, ["demo", "--records", "3000", "-o", str(tmp_path / "x.log"), *arguments])
    assert result.exit_code == 0, result.output
    assert read_lines(tmp_path / "x.log") == list(
        generate_lines(3000, seed=5, profile="internet", clients=2000, scanners=30)
    )
