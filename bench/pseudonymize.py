"""Pseudonyms per second on the batch path, for distinct random IPv4 and IPv6 addresses.

Run from the repository root: ``PYTHONPATH=. python bench/pseudonymize.py``.
"""

from __future__ import annotations

import ipaddress
import random
import secrets
import time

from etl.pseudonymize import Pseudonymizer

RUNS = (("ipv4", 4, 100_000), ("ipv4", 4, 1_000_000), ("ipv6", 6, 100_000))


def distinct_addresses(version: int, count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    kind, bits = (ipaddress.IPv4Address, 32) if version == 4 else (ipaddress.IPv6Address, 128)
    numbers: set[int] = set()
    while len(numbers) < count:
        numbers.add(rng.getrandbits(bits))
    return [str(kind(n)) for n in numbers]


def addresses_per_second(pseudonymizer: Pseudonymizer, addresses: list[str]) -> tuple[float, float]:
    """Per second of wall time, and per second of this process's CPU time (steadier on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    pseudonymizer.pseudonyms(addresses)
    return len(addresses) / (time.perf_counter() - wall), len(addresses) / (time.process_time() - cpu)


def main() -> dict[str, float]:
    pseudonymizer = Pseudonymizer(secrets.token_bytes(32))
    figures: dict[str, float] = {}
    for family, version, count in RUNS:
        wall, cpu = addresses_per_second(pseudonymizer, distinct_addresses(version, count))
        figures[f"{family}_{count}_per_s"] = round(wall)
        figures[f"{family}_{count}_per_cpu_s"] = round(cpu)
    for name, value in figures.items():
        print(f"{name}: {value:,.0f} addresses/s")
    return figures


if __name__ == "__main__":
    main()
