"""What the loader writes for one file: its edge rows, its addresses, its ledger facts.

A batch is made where the file is parsed (a worker process, in a load with several files), and
carries its edges already in the shape the store sends them, so the process that writes has less to
do than pack and send.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from etl.aggregate import SUMS
from etl.parse import ParseStats

# The order of the list a file adds to an edge; cypher.ADD_TO_FLOWS reads it by position. The
# packet-level addresses (NAT, transit) are unioned, first/last seen widened.
ADDED = (*SUMS, "first_seen", "last_seen", "pkt_srcaddrs", "pkt_dstaddrs")
# What identifies an edge besides its ends, in the order cypher.CREATE_FLOWS reads after the key.
ATTRIBUTES = ("port", "protocol", "action")


def flow_key(row: Mapping[str, Any]) -> str:
    """An edge's identity as one string; `|` appears in no IP address, port, protocol or action."""
    return f"{row['src']}|{row['dst']}|{row['port']}|{row['protocol']}|{row['action']}"


def key_endpoints(key: str) -> tuple[str, str]:
    src, dst, _ = key.split("|", 2)
    return src, dst


def encode_contribution(keys: Sequence[str], added: Sequence[Sequence[Any]]) -> bytes:
    """What a file added to each edge (`added` rows in ADDED order), compressed: a reload or a changed
    file subtracts it."""
    table = [[key, *row[: len(SUMS)]] for key, row in zip(keys, added, strict=True)]
    return zlib.compress(json.dumps(table, separators=(",", ":")).encode(), 1)


def decode_contribution(blob: bytes) -> dict[str, dict[str, int]]:
    return {key: dict(zip(SUMS, sums, strict=True)) for key, *sums in json.loads(zlib.decompress(blob))}


@dataclass(frozen=True)
class FlowRows:
    """A file's edges as lists, position i of each list for edge i: lists cost both ends of the Bolt
    connection less to pack and unpack than maps with the same field names on every row."""

    keys: list[str]
    ends: list[tuple[str, str]]
    attributes: list[list[Any]]  # ATTRIBUTES order
    added: list[list[Any]]  # ADDED order
    contribution: bytes

    @classmethod
    def of(cls, edges: Sequence[Mapping[str, Any]]) -> FlowRows:
        keys = [flow_key(edge) for edge in edges]
        added = [[edge.get(name) for name in ADDED] for edge in edges]
        return cls(
            keys=keys,
            ends=[(edge["src"], edge["dst"]) for edge in edges],
            attributes=[[edge[name] for name in ATTRIBUTES] for edge in edges],
            added=added,
            contribution=encode_contribution(keys, added),
        )


@dataclass
class FileBatch:
    source_id: str
    digest: str
    edges: list[dict[str, Any]]
    addresses: list[dict[str, Any]]
    stats: ParseStats = field(default_factory=ParseStats)
    seconds: dict[str, float] = field(default_factory=dict)  # time per stage of its preparation, for --debug
    flows: FlowRows = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.flows = FlowRows.of(self.edges)
