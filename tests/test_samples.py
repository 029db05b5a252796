"""Every public sample parses: per file, the lines expected to be malformed, and every other line
parsed to exactly the values it states (its tokens, mapped by its header, read here with str.split)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from etl.fields import DEFAULT_FIELDS, INTEGER_FIELDS
from etl.formats import read_tables
from etl.parse import ParseStats
from tests.conftest import SAMPLES

DOCS = "awsdocs-amazon-vpc-user-guide"
# The documentation gives custom formats as a code block of their own, then their records.
TCP_FLAGS, NAT, TGW, PATH = (f"{DOCS}/codeblock{n}" for n in ("08", "12", "17", "21"))

# (file, the file whose single line is the header of its header-less records, malformed line numbers)
CASES = [
    (f"{DOCS}/assembled/default-v2-all-examples.log", None, []),
    (f"{DOCS}/assembled/nat-gateway-with-header.log", None, [6, 7]),  # trailing '#comment' text
    (f"{DOCS}/assembled/tcp-flag-with-header.log", None, []),  # line 9 has a double space: still fine
    (f"{DOCS}/assembled/traffic-path-v5-with-header.log", None, []),
    (f"{DOCS}/assembled/transit-gateway-with-header.log", None, [3]),  # a literal '...'
    *((f"{DOCS}/codeblock0{n}", None, []) for n in range(1, 8)),
    (TCP_FLAGS, None, []),
    *((f"{DOCS}/codeblock{n}", TCP_FLAGS, []) for n in ("09", "10", "11")),
    (NAT, None, []),
    *((f"{DOCS}/codeblock{n}", NAT, []) for n in ("13", "14", "15")),
    (f"{DOCS}/codeblock16", NAT, [1, 2]),
    (TGW, None, []),
    (f"{DOCS}/codeblock18", TGW, [2]),
    *((f"{DOCS}/codeblock{n}", TGW, []) for n in ("19", "20")),
    (PATH, None, []),
    (f"{DOCS}/codeblock22", PATH, []),
    (f"{DOCS}/older-version/flow-logs.md.2019-03-03.records.txt", None, []),
    ("obsrvbl-flowlogs-reader/V2_RECORDS.log", None, []),
    ("obsrvbl-flowlogs-reader/V2_millisecond_timestamp.log", None, []),
    ("obsrvbl-flowlogs-reader/V3_FILE.log", None, []),
    ("obsrvbl-flowlogs-reader/V4_FILE.log", None, []),
    ("panther-analysis/attacker_vpc.raw.log", None, []),
    ("panther-labs-panther/TestExtendedVpcFlowLog.with-header.log", None, []),
    ("panther-labs-panther/TestStandardVpcFlowLog.with-header.log", None, [2]),  # an extra trailing token
    ("panther-labs-panther/TestVpcFlowLogNoData.with-header.log", None, []),
]


def sample(name: str) -> Path:
    matches = sorted(SAMPLES.glob(name + "*"))
    assert len(matches) == 1, name
    return matches[0]


def value(field: str, token: str) -> object:
    if token == "-":
        return None
    if field in INTEGER_FIELDS:
        number = int(token)
        return number // 1000 if field in ("start", "end") and number > 2**31 else number
    return token


def stated(path: Path, fields: list[str], malformed: list[int]) -> list[dict[str, object]]:
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        tokens = line.split()
        if not tokens or number in malformed:
            continue
        if all(t.islower() or "-" in t for t in tokens) and not any(c.isdigit() for c in line):
            fields = tokens  # a header line
            continue
        records.append({f: value(f, t) for f, t in zip(fields, tokens, strict=True)})
    return records


@pytest.mark.parametrize(("name", "header_file", "malformed"), CASES, ids=[c[0].split("/")[-1][:40] for c in CASES])
def test_sample(name: str, header_file: str | None, malformed: list[int]) -> None:
    path = sample(name)
    fields = sample(header_file).read_text().split() if header_file else None
    stats = ParseStats()
    rows = [row for table in read_tables(io.BytesIO(path.read_bytes()), fields, stats) for row in table.to_pylist()]
    expected = stated(path, list(fields or DEFAULT_FIELDS), malformed)
    assert sorted(map(repr, rows)) == sorted(map(repr, expected))
    assert sum(stats.malformed.values()) == len(malformed)


@pytest.mark.parametrize("path", sorted(p for p in SAMPLES.rglob("*") if p.is_file()), ids=lambda p: p.name[:40])
def test_every_file_in_the_samples_reads_without_raising(path: Path) -> None:
    stats = ParseStats()
    records = sum(t.num_rows for t in read_tables(io.BytesIO(path.read_bytes()), None, stats))
    lines = sum(1 for line in path.read_bytes().splitlines() if line.strip())
    assert records == stats.records
    assert records + sum(stats.malformed.values()) <= lines
