"""Time windows, and what the S3 key layouts AWS writes flow logs under say about an object's time.

AWS delivers flow logs to S3 under one of two layouts (optionally with an hour level):

    [prefix/]AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/[HH/]{file}
    [prefix/]AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/
        year=YYYY/month=MM/day=DD/[hour=HH/]{file}

and names each file `{account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmm}Z_{hash}.log.gz`.
The folders and that timestamp tell when AWS wrote the file, not when its records happened: a file
holds records of the five minutes or so before it (and up to the ten-minute aggregation interval),
and AWS does not document whether the name's timestamp opens or closes that period. So a folder is
kept when its span, widened by DELIVERY_MARGIN on both sides, meets the window; records themselves
are filtered by their own times later. Only what a key proves to lie outside the filters is pruned:
a folder that does not fit the layout is listed in full.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import overload

from etl.errors import UsageError

DELIVERY_MARGIN = timedelta(hours=1)
_SPAN = re.compile(r"(\d+)\s*([mhd])")
_SPAN_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# Each level below AWSLogs/: its name in the Hive layout, and the shape of its value in both. The service
# may be any name: other AWS services (CloudTrail, ...) share AWSLogs/{account}/ and are skipped by name.
_LEVELS = {
    "account": ("aws-account-id", r"\d{12}"),
    "service": ("aws-service", r".+"),
    "region": ("aws-region", r"[a-z0-9-]+"),
    "year": ("year", r"\d{4}"),
    "month": ("month", r"\d{2}"),
    "day": ("day", r"\d{2}"),
    "hour": ("hour", r"\d{2}"),
}
_PLAIN = tuple(re.compile(f"({shape})") for _, shape in _LEVELS.values())
_HIVE = tuple(re.compile(f"{name}=({shape})") for name, shape in _LEVELS.values())
_FILE_TIME = re.compile(r"_(\d{8}T\d{4})Z_")
FLOW_LOG_SERVICE = "vpcflowlogs"


def parse_time(text: str, now: datetime) -> datetime:
    """An ISO 8601 time, a date (midnight), or a span back from `now` (`90m`, `24h`, `7d`), in UTC.

    A time without an offset is taken as UTC, the zone of AWS's folders and record times.
    """
    cleaned = text.strip()
    if span := _SPAN.fullmatch(cleaned):
        return now.astimezone(UTC) - timedelta(**{_SPAN_UNITS[span[2]]: int(span[1])})
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError as error:
        raise UsageError(
            f"{text!r} is not a time: give ISO 8601 (2026-01-02T00:00:00Z), a date (2026-01-02) "
            "or a span back from now (90m, 24h, 7d)"
        ) from error
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@overload
def iso_time(seconds: int) -> str: ...
@overload
def iso_time(seconds: None) -> None: ...
def iso_time(seconds: int | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC, `2026-01-02T00:00:00Z`: how times are shown and written."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TimeWindow:
    """Records from `start` (inclusive) to `end` (exclusive); None leaves that side open."""

    start: datetime | None = None
    end: datetime | None = None
    margin: timedelta = DELIVERY_MARGIN

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise UsageError(
                f"the start {self.start:%Y-%m-%dT%H:%M:%SZ} is not before the end {self.end:%Y-%m-%dT%H:%M:%SZ}"
            )

    def admits(self, low: datetime, high: datetime) -> bool:
        """Whether files written in [low, high) may hold records inside the window."""
        return (self.start is None or high > self.start - self.margin) and (
            self.end is None or low < self.end + self.margin
        )

    def covers(self, low: datetime, high: datetime) -> bool:
        """Whether every file written in [low, high) lies inside the window, so none needs a closer look."""
        return (self.start is None or self.start <= low) and (self.end is None or high <= self.end)


@dataclass(frozen=True)
class KeyFilter:
    window: TimeWindow = TimeWindow()
    accounts: Set[str] | None = None
    regions: Set[str] | None = None


@dataclass(frozen=True)
class Place:
    """What a folder's path below `AWSLogs/` says: the levels it names, and the time span they bound."""

    values: dict[str, str]
    low: datetime | None = None
    high: datetime | None = None
    misfit: bool = False  # a component does not fit its level: the key proves nothing


class Step(Enum):
    SKIP = "skip"  # the folder cannot hold anything the filters admit
    DESCEND = "descend"  # list it one level at a time (Delimiter='/'), judging each sub-folder
    LIST_ALL = "list all"  # list every key under it: nothing below can be pruned


def _span(values: dict[str, str]) -> tuple[datetime, datetime] | None:
    """The [low, high) a folder's year/month/day/hour bound; ValueError for an impossible date."""
    if "year" not in values:
        return None
    month, day, hour = (int(values.get(level, default)) for level, default in (("month", 1), ("day", 1), ("hour", 0)))
    low = datetime(int(values["year"]), month, day, hour, tzinfo=UTC)
    if "hour" in values:
        return low, low + timedelta(hours=1)
    if "day" in values:
        return low, low + timedelta(days=1)
    if "month" in values:
        return low, (low + timedelta(days=32)).replace(day=1)
    return low, low.replace(year=low.year + 1)


def locate(folder: str) -> Place | None:
    """The place of `folder` (complete components, ending with '/') below its last `AWSLogs`; None if none."""
    components = folder.split("/")[:-1]
    if "AWSLogs" not in components:
        return None
    last = max(index for index, component in enumerate(components) if component == "AWSLogs")
    below = components[last + 1 :]
    patterns = _HIVE if below and below[0].startswith("aws-account-id=") else _PLAIN
    values: dict[str, str] = {}
    for level, pattern, component in zip(_LEVELS, patterns, below, strict=False):
        match = pattern.fullmatch(component)
        if match is None:
            return Place(values, misfit=True)
        values[level] = match[1]
    try:
        span = _span(values)
    except ValueError:
        return Place(values, misfit=True)
    return Place(values, *span) if span else Place(values)


def _allowed(value: str | None, allowed: Set[str] | None) -> bool:
    return allowed is None or value is None or value in allowed


def _admits(place: Place, filters: KeyFilter) -> bool:
    values = place.values
    return (
        values.get("service", FLOW_LOG_SERVICE) == FLOW_LOG_SERVICE
        and _allowed(values.get("account"), filters.accounts)
        and _allowed(values.get("region"), filters.regions)
        and (place.low is None or place.high is None or filters.window.admits(place.low, place.high))
    )


def _settled(place: Place, filters: KeyFilter) -> bool:
    """Whether nothing below `place` can be pruned any more."""
    values = place.values
    if "service" not in values:
        return False
    if (filters.accounts is not None and "account" not in values) or (
        filters.regions is not None and "region" not in values
    ):
        return False
    if place.low is None or place.high is None:
        return filters.window.start is None and filters.window.end is None
    # An hour folder is the deepest level: what is in it is judged by file name, not by sub-folder.
    return "hour" in values or filters.window.covers(place.low, place.high)


def plan_folder(folder: str, filters: KeyFilter, *, root: bool = False) -> Step:
    """How to list `folder`: a folder (ending with '/', or '' for a bucket) the listing found, or the
    user's own prefix (`root`). A root above any `AWSLogs/` is listed one level down to find one; a
    root in the layout is honoured even when it names another service."""
    place = locate(folder)
    if place is None:
        return Step.DESCEND if root else Step.LIST_ALL
    if place.misfit or (root and place.values.get("service", FLOW_LOG_SERVICE) != FLOW_LOG_SERVICE):
        return Step.LIST_ALL
    if not _admits(place, filters):
        return Step.SKIP
    return Step.LIST_ALL if _settled(place, filters) else Step.DESCEND


def keep_object(key: str, window: TimeWindow) -> bool:
    """Whether to read the object at `key`: not a folder marker, and for a flow-log file in the layout,
    written (by the timestamp in its name) within the window and its margin."""
    if key.endswith("/"):
        return False
    folder, _, name = key.rpartition("/")
    place = locate(folder + "/")
    stamp = _FILE_TIME.search(name)
    if place is None or place.misfit or stamp is None:
        return True
    written = datetime.strptime(stamp[1], "%Y%m%dT%H%M").replace(tzinfo=UTC)
    return window.admits(written, written + timedelta(minutes=1))


def account_of(path: str) -> str | None:
    """The account whose folder below AWSLogs/ holds the key or file `path`: AWS writes each account's
    logs under its id, so a record without an account-id field still has one."""
    place = locate(path.rsplit("/", 1)[0] + "/")
    return place.values.get("account") if place else None
