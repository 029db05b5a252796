"""One pass of `vpcflow watch`: load what is new, evaluate the rules on the buckets it touched, keep the
alerts that are new.

The ledger makes a pass incremental: a file loaded before is skipped by its digest. In S3, a pass lists
only the keys after the previous pass's window (the end of the latest record loaded, less the delivery
margin AWS's folders need, etl/sources/timewindow.py), so listing does not grow with the bucket's age.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from etl import pipeline
from etl.changes import stored
from etl.changes.alerts import Alert, Touched, evaluate
from etl.changes.rules import Rule
from etl.errors import UsageError
from etl.policy.observed import Reveal
from etl.sources import S3Options, resolve_sources
from etl.sources.timewindow import DELIVERY_MARGIN

if TYPE_CHECKING:
    from etl.graph.store import GraphStore

_INTERVAL = re.compile(r"(\d+)([smh])")
_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_interval(text: str) -> float:
    match = _INTERVAL.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--interval takes a length like 30s, 5m or 1h, not {text!r}")
    return float(int(match.group(1)) * _SECONDS[match.group(2)])


@dataclass(frozen=True)
class Watched:
    """What every pass does alike."""

    sources: Sequence[str]
    s3: S3Options
    options: pipeline.LoadOptions
    rules: Sequence[Rule]
    reveal: Reveal | None

    @property
    def mark_key(self) -> str:
        return " ".join(sorted(self.sources))


@dataclass(frozen=True)
class PassResult:
    summary: pipeline.LoadSummary
    alerts: list[Alert]  # the new ones


def run_pass(store: GraphStore, watched: Watched, stop: Callable[[], str | None]) -> PassResult:
    since = stored.mark(store, watched.mark_key)
    listing = watched.s3
    if since is not None:
        listing = replace(listing, start=datetime.fromtimestamp(since, UTC) - DELIVERY_MARGIN)
    summary = pipeline.load(resolve_sources(list(watched.sources), listing), store, watched.options, stop=stop)
    loaded = [f for f in summary.files if f.status == "loaded"]
    buckets = frozenset().union(*(f.buckets for f in loaded))
    length = watched.options.bucket
    now = int(time.time()) // length * length
    skipdata = {f.source_id: (f.stats.skipdata, min(f.buckets, default=now)) for f in loaded if f.stats.skipdata}
    alerts: list[Alert] = []
    if buckets or skipdata:
        touched = Touched(buckets, skipdata, length, stored.baseline(store, length))
        alerts = stored.keep(store, evaluate(watched.rules, stored.histories(store, buckets, watched.reveal), touched))
    newest = max((f.last_seen for f in loaded if f.last_seen is not None), default=None)
    if newest is not None and (since is None or newest > since):
        stored.set_mark(store, watched.mark_key, newest)
    return PassResult(summary, alerts)
