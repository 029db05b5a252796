"""Demo lines into files: one .log/.gz file, or a folder of gzip files named as AWS names them in S3."""

import gzip
import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from etl.demo.vpc import DEMO_ACCOUNT, DEMO_RECORDS_PER_SECOND, DEMO_START, FLOW_LOG_ID, HEADER, REGION
from etl.errors import UsageError


class Model(Protocol):
    def batches(self, index: int, records: int, start: int) -> Iterator[list[str]]: ...


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


def write_files(
    model: Model, path: Path, records: int, *, files: int = 1, seed: int = 7, start: int = DEMO_START
) -> list[Path]:
    """Write `records` lines of `model`: to `path` itself if it names one .gz/.log file, else as `files`
    gzip files in the directory `path`, each covering the next slice of time. Every file starts with
    AWS's header."""
    if records < 0 or files < 1:
        raise UsageError(f"need records >= 0 and files >= 1, got records={records} and files={files}")
    single = files == 1 and path.name.endswith((".gz", ".log"))
    target = path
    try:
        if not single:
            path.mkdir(parents=True, exist_ok=True)
        written, before = [], 0
        for index in range(files):
            count = records // files + (index < records % files)
            first = start + before // DEMO_RECORDS_PER_SECOND
            target = path if single else path / _aws_name(seed, index, first)
            with _open(target) as out:
                out.write(HEADER.encode() + b"\n")
                for batch in model.batches(index, count, first):
                    out.write("\n".join(batch).encode() + b"\n")
            written.append(target)
            before += count
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror or error}") from error
    return written
