"""Demo data: realistic AWS VPC flow log records (default version-2 format) for a made-up VPC, in two
profiles: `small` (few addresses, edges that repeat) and `internet` (the cardinality real
internet-facing VPCs have)."""

from collections.abc import Iterator
from pathlib import Path

from etl.demo.internet import (
    DEFAULT_CLIENTS,
    DEFAULT_SCANNERS,
    INTERNET_SCANNER_CIDR,
    MAX_CLIENTS,
    MAX_SCANNERS,
    InternetModel,
)
from etl.demo.small import DEMO_SCANNER_CIDR, SmallModel
from etl.demo.vpc import DEMO_ACCOUNT, DEMO_RECORDS_PER_SECOND, DEMO_START, DEMO_VPC_CIDR, HEADER, demo_known_ips
from etl.demo.writer import Model, write_files
from etl.errors import UsageError

__all__ = [
    "DEFAULT_CLIENTS",
    "DEFAULT_SCANNERS",
    "DEMO_ACCOUNT",
    "DEMO_RECORDS_PER_SECOND",
    "DEMO_SCANNER_CIDR",
    "DEMO_START",
    "DEMO_VPC_CIDR",
    "HEADER",
    "INTERNET_SCANNER_CIDR",
    "MAX_CLIENTS",
    "MAX_SCANNERS",
    "PROFILES",
    "demo_known_ips",
    "generate_lines",
    "model",
    "write_demo",
]

PROFILES = ("small", "internet")


def model(profile: str = "small", *, seed: int = 7, clients: int | None = None, scanners: int | None = None) -> Model:
    """The generator of a profile; `clients` (distinct per hour) and `scanners` size the internet one."""
    if profile not in PROFILES:
        raise UsageError(f"unknown demo profile {profile!r}: choose one of {', '.join(PROFILES)}")
    if profile == "small":
        if clients is not None or scanners is not None:
            raise UsageError("--clients and --scanners size the internet profile: add --profile internet")
        return SmallModel(seed)
    clients = DEFAULT_CLIENTS if clients is None else clients
    scanners = DEFAULT_SCANNERS if scanners is None else scanners
    if not (1 <= clients <= MAX_CLIENTS and 1 <= scanners <= MAX_SCANNERS):
        raise UsageError(
            f"need 1 to {MAX_CLIENTS:,} clients and 1 to {MAX_SCANNERS:,} scanners,"
            f" got clients={clients} and scanners={scanners}"
        )
    return InternetModel(seed, clients, scanners)


def generate_lines(
    records: int,
    *,
    seed: int = 7,
    start: int = DEMO_START,
    profile: str = "small",
    clients: int | None = None,
    scanners: int | None = None,
) -> Iterator[str]:
    """Exactly `records` flow log lines (NODATA included), without newlines, deterministic for a seed;
    `profile`, `clients` and `scanners` as `model` takes them."""
    for batch in model(profile, seed=seed, clients=clients, scanners=scanners).batches(0, records, start):
        yield from batch


def write_demo(
    path: Path,
    records: int,
    *,
    files: int = 1,
    seed: int = 7,
    start: int = DEMO_START,
    profile: str = "small",
    clients: int | None = None,
    scanners: int | None = None,
) -> list[Path]:
    """Write `records` lines: to `path` itself if it names one .gz/.log file, else as `files` gzip files
    in the directory `path`, each covering the next slice of time. Every file starts with AWS's header.
    `profile`, `clients` and `scanners` as `model` takes them."""
    generator = model(profile, seed=seed, clients=clients, scanners=scanners)
    return write_files(generator, path, records, files=files, seed=seed, start=start)
