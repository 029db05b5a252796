"""Demo data: realistic AWS VPC flow log records (default version-2 format) for a made-up VPC."""

from collections.abc import Iterator
from pathlib import Path

from etl.demo.small import DEMO_SCANNER_CIDR, SmallModel
from etl.demo.vpc import DEMO_ACCOUNT, DEMO_RECORDS_PER_SECOND, DEMO_START, DEMO_VPC_CIDR, HEADER, demo_known_ips
from etl.demo.writer import write_files

__all__ = [
    "DEMO_ACCOUNT",
    "DEMO_RECORDS_PER_SECOND",
    "DEMO_SCANNER_CIDR",
    "DEMO_START",
    "DEMO_VPC_CIDR",
    "HEADER",
    "demo_known_ips",
    "generate_lines",
    "write_demo",
]


def generate_lines(records: int, *, seed: int = 7, start: int = DEMO_START) -> Iterator[str]:
    """Exactly `records` flow log lines (NODATA included), without newlines, deterministic for a seed."""
    for batch in SmallModel(seed).batches(0, records, start):
        yield from batch


def write_demo(path: Path, records: int, *, files: int = 1, seed: int = 7, start: int = DEMO_START) -> list[Path]:
    """Write `records` lines: to `path` itself if it names one .gz/.log file, else as `files` gzip files
    in the directory `path`, each covering the next slice of time. Every file starts with AWS's header."""
    return write_files(SmallModel(seed), path, records, files=files, seed=seed, start=start)
