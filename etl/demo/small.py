"""The small profile: the demo VPC with a few hundred internet clients and 64 scanners that probe only
the load balancers. A million records fold into about 9,000 edges: the easy case."""

import itertools
import random
from collections.abc import Iterator

from etl.demo.vpc import (
    DEMO_ACCOUNT,
    FLOWS_PER_BATCH,
    INTERNAL_MIX,
    LBS,
    LINUX_EPHEMERAL,
    NAT_PORTS,
    PROBES,
    WINDOWS_EPHEMERAL,
    Kind,
    eni,
    file_batches,
    internal_groups,
    ip,
    nodata_kinds,
    offsets,
    pair,
    size_table,
    u32,
    window_times,
    zipf,
)

DEMO_SCANNER_CIDR = "192.0.2.0/24"  # the only sources of REJECT records
_CLIENTS = [f"198.51.100.{i}" for i in range(1, 255)] + [f"203.0.113.{i}" for i in range(1, 121)]
_SCANNERS = [f"192.0.2.{i}" for i in range(1, 255, 4)]
# Share of flows per kind of traffic (before NODATA is added).
_MIX = {**INTERNAL_MIX, "client": 40, "scan": 10}


def _clients(rng: random.Random) -> tuple[list[Kind], list[float]]:
    sizes, kinds, weights = size_table(rng, "https"), list[Kind](), list[float]()
    for client, weight in zip(_CLIENTS, zipf(rng, len(_CLIENTS)), strict=True):
        ports = WINDOWS_EPHEMERAL if rng.random() < 0.4 else LINUX_EPHEMERAL
        for lb in LBS:
            for port, share in ((443, 0.85), (80, 0.15)):
                kinds.append((ports, NAT_PORTS, sizes, pair(eni(lb), client, ip(lb), port, 6)))
                weights.append(weight * share)
    return kinds, weights


def _scanners(rng: random.Random) -> tuple[list[Kind], list[float]]:
    sizes, kinds, weights = size_table(rng, "probe"), list[Kind](), list[float]()
    for scanner, weight in zip(_SCANNERS, zipf(rng, len(_SCANNERS)), strict=True):
        # Only the load balancers face the internet with a security group that can reject.
        for target in LBS:
            for port, proto in PROBES:
                # ICMP records carry 0 in both port fields; TCP/UDP probes come from random high ports.
                ports = ["0"] if proto == 1 else NAT_PORTS
                head = f"2 {DEMO_ACCOUNT} {eni(target)} {scanner} {ip(target)} "
                kinds.append((ports, NAT_PORTS, sizes, ((head, 0, f" {port} {proto} ", 0, " REJECT OK"),)))
                weights.append(weight)
    return kinds, weights


class SmallModel:
    """Every kind of flow the small profile has, with cumulative weights for `random.choices`."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"vpcflow-demo-model:{seed}")
        self.seed = seed
        kinds, weights = [], []
        weighted = {name: (ks, [1.0] * len(ks)) for name, ks in internal_groups(rng).items()}
        weighted["client"], weighted["scan"] = _clients(rng), _scanners(rng)
        for name, (ks, ws) in weighted.items():
            total = sum(ws)
            kinds += ks
            weights += [_MIX[name] * w / total for w in ws]
        lines = sum(w * len(k[3]) for k, w in zip(kinds, weights, strict=True))
        nodata, nodata_weights = nodata_kinds(lines)
        self.kinds, self.cum_weights = kinds + nodata, list(itertools.accumulate(weights + nodata_weights))
        self.offsets = offsets(rng)

    def batches(self, index: int, records: int, start: int) -> Iterator[list[str]]:
        """Exactly `records` lines of file `index` from `start` on, in batches."""
        return file_batches(self._batch, random.Random(f"vpcflow-demo-lines:{self.seed}:{index}"), records, start)

    def _batch(self, rng: random.Random, now: int, need: int) -> list[str]:
        """At most `need` lines from up to one batch of flows, all in the aggregation interval around `now`."""
        k = min(FLOWS_PER_BATCH, need)
        kinds = rng.choices(self.kinds, cum_weights=self.cum_weights, k=k)
        times = window_times(self.offsets, now)
        out: list[str] = []
        append = out.append
        for (eph, nat, sizes, lines), r, s, t in zip(
            kinds, u32(rng, k), rng.randbytes(k), rng.randbytes(k), strict=True
        ):
            ports = (eph[r % len(eph)], nat[(r >> 16) % len(nat)])
            size, when = sizes[s], times[t]
            for head, port, mid, side, tail in lines:
                append(f"{head}{ports[port]}{mid}{size[side]} {when}{tail}")
        del out[need:]
        return out
