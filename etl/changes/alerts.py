"""Rules evaluated on the time buckets a pass touched. Pure: edge histories in, alerts out.

An alert is about one subject (an edge, an address, a file) in one bucket; its key is the rule, the
subject and the bucket, so however often the rules run, it fires once. "New" compares with the graph's
whole history: an edge is new in the first bucket it has traffic in, and the graph's first bucket is
the baseline, where nothing is new (the first load of a store would otherwise alert on everything).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from etl.changes.rules import Rule
from etl.policy.observed import End
from etl.policy.protocols import protocol_name
from etl.sources.timewindow import iso_time

REJECT = "REJECT"


@dataclass(frozen=True)
class History:
    """An edge and its records per bucket (the bucket lists' entries summed; buckets without any left out)."""

    src: End
    dst: End
    port: int
    protocol: int
    action: str
    buckets: Mapping[int, int]

    @property
    def key(self) -> str:
        return f"{self.src.key}|{self.dst.key}|{self.port}|{self.protocol}|{self.action}"

    def __str__(self) -> str:
        return f"{self.src.label} → {self.dst.label} {protocol_name(self.protocol)}/{self.port} {self.action}"


@dataclass(frozen=True)
class Alert:
    rule: Rule
    subject: str  # what it is about, by its identity (an edge key, an address key, a file id)
    bucket: int
    message: str
    count: int | None = None
    about: tuple[str, ...] = ()  # address keys
    file: str | None = None  # a ledger entry's id

    @property
    def key(self) -> str:
        return f"{self.rule.name}|{self.subject}|{self.bucket}"

    def entry(self) -> dict[str, Any]:
        """The JSON line `watch` prints and POSTs."""
        return {"rule": self.rule.name, "severity": self.rule.severity, "kind": self.rule.kind,
                "bucket": iso_time(self.bucket), "subject": self.subject, "message": self.message, "count": self.count}  # fmt: skip


@dataclass(frozen=True)
class Touched:
    """What a pass wrote: the buckets, and the files whose records were SKIPDATA (file id -> (records, bucket))."""

    buckets: frozenset[int]
    skipdata: Mapping[str, tuple[int, int]]
    bucket: int  # the store's bucket length, seconds
    baseline: int | None  # the graph's first bucket


def evaluate(rules: Sequence[Rule], histories: Sequence[History], touched: Touched) -> list[Alert]:
    baseline = touched.baseline
    found: list[Alert] = []
    for rule in rules:
        if rule.kind == "new-edge":
            found += _new_edges(rule, histories, touched, baseline)
        elif rule.kind == "new-public-destination":
            found += _new_destinations(rule, histories, touched, baseline)
        elif rule.kind == "port-outside":
            found += _ports_outside(rule, histories, touched)
        elif rule.kind == "rejects":
            found += _rejects(rule, histories, touched)
        else:
            found += _skipdata(rule, touched)
    return sorted(found, key=lambda a: (a.bucket, a.rule.name, a.subject))


def _new_edges(rule: Rule, histories: Iterable[History], touched: Touched, baseline: int | None) -> list[Alert]:
    alerts = []
    for h in histories:
        first = min(h.buckets, default=None)
        if first in touched.buckets and first != baseline and rule.client.matches(h.src) and rule.server.matches(h.dst):
            message = f"new edge {h}, {h.buckets[first]:,} records"
            alerts.append(Alert(rule, h.key, first, message, h.buckets[first], (h.src.key, h.dst.key)))
    return alerts


def _new_destinations(rule: Rule, histories: Iterable[History], touched: Touched, baseline: int | None) -> list[Alert]:
    """A public address the rule's sources reach for the first time (by any of them, on any port)."""
    firsts: dict[str, tuple[int, End, History]] = {}
    for h in histories:
        if h.dst.scope != "public" or not h.buckets or not rule.client.matches(h.src):
            continue
        first = min(h.buckets)
        if h.dst.key not in firsts or first < firsts[h.dst.key][0]:
            firsts[h.dst.key] = (first, h.dst, h)
    return [
        Alert(rule, key, first, f"{rule.client.text} reached {dst.label} for the first time ({h})", h.buckets[first],
              (h.src.key, dst.key))
        for key, (first, dst, h) in firsts.items()
        if first in touched.buckets and first != baseline
    ]  # fmt: skip


def _ports_outside(rule: Rule, histories: Iterable[History], touched: Touched) -> list[Alert]:
    alerts = []
    for h in histories:
        if h.action not in rule.actions or any(h.port in r for r in rule.ports):
            continue
        if not (rule.client.matches(h.src) and rule.server.matches(h.dst)):
            continue
        for bucket in touched.buckets & h.buckets.keys():
            message = f"traffic on port {h.port}, outside the rule's ports: {h}, {h.buckets[bucket]:,} records"
            alerts.append(Alert(rule, h.key, bucket, message, h.buckets[bucket], (h.src.key, h.dst.key)))
    return alerts


def _rejects(rule: Rule, histories: Iterable[History], touched: Touched) -> list[Alert]:
    """An address's REJECTed records per bucket (as the source, or the destination, of the refused
    records), against a fixed ceiling and against its trailing average."""
    per_bucket: defaultdict[str, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
    ends: dict[str, End] = {}
    for h in histories:
        if h.action != REJECT:
            continue
        end = h.src if rule.by == "source" else h.dst
        ends[end.key] = end
        for bucket, count in h.buckets.items():
            per_bucket[end.key][bucket] += count
    alerts = []
    for key, counts in per_bucket.items():
        for bucket in sorted(touched.buckets & counts.keys()):
            if reason := _too_many(rule, counts, bucket, touched.bucket):
                role = "from" if rule.by == "source" else "to"
                message = f"{counts[bucket]:,} REJECTed records {role} {ends[key].label} in one bucket: {reason}"
                alerts.append(Alert(rule, key, bucket, message, counts[bucket], (key,)))
    return alerts


def _too_many(rule: Rule, counts: Mapping[int, int], bucket: int, length: int) -> str | None:
    count = counts[bucket]
    if rule.above is not None and count > rule.above:
        return f"above {rule.above:,}"
    if rule.factor is not None:
        average = sum(counts.get(bucket - i * length, 0) for i in range(1, rule.trailing + 1)) / rule.trailing
        # A first burst has no average to compare with: `above` is what catches it.
        if average > 0 and count > rule.factor * average:
            return f"{count / average:.1f} times its average of {average:.1f} over the {rule.trailing} buckets before"
    return None


def _skipdata(rule: Rule, touched: Touched) -> list[Alert]:
    return [
        Alert(rule, file, bucket, f"{records:,} SKIPDATA records in {file}: AWS could not log some flows", records,
              file=file)
        for file, (records, bucket) in sorted(touched.skipdata.items())
    ]  # fmt: skip
