"""What the queries of a load cost: the bytes Athena scanned, priced as Athena bills them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Athena's SQL pricing: per terabyte scanned, each query rounded up to the megabyte with a 10 MB minimum
# (https://aws.amazon.com/athena/pricing/). The price is us-east-1's; others differ (--price-per-tb).
PRICE_PER_TB = 5.0
_MB, _TB, _MINIMUM_MB = 1 << 20, 1 << 40, 10


@dataclass
class Scanned:
    """The queries run and the bytes each scanned: what Athena bills."""

    queries: list[str] = field(default_factory=list)  # their ids
    bytes: list[int] = field(default_factory=list)

    def cost(self, price_per_tb: float = PRICE_PER_TB) -> float:
        billed = sum(max(math.ceil(size / _MB), _MINIMUM_MB) * _MB for size in self.bytes)
        return billed / _TB * price_per_tb
