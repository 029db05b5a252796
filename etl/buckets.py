"""Time buckets: each edge keeps its counts per bucket of one length, the store's (`--bucket`)."""

from __future__ import annotations

import re

from etl.errors import UsageError

DAY, HOUR, MINUTE = 86_400, 3_600, 60
_UNITS = {"d": DAY, "h": HOUR, "m": MINUTE}
_TEXT = re.compile(r"(\d+)([dhm])")


def parse_bucket(text: str) -> int:
    """Seconds of a bucket written `1d`, `1h`, `6h`, `15m`: a length that divides a day, so buckets
    start at midnight UTC whatever their length."""
    match = _TEXT.fullmatch(text.strip())
    seconds = int(match.group(1)) * _UNITS[match.group(2)] if match else 0
    if not seconds or seconds > DAY or DAY % seconds:
        raise UsageError(f"--bucket takes a length that divides a day, like 1d, 1h, 6h or 15m, not {text!r}")
    return seconds


def bucket_text(seconds: int) -> str:
    for unit, length in _UNITS.items():
        if seconds % length == 0:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"
