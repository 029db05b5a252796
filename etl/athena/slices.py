"""A time window cut into the slices `load athena://` queries one at a time, and the partitions each reads.

AWS files a record under the time its log file was delivered, not the record's own (etl/sources/timewindow.py):
a partition is read when its span, widened by DELIVERY_MARGIN on both sides, meets the window, as the
S3 reader prunes folders. A slice is a run of whole partitions, so every record is in exactly one
slice whatever its own times, and the union of the slices is the window. Records are filtered by their
own times only where the window cuts a slice's widened span: a slice inside the window takes all of its
partitions' records, so widening the window later leaves its query, and its ledger entry, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from etl.buckets import DAY, HOUR, bucket_text
from etl.errors import UsageError
from etl.sources.timewindow import DELIVERY_MARGIN

_MARGIN = int(DELIVERY_MARGIN.total_seconds())


class Layout(StrEnum):
    """The table layouts AWS documents for flow logs in Athena."""

    text = "text"  # text logs, partition projection on (accid, region, day), day as yyyy/MM/dd
    parquet = "parquet"  # Parquet, not Hive-compatible: (region, date, hour), date as yyyy/MM/dd
    hive = "hive"  # Parquet, Hive-compatible keys: aws-account-id, aws-service, aws-region, year/month/day/hour


# The time one partition of each layout covers.
GRAIN = {Layout.text: DAY, Layout.parquet: HOUR, Layout.hive: HOUR}


@dataclass(frozen=True)
class Slice:
    """Whole partitions, [start, end) of delivery time; `lower` and `upper` bound the records' own times
    where the window cuts the slice's widened span (a record ending before `lower`, or starting at or
    after `upper`, is left out), None where it does not."""

    start: int
    end: int
    partitions: tuple[int, ...]  # each partition's start, epoch seconds
    lower: int | None
    upper: int | None

    @property
    def label(self) -> str:
        """The slice as its ledger entry names it: its first moment, ISO 8601."""
        return datetime.fromtimestamp(self.start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_slice(text: str, layout: Layout) -> int:
    """Seconds of a slice written `1d`, `7d`, `6h`: whole partitions of the layout, at most a year."""
    units = {"d": DAY, "h": HOUR}
    number, unit = text.strip()[:-1], text.strip()[-1:]
    seconds = int(number) * units[unit] if number.isdigit() and unit in units else 0
    grain = GRAIN[layout]
    if not 0 < seconds <= 366 * DAY or seconds % grain:
        raise UsageError(
            f"--slice takes whole {bucket_text(grain)} partitions of a {layout} table, like 1d or 7d"
            f"{' or 6h' if grain == HOUR else ''}, not {text!r}"
        )
    return seconds


def slices(start: int, end: int, layout: Layout, length: int = DAY) -> list[Slice]:
    """The slices of [start, end), in order; `length` a multiple of the layout's partition (parse_slice).
    Slices start at multiples of `length` since the epoch (midnight UTC for days)."""
    if end <= start:
        raise UsageError("--end must be after --start")
    grain = GRAIN[layout]
    first = (start - _MARGIN) // grain * grain  # the first partition whose widened span meets the window
    last = (end - 1 + _MARGIN) // grain * grain
    found: list[Slice] = []
    for at in range(first // length * length, last + 1, length):
        partitions = tuple(p for p in range(at, at + length, grain) if first <= p <= last)
        low, high = partitions[0] - _MARGIN, partitions[-1] + grain + _MARGIN
        found.append(Slice(at, at + length, partitions, start if start > low else None, end if end < high else None))
    return found
