"""The demo's made-up VPC and the pre-built pieces every profile writes its lines from.

Format: https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html. Flows are logged as
AWS logs them: request and reply on each ENI that sees them (both ends' ENIs inside the VPC, and the
NAT gateway's ENI before and after it rewrites the source). Speed comes from pre-built string pieces
and per-batch randomness.
"""

import array
import hashlib
import random
import sys
from collections.abc import Callable, Iterator, Sequence

DEMO_ACCOUNT = "123456789012"
DEMO_VPC_CIDR = "10.0.0.0/16"
DEMO_START = 1767225600  # 2026-01-01T00:00:00Z
DEMO_RECORDS_PER_SECOND = 1000  # how fast the demo's clock advances, so 10M records span ~2.8 h
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
REGION, FLOW_LOG_ID = "us-east-1", "fl-0a1b2c3d4e5f67890"

FLOWS_PER_BATCH = 2048
NODATA_SHARE = 0.005
# name -> (ip, known-ips name, group, role); every one of these hosts has its own ENI.
HOSTS = {
    "lb-a": ("10.0.0.10", "load-balancer", "public", "load-balancer"),
    "lb-b": ("10.0.0.11", "load-balancer", "public", "load-balancer"),
    "lb-c": ("10.0.0.12", "load-balancer", "public", "load-balancer"),
    "nat": ("10.0.0.5", "nat-gateway", "public", "nat-gateway"),
    "web-1": ("10.0.1.11", "web-1", "web", "web"),
    "web-2": ("10.0.1.12", "web-2", "web", "web"),
    "app-1": ("10.0.2.21", "app-1", "app", "app"),
    "app-2": ("10.0.2.22", "app-2", "app", "app"),
    "db": ("10.0.3.30", "database", "data", "postgres"),
    "cache": ("10.0.3.40", "cache", "data", "redis"),
}
# The VPC's Amazon DNS resolver (base of the CIDR + 2). Real flow logs leave out traffic to it; the
# demo keeps it so the graph shows who resolves names, as it would with a custom resolver.
DNS_RESOLVER = "10.0.0.2"
SUBNETS = {"10.0.0.0/24": "public", "10.0.1.0/24": "web", "10.0.2.0/24": "app", "10.0.3.0/24": "data"}
LBS, WEBS, APPS = ("lb-a", "lb-b", "lb-c"), ("web-1", "web-2"), ("app-1", "app-2")
# Public services reached through the NAT: AWS API endpoints (52.94.x.x) and NTP servers.
_AWS_APIS = ("52.94.133.131", "52.94.228.167", "52.94.5.100", "52.94.24.18")
_NTP_SERVERS = ("203.0.113.123", "203.0.113.124")
PROBES = ((22, 6), (23, 6), (3389, 6), (445, 6), (1433, 6), (3306, 6), (8080, 6), (5900, 6), (25, 6),
          (21, 6), (6379, 6), (9200, 6), (27017, 6), (2375, 6), (8443, 6), (161, 17), (1900, 17),
          (5060, 17), (0, 1))  # fmt: skip
# Share of flows per kind of traffic inside the VPC and through the NAT, as the small profile mixes it.
INTERNAL_MIX = {"lb_web": 20, "web_app": 20, "db": 15, "cache": 18, "nat": 7, "ntp": 1, "dns": 8}
# Size classes: (request, reply), each (fewest packets, most packets, smallest and largest mean size).
_SIZES = {
    "https": ((3, 40, 90, 600), (3, 120, 700, 1450)),
    "http": ((2, 20, 100, 800), (2, 80, 500, 1400)),
    "postgres": ((2, 30, 80, 500), (2, 200, 300, 1400)),
    "redis": ((1, 10, 60, 200), (1, 10, 60, 900)),
    "dns": ((1, 1, 60, 90), (1, 1, 80, 300)),
    "ntp": ((1, 1, 76, 76), (1, 1, 76, 76)),
    "probe": ((1, 3, 40, 60), (1, 1, 40, 40)),
}

PORTS = [str(p) for p in range(65536)]
LINUX_EPHEMERAL = PORTS[32768:61000]  # net.ipv4.ip_local_port_range default
WINDOWS_EPHEMERAL = PORTS[49152:65536]  # IANA dynamic range, Windows' default
NAT_PORTS = PORTS[1024:65536]  # a NAT gateway maps to source ports 1024-65535

# One output line: head + port + mid + size + " " + "start end" + tail; the slots pick the port
# (0 = the flow's ephemeral port, 1 = the NAT's) and the size (0 = request, 1 = reply).
Template = tuple[str, int, str, int, str]
# A kind of flow: (ephemeral ports, NAT ports, 256 size pairs, the lines it writes).
Kind = tuple[list[str], list[str], list[tuple[str, str]], tuple[Template, ...]]
# (start offset in the 60 s aggregation interval, duration) for each of 256 random bytes.
Offsets = list[tuple[int, int]]


def eni(host: str) -> str:
    return "eni-0" + hashlib.sha256(host.encode()).hexdigest()[:16]


def ip(host: str) -> str:
    return HOSTS[host][0]


def demo_known_ips() -> list[dict[str, str]]:
    """The demo VPC's named addresses and subnets, in the known-ips shape."""
    named = [{"ip": ip, "name": name, "group": group, "role": role} for ip, name, group, role in HOSTS.values()]
    named.append({"ip": DNS_RESOLVER, "name": "dns-resolver", "group": "public", "role": "dns"})
    subnets = [{"cidr": cidr, "name": f"{group}-subnet", "group": group} for cidr, group in SUBNETS.items()]
    return named + subnets


def pair(interface: str, client: str, server: str, port: int, proto: int, slot: int = 0) -> tuple[Template, ...]:
    """The request and reply records of one connection as seen on one ENI."""
    head = f"2 {DEMO_ACCOUNT} {interface} "
    return (
        (f"{head}{client} {server} ", slot, f" {port} {proto} ", 0, " ACCEPT OK"),
        (f"{head}{server} {client} {port} ", slot, f" {proto} ", 1, " ACCEPT OK"),
    )


def size_table(rng: random.Random, cls: str) -> list[tuple[str, str]]:
    def one(lo: int, hi: int, small: int, large: int) -> str:
        packets = int(lo * (hi / lo) ** rng.random() + 0.5)  # log-uniform: mostly short flows
        return f"{packets} {packets * rng.randint(small, large)}"

    request, reply = _SIZES[cls]
    return [(one(*request), one(*reply)) for _ in range(256)]


def _internal(rng: random.Random, pairs: Sequence[tuple[str, str]], port: int, cls: str) -> list[Kind]:
    """Connections inside the VPC: both ENIs log both directions."""
    sizes = size_table(rng, cls)
    return [
        (LINUX_EPHEMERAL, NAT_PORTS, sizes,
         pair(eni(c), ip(c), ip(s), port, 6) + pair(eni(s), ip(c), ip(s), port, 6))
        for c, s in pairs
    ]  # fmt: skip


def _outbound(rng: random.Random, servers: Sequence[str], port: int, proto: int, cls: str) -> list[Kind]:
    """Connections to the internet: the instance's ENI, then the NAT's ENI before and after its rewrite."""
    sizes, nat = size_table(rng, cls), eni("nat")
    return [
        (LINUX_EPHEMERAL, NAT_PORTS, sizes,
         pair(eni(h), ip(h), s, port, proto) + pair(nat, ip(h), s, port, proto)
         + pair(nat, ip("nat"), s, port, proto, slot=1))
        for h in WEBS + APPS for s in servers
    ]  # fmt: skip


def zipf(rng: random.Random, n: int, exponent: float = 0.9) -> list[float]:
    """Uneven weights so a few clients or scanners are the top talkers, in a seed-chosen order."""
    weights = [1 / (rank + 1) ** exponent for rank in range(n)]
    rng.shuffle(weights)
    return weights


def internal_groups(rng: random.Random) -> dict[str, list[Kind]]:
    """The VPC's own traffic and its traffic through the NAT, by INTERNAL_MIX's names."""
    cross = [(a, b) for a in LBS for b in WEBS], [(a, b) for a in WEBS for b in APPS]
    cache_users = [(h, "cache") for h in APPS + WEBS]
    dns_sizes = size_table(rng, "dns")
    return {
        "lb_web": _internal(rng, cross[0], 80, "http"),
        "web_app": _internal(rng, cross[1], 8080, "http"),
        "db": _internal(rng, [(a, "db") for a in APPS], 5432, "postgres"),
        "cache": _internal(rng, cache_users, 6379, "redis"),
        "nat": _outbound(rng, _AWS_APIS, 443, 6, "https"),
        "ntp": _outbound(rng, _NTP_SERVERS, 123, 17, "ntp"),
        "dns": [
            (LINUX_EPHEMERAL, NAT_PORTS, dns_sizes, pair(eni(h), ip(h), DNS_RESOLVER, 53, 17)) for h in WEBS + APPS
        ],
    }


def nodata(host: str) -> Kind:
    line = (f"2 {DEMO_ACCOUNT} {eni(host)} - - - - - - -", 0, "", 0, " - NODATA")
    return ([""], [""], [("", "")] * 256, (line,))


def nodata_kinds(lines: float) -> tuple[list[Kind], list[float]]:
    """One NODATA kind per host, weighted so they make NODATA_SHARE of all lines when the other
    kinds' weights times their lines per flow sum to `lines`."""
    kinds = [nodata(host) for host in HOSTS]
    weight = lines * NODATA_SHARE / (1 - NODATA_SHARE) / len(kinds)
    return kinds, [weight] * len(kinds)


def offsets(rng: random.Random) -> Offsets:
    """Most flows last a few seconds; none crosses its 60 s aggregation interval."""
    return [(a, min(60 - a, rng.choice((0, 1, 2, 4, 10, 60)))) for a in rng.choices(range(60), k=256)]


def window_times(table: Offsets, now: int) -> list[str]:
    """The "start end" text for each offset, in the aggregation interval around `now`."""
    window = now - now % 60
    return [f"{window + a} {window + a + d}" for a, d in table]


def u32(rng: random.Random, k: int) -> "array.array[int]":
    values = array.array("I", rng.randbytes(4 * k))  # "I" is 4 bytes on every platform CPython supports
    if sys.byteorder == "big":  # keep the output identical on every machine for a seed
        values.byteswap()
    return values


def file_batches(
    batch: Callable[[random.Random, int, int], list[str]], rng: random.Random, records: int, start: int
) -> Iterator[list[str]]:
    """Exactly `records` lines from `start` on, batch by batch, the clock advancing with the lines."""
    done = 0
    while done < records:
        lines = batch(rng, start + done // DEMO_RECORDS_PER_SECOND, records - done)
        done += len(lines)
        yield lines
