"""`make bench`: every benchmark, each printing its figures with its baseline from the same run."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCHMARKS = (
    "demo_shape",
    "parse_speed",
    "pseudonymize",
    "load_speed",
    "bucket_cost",
    "view_layout",
    "athena_pushdown",
)


def main() -> None:
    chosen = os.environ.get("BENCH", ",".join(BENCHMARKS)).split(",")
    for name in chosen:
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
