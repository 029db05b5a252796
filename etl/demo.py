"""Demo data: realistic AWS VPC flow log records (default version-2 format) for a small made-up VPC.

Format: https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html. Flows are logged as
AWS logs them: request and reply on each ENI that sees them (both ends' ENIs inside the VPC, and the
NAT gateway's ENI before and after it rewrites the source), scanner probes as lone REJECT records,
now and then a NODATA record. Speed comes from pre-built string pieces and per-batch randomness.
"""

import array
import gzip
import hashlib
import io
import itertools
import random
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from etl.errors import UsageError

DEMO_ACCOUNT = "123456789012"
DEMO_VPC_CIDR = "10.0.0.0/16"
DEMO_SCANNER_CIDR = "192.0.2.0/24"  # the only sources of REJECT records
DEMO_START = 1767225600  # 2026-01-01T00:00:00Z
DEMO_RECORDS_PER_SECOND = 1000  # how fast the demo's clock advances, so 10M records span ~2.8 h
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
REGION, FLOW_LOG_ID = "us-east-1", "fl-0a1b2c3d4e5f67890"

_FLOWS_PER_BATCH = 2048
_NODATA_SHARE = 0.005
# name -> (ip, known-ips name, group, role); every one of these hosts has its own ENI.
_HOSTS = {
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
_DNS_RESOLVER = "10.0.0.2"
_SUBNETS = {"10.0.0.0/24": "public", "10.0.1.0/24": "web", "10.0.2.0/24": "app", "10.0.3.0/24": "data"}
_LBS, _WEBS, _APPS = ("lb-a", "lb-b", "lb-c"), ("web-1", "web-2"), ("app-1", "app-2")
# Public services reached through the NAT: AWS API endpoints (52.94.x.x) and NTP servers.
_AWS_APIS = ("52.94.133.131", "52.94.228.167", "52.94.5.100", "52.94.24.18")
_NTP_SERVERS = ("203.0.113.123", "203.0.113.124")
_CLIENTS = [f"198.51.100.{i}" for i in range(1, 255)] + [f"203.0.113.{i}" for i in range(1, 121)]
_SCANNERS = [f"192.0.2.{i}" for i in range(1, 255, 4)]
_PROBES = ((22, 6), (23, 6), (3389, 6), (445, 6), (1433, 6), (3306, 6), (8080, 6), (5900, 6), (25, 6),
           (21, 6), (6379, 6), (9200, 6), (27017, 6), (2375, 6), (8443, 6), (161, 17), (1900, 17),
           (5060, 17), (0, 1))  # fmt: skip
# Share of flows per kind of traffic (before NODATA is added).
_MIX = {"client": 40, "lb_web": 20, "web_app": 20, "db": 15, "cache": 18, "nat": 7, "ntp": 1,
        "dns": 8, "scan": 10}  # fmt: skip
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

_PORTS = [str(p) for p in range(65536)]
_LINUX_EPHEMERAL = _PORTS[32768:61000]  # net.ipv4.ip_local_port_range default
_WINDOWS_EPHEMERAL = _PORTS[49152:65536]  # IANA dynamic range, Windows' default
_NAT_PORTS = _PORTS[1024:65536]  # a NAT gateway maps to source ports 1024-65535

# One output line: head + port + mid + size + " " + "start end" + tail; the slots pick the port
# (0 = the flow's ephemeral port, 1 = the NAT's) and the size (0 = request, 1 = reply).
Template = tuple[str, int, str, int, str]
# A kind of flow: (ephemeral ports, NAT ports, 256 size pairs, the lines it writes).
Kind = tuple[list[str], list[str], list[tuple[str, str]], tuple[Template, ...]]


def _eni(host: str) -> str:
    return "eni-0" + hashlib.sha256(host.encode()).hexdigest()[:16]


def _ip(host: str) -> str:
    return _HOSTS[host][0]


def demo_known_ips() -> list[dict[str, str]]:
    """The demo VPC's named addresses and subnets, in the known-ips shape."""
    named = [{"ip": ip, "name": name, "group": group, "role": role} for ip, name, group, role in _HOSTS.values()]
    named.append({"ip": _DNS_RESOLVER, "name": "dns-resolver", "group": "public", "role": "dns"})
    subnets = [{"cidr": cidr, "name": f"{group}-subnet", "group": group} for cidr, group in _SUBNETS.items()]
    return named + subnets


def _pair(eni: str, client: str, server: str, port: int, proto: int, slot: int = 0) -> tuple[Template, ...]:
    """The request and reply records of one connection as seen on one ENI."""
    head = f"2 {DEMO_ACCOUNT} {eni} "
    return (
        (f"{head}{client} {server} ", slot, f" {port} {proto} ", 0, " ACCEPT OK"),
        (f"{head}{server} {client} {port} ", slot, f" {proto} ", 1, " ACCEPT OK"),
    )


def _size_table(rng: random.Random, cls: str) -> list[tuple[str, str]]:
    def one(lo: int, hi: int, small: int, large: int) -> str:
        packets = int(lo * (hi / lo) ** rng.random() + 0.5)  # log-uniform: mostly short flows
        return f"{packets} {packets * rng.randint(small, large)}"

    request, reply = _SIZES[cls]
    return [(one(*request), one(*reply)) for _ in range(256)]


def _internal(rng: random.Random, pairs: Sequence[tuple[str, str]], port: int, cls: str) -> list[Kind]:
    """Connections inside the VPC: both ENIs log both directions."""
    sizes = _size_table(rng, cls)
    return [
        (_LINUX_EPHEMERAL, _NAT_PORTS, sizes,
         _pair(_eni(c), _ip(c), _ip(s), port, 6) + _pair(_eni(s), _ip(c), _ip(s), port, 6))
        for c, s in pairs
    ]  # fmt: skip


def _outbound(rng: random.Random, servers: Sequence[str], port: int, proto: int, cls: str) -> list[Kind]:
    """Connections to the internet: the instance's ENI, then the NAT's ENI before and after its rewrite."""
    sizes, nat = _size_table(rng, cls), _eni("nat")
    return [
        (_LINUX_EPHEMERAL, _NAT_PORTS, sizes,
         _pair(_eni(h), _ip(h), s, port, proto) + _pair(nat, _ip(h), s, port, proto)
         + _pair(nat, _ip("nat"), s, port, proto, slot=1))
        for h in _WEBS + _APPS for s in servers
    ]  # fmt: skip


def _zipf(rng: random.Random, n: int) -> list[float]:
    """Uneven weights so a few clients or scanners are the top talkers, in a seed-chosen order."""
    weights = [1 / (rank + 1) ** 0.9 for rank in range(n)]
    rng.shuffle(weights)
    return weights


def _clients(rng: random.Random) -> tuple[list[Kind], list[float]]:
    sizes, kinds, weights = _size_table(rng, "https"), list[Kind](), list[float]()
    for client, weight in zip(_CLIENTS, _zipf(rng, len(_CLIENTS)), strict=True):
        ports = _WINDOWS_EPHEMERAL if rng.random() < 0.4 else _LINUX_EPHEMERAL
        for lb in _LBS:
            for port, share in ((443, 0.85), (80, 0.15)):
                kinds.append((ports, _NAT_PORTS, sizes, _pair(_eni(lb), client, _ip(lb), port, 6)))
                weights.append(weight * share)
    return kinds, weights


def _scanners(rng: random.Random) -> tuple[list[Kind], list[float]]:
    sizes, kinds, weights = _size_table(rng, "probe"), list[Kind](), list[float]()
    for scanner, weight in zip(_SCANNERS, _zipf(rng, len(_SCANNERS)), strict=True):
        # Only the load balancers face the internet with a security group that can reject.
        for target in _LBS:
            for port, proto in _PROBES:
                # ICMP records carry 0 in both port fields; TCP/UDP probes come from random high ports.
                ports = ["0"] if proto == 1 else _NAT_PORTS
                head = f"2 {DEMO_ACCOUNT} {_eni(target)} {scanner} {_ip(target)} "
                kinds.append((ports, _NAT_PORTS, sizes, ((head, 0, f" {port} {proto} ", 0, " REJECT OK"),)))
                weights.append(weight)
    return kinds, weights


def _groups(rng: random.Random) -> dict[str, list[Kind]]:
    cross = [(a, b) for a in _LBS for b in _WEBS], [(a, b) for a in _WEBS for b in _APPS]
    cache_users = [(h, "cache") for h in _APPS + _WEBS]
    dns_sizes = _size_table(rng, "dns")
    return {
        "lb_web": _internal(rng, cross[0], 80, "http"),
        "web_app": _internal(rng, cross[1], 8080, "http"),
        "db": _internal(rng, [(a, "db") for a in _APPS], 5432, "postgres"),
        "cache": _internal(rng, cache_users, 6379, "redis"),
        "nat": _outbound(rng, _AWS_APIS, 443, 6, "https"),
        "ntp": _outbound(rng, _NTP_SERVERS, 123, 17, "ntp"),
        "dns": [
            (_LINUX_EPHEMERAL, _NAT_PORTS, dns_sizes, _pair(_eni(h), _ip(h), _DNS_RESOLVER, 53, 17))
            for h in _WEBS + _APPS
        ],
    }


class _Model:
    """Every kind of flow the demo VPC has, with cumulative weights for `random.choices`."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"vpcflow-demo-model:{seed}")
        kinds, weights = [], []
        weighted = {name: (ks, [1.0] * len(ks)) for name, ks in _groups(rng).items()}
        weighted["client"], weighted["scan"] = _clients(rng), _scanners(rng)
        for name, (ks, ws) in weighted.items():
            total = sum(ws)
            kinds += ks
            weights += [_MIX[name] * w / total for w in ws]
        lines = sum(w * len(k[3]) for k, w in zip(kinds, weights, strict=True))
        nodata = [_nodata(host) for host in _HOSTS]
        kinds += nodata
        weights += [lines * _NODATA_SHARE / (1 - _NODATA_SHARE) / len(nodata)] * len(nodata)
        self.kinds, self.cum_weights = kinds, list(itertools.accumulate(weights))
        # (start offset in the 60 s aggregation interval, duration); most flows last a few seconds.
        self.offsets = [(a, min(60 - a, rng.choice((0, 1, 2, 4, 10, 60)))) for a in rng.choices(range(60), k=256)]


def _nodata(host: str) -> Kind:
    line = (f"2 {DEMO_ACCOUNT} {_eni(host)} - - - - - - -", 0, "", 0, " - NODATA")
    return ([""], [""], [("", "")] * 256, (line,))


def _u32(rng: random.Random, k: int) -> "array.array[int]":
    values = array.array("I", rng.randbytes(4 * k))  # "I" is 4 bytes on every platform CPython supports
    if sys.byteorder == "big":  # keep the output identical on every machine for a seed
        values.byteswap()
    return values


def _batch(model: _Model, rng: random.Random, now: int, need: int) -> list[str]:
    """At most `need` lines from up to one batch of flows, all in the aggregation interval around `now`."""
    k = min(_FLOWS_PER_BATCH, need)
    kinds = rng.choices(model.kinds, cum_weights=model.cum_weights, k=k)
    window = now - now % 60
    times = [f"{window + a} {window + a + d}" for a, d in model.offsets]
    out: list[str] = []
    append = out.append
    for (eph, nat, sizes, lines), r, s, t in zip(kinds, _u32(rng, k), rng.randbytes(k), rng.randbytes(k), strict=True):
        ports = (eph[r % len(eph)], nat[(r >> 16) % len(nat)])
        size, when = sizes[s], times[t]
        for head, port, mid, side, tail in lines:
            append(f"{head}{ports[port]}{mid}{size[side]} {when}{tail}")
    del out[need:]
    return out


def _batches(model: _Model, seed: int, index: int, records: int, start: int) -> Iterator[list[str]]:
    rng = random.Random(f"vpcflow-demo-lines:{seed}:{index}")
    done = 0
    while done < records:
        batch = _batch(model, rng, start + done // DEMO_RECORDS_PER_SECOND, records - done)
        done += len(batch)
        yield batch


def generate_lines(records: int, *, seed: int = 7, start: int = DEMO_START) -> Iterator[str]:
    """Exactly `records` flow log lines (NODATA included), without newlines, deterministic for a seed."""
    for batch in _batches(_Model(seed), seed, 0, records, start):
        yield from batch


def _open(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".log"):
        return path.open("wb")
    try:
        from isal import igzip
    except ImportError:  # isal is a dependency; without it only the speed suffers
        return gzip.open(path, "wb", compresslevel=1)
    return igzip.open(path, "wb", compresslevel=1)


def _aws_name(seed: int, index: int, start: int) -> str:
    """AWS's S3 object name: account_vpcflowlogs_region_flowlogid_YYYYMMDDTHHmmZ_hash.log.gz."""
    stamp = datetime.fromtimestamp(start, UTC).strftime("%Y%m%dT%H%MZ")
    digest = hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:8]
    return f"{DEMO_ACCOUNT}_vpcflowlogs_{REGION}_{FLOW_LOG_ID}_{stamp}_{digest}.log.gz"


def write_demo(path: Path, records: int, *, files: int = 1, seed: int = 7, start: int = DEMO_START) -> list[Path]:
    """Write `records` lines: to `path` itself if it names one .gz/.log file, else as `files` gzip files
    in the directory `path`, each covering the next slice of time. Every file starts with AWS's header."""
    if records < 0 or files < 1:
        raise UsageError(f"need records >= 0 and files >= 1, got records={records} and files={files}")
    single = files == 1 and path.name.endswith((".gz", ".log"))
    target = path
    try:
        if not single:
            path.mkdir(parents=True, exist_ok=True)
        model, written, before = _Model(seed), [], 0
        for index in range(files):
            count = records // files + (index < records % files)
            first = start + before // DEMO_RECORDS_PER_SECOND
            target = path if single else path / _aws_name(seed, index, first)
            with _open(target) as out:
                out.write(HEADER.encode() + b"\n")
                for batch in _batches(model, seed, index, count, first):
                    out.write("\n".join(batch).encode() + b"\n")
            written.append(target)
            before += count
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror or error}") from error
    return written
