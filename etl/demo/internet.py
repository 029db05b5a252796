"""The internet profile: the demo VPC behind internet-facing load balancers as real ones see the
internet, tens of thousands of distinct clients an hour and scanners sweeping every address.

Clients: a pool of regulars (a quarter of the clients asked for) with Zipf weights, so a few are very
busy, and passers-by who keep arriving at a steady rate and each open a connection or two within five
minutes of arriving. Scanners, with Zipf weights too, probe random (address, port) pairs among every
usable address of the VPC's subnets and a few ports of their own, as zmap and masscan sweep: the busy
ones cover their pairs and repeat, the rest leave one edge per probe. Everything else (the tiers, the
NAT, DNS, NODATA) is the small profile's. Cardinality is what makes this profile: a million records
fold into about 90,000 edges, ten times the small profile's.
"""

import ipaddress
import itertools
import math
import random
from collections.abc import Iterator

from etl.demo.vpc import (
    DEMO_ACCOUNT,
    DEMO_RECORDS_PER_SECOND,
    DEMO_START,
    FLOWS_PER_BATCH,
    HOSTS,
    INTERNAL_MIX,
    LBS,
    LINUX_EPHEMERAL,
    NAT_PORTS,
    PROBES,
    SUBNETS,
    WINDOWS_EPHEMERAL,
    Kind,
    eni,
    file_batches,
    internal_groups,
    ip,
    nodata_kinds,
    offsets,
    size_table,
    u32,
    window_times,
    zipf,
)

DEFAULT_CLIENTS = 40_000  # distinct clients per hour of log time
DEFAULT_SCANNERS = 300
MAX_CLIENTS, MAX_SCANNERS = 10_000_000, 100_000
INTERNET_SCANNER_CIDR = "198.18.0.0/15"  # RFC 2544's benchmarking range: the only sources of REJECTs
# Public /8s the clients come from (ISP space, none of it AWS's, so no client looks like an AWS service).
_CLIENT_BLOCKS = (24, 31, 37, 46, 62, 73, 77, 81, 86, 91, 98, 109, 151, 176, 188, 201)
_REGULARS, _REGULAR_SKEW = 0.25, 1.0  # share of an hour's clients, exponent of their Zipf weights
_PASSER_BASE = 1 << 27  # client numbers from here on are passers-by; below, regulars (2**28 in all)
_PASSER_VISITS = 1.5  # connections a passer-by opens, on average, within _PASSER_WINDOW seconds
_PASSER_WINDOW = 300
# Share of flows per kind of traffic (before NODATA is added): a client connection writes 2 lines, a
# probe 1, the VPC's own flows 2 to 6, so clients make about 44% of the lines and probes about 4%.
_MIX = {**INTERNAL_MIX, "client": 150, "scan": 30}
_CLIENT: Kind = ([], [], [], ())  # markers among the kinds `random.choices` picks from
_SCAN: Kind = ([], [], [], ())
Client = tuple[str, list[str], int]  # address, its OS's ephemeral ports, the load balancer it uses
_GOLDEN = 2654435761  # odd, so multiplying by it modulo a power of two is a bijection


def _client(number: int) -> Client:
    """Client `number`: its address (distinct numbers, distinct addresses), its OS's ports, and its load
    balancer (DNS round-robin hands each client one of the three; it keeps it while the answer lasts)."""
    mixed = number * _GOLDEN % (1 << 28)  # 16 blocks of 2**24 addresses, neighbours far apart
    address = f"{_CLIENT_BLOCKS[mixed >> 24]}.{mixed >> 16 & 255}.{mixed >> 8 & 255}.{mixed & 255}"
    ports = WINDOWS_EPHEMERAL if (mixed >> 3) % 10 < 4 else LINUX_EPHEMERAL  # 40% Windows
    return address, ports, mixed % len(LBS)


class _Clients:
    """Who opens each client connection: a regular by Zipf weight, or a recently arrived passer-by."""

    def __init__(self, rng: random.Random, per_hour: int, connections_per_second: float) -> None:
        regulars = max(1, int(per_hour * _REGULARS))
        self.regulars = [_client(n) for n in range(regulars)]
        # Arrivals such that regulars plus passers-by seen at least once make `per_hour` an hour.
        seen = 1 - math.exp(-_PASSER_VISITS)
        self.arrivals = max(0, per_hour - regulars) / 3600 / seen
        passers = min(0.95, self.arrivals * _PASSER_VISITS / connections_per_second)
        weights = [w * (1 - passers) for w in _normalised(zipf(rng, regulars, exponent=_REGULAR_SKEW))]
        self.cum_weights = list(itertools.accumulate([*weights, passers]))

    def draw(self, rng: random.Random, now: int, k: int) -> list[Client]:
        picks = rng.choices(range(len(self.regulars) + 1), cum_weights=self.cum_weights, k=k)
        out, regulars, since = [], self.regulars, now - DEMO_START - _PASSER_WINDOW
        for pick, r in zip(picks, u32(rng, k), strict=True):
            if pick < len(regulars):
                out.append(regulars[pick])
            else:  # someone who arrived within the window before `now`
                out.append(_client(_PASSER_BASE + math.floor((since + _PASSER_WINDOW * r / 2**32) * self.arrivals)))
        return out


def _normalised(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]


def _targets() -> list[tuple[str, str]]:
    """(head up to srcaddr, " dstaddr ") for every address an ENI can have in the VPC's subnets: AWS
    keeps the first four and the last of each subnet. Hosts log on their own ENI, the rest on one each."""
    names = {ip(host): host for host in HOSTS}
    targets = []
    for cidr in SUBNETS:
        for address in list(ipaddress.ip_network(cidr))[4:-1]:
            interface = eni(names.get(str(address), str(address)))
            targets.append((f"2 {DEMO_ACCOUNT} {interface} ", f" {address} "))
    return targets


class _Scanners:
    """Each scanner's address and ports; which scanner sends each probe, and to what."""

    def __init__(self, rng: random.Random, count: int) -> None:
        network = ipaddress.ip_network(INTERNET_SCANNER_CIDR)
        self.targets = _targets()
        self.scanners = []
        for n in range(count):
            address = network[(n * _GOLDEN + 1) % network.num_addresses]
            # ICMP records carry 0 in both port fields; TCP/UDP probes come from random high ports.
            probes = [(["0"] if proto == 1 else NAT_PORTS, f" {port} {proto} ") for port, proto in rng.sample(PROBES, rng.randint(3, 8))]  # fmt: skip
            self.scanners.append((str(address), probes))
        self.cum_weights = list(itertools.accumulate(zipf(rng, count)))

    def draw(self, rng: random.Random, k: int) -> list[tuple[str, str, str]]:
        """(line up to srcport, srcport, " dstport protocol ") for `k` probes."""
        picks = rng.choices(self.scanners, cum_weights=self.cum_weights, k=k)
        out, targets = [], self.targets
        for (scanner, probes), r in zip(picks, u32(rng, k), strict=True):
            head, dst = targets[r % len(targets)]
            sources, probe = probes[(r >> 20) % len(probes)]
            out.append((f"{head}{scanner}{dst}", sources[(r >> 4) % len(sources)], probe))
        return out


def _frontends(rng: random.Random) -> list[list[tuple[str, str, str, str]]]:
    """Per load balancer, 256 (ENI head, " lb ", " port 6 ", "lb ") pieces for client connections,
    85% to 443 and 15% to 80."""
    ports = rng.choices((443, 80), weights=(85, 15), k=256)
    return [[(f"2 {DEMO_ACCOUNT} {eni(lb)} ", f" {ip(lb)} ", f" {port} 6 ", f"{ip(lb)} ") for port in ports] for lb in LBS]  # fmt: skip


class InternetModel:
    """Every kind of flow the internet profile has, with cumulative weights for `random.choices`."""

    def __init__(self, seed: int, clients: int = DEFAULT_CLIENTS, scanners: int = DEFAULT_SCANNERS) -> None:
        rng = random.Random(f"vpcflow-demo-internet-model:{seed}")
        self.seed = seed
        kinds, weights = [], []
        for name, group in internal_groups(rng).items():
            kinds += group
            weights += [_MIX[name] / len(group)] * len(group)
        kinds += [_CLIENT, _SCAN]
        weights += [_MIX["client"], _MIX["scan"]]
        lines = sum(w * (2 if k is _CLIENT else 1 if k is _SCAN else len(k[3])) for k, w in zip(kinds, weights, strict=True))  # fmt: skip
        flows_per_second = DEMO_RECORDS_PER_SECOND * sum(weights) / lines
        nodata, nodata_weights = nodata_kinds(lines)
        self.kinds, self.cum_weights = kinds + nodata, list(itertools.accumulate(weights + nodata_weights))
        self.offsets = offsets(rng)
        self.https, self.probe = size_table(rng, "https"), size_table(rng, "probe")
        self.frontends = _frontends(rng)
        self.clients = _Clients(rng, clients, flows_per_second * _MIX["client"] / sum(weights))
        self.scanners = _Scanners(rng, scanners)

    def batches(self, index: int, records: int, start: int) -> Iterator[list[str]]:
        """Exactly `records` lines of file `index` from `start` on, in batches."""
        return file_batches(
            self._batch, random.Random(f"vpcflow-demo-internet-lines:{self.seed}:{index}"), records, start
        )

    def _batch(self, rng: random.Random, now: int, need: int) -> list[str]:
        """At most `need` lines from up to one batch of flows, all in the aggregation interval around `now`."""
        k = min(FLOWS_PER_BATCH, need)
        kinds = rng.choices(self.kinds, cum_weights=self.cum_weights, k=k)
        clients = iter(self.clients.draw(rng, now, kinds.count(_CLIENT)))
        probes = iter(self.scanners.draw(rng, kinds.count(_SCAN)))
        times, https, probe_sizes, frontends = window_times(self.offsets, now), self.https, self.probe, self.frontends
        out: list[str] = []
        append = out.append
        for kind, r, s, t in zip(kinds, u32(rng, k), rng.randbytes(k), rng.randbytes(k), strict=True):
            when = times[t]
            if kind is _CLIENT:
                client, client_ports, balancer = next(clients)
                head, lb, port, lb_ = frontends[balancer][r >> 24]
                eph, size = client_ports[r % len(client_ports)], https[s]
                append(f"{head}{client}{lb}{eph}{port}{size[0]} {when} ACCEPT OK")
                append(f"{head}{lb_}{client}{port[:-2]}{eph} 6 {size[1]} {when} ACCEPT OK")
            elif kind is _SCAN:
                line, source, dst_port = next(probes)
                append(f"{line}{source}{dst_port}{probe_sizes[s][0]} {when} REJECT OK")
            else:
                eph_ports, nat, sizes, lines = kind
                ports = (eph_ports[r % len(eph_ports)], nat[(r >> 16) % len(nat)])
                size = sizes[s]
                for head, slot, mid, side, tail in lines:
                    append(f"{head}{ports[slot]}{mid}{size[side]} {when}{tail}")
        del out[need:]
        return out
