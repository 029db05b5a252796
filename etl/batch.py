"""What the loader writes for one file: its edge rows, its addresses, its ledger facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from etl.parse import ParseStats


@dataclass
class FileBatch:
    source_id: str
    digest: str
    edges: list[dict[str, Any]]
    addresses: list[dict[str, Any]]
    stats: ParseStats = field(default_factory=ParseStats)
