"""Time parsing and the S3 key layouts, without a server: which folders a window lists, which files it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from etl.errors import UsageError
from etl.sources.timewindow import KeyFilter, Step, TimeWindow, keep_object, locate, parse_time, plan_folder

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T00:00:00Z", utc(2026, 1, 2)),
        ("2026-01-02T03:04:05+02:00", utc(2026, 1, 2, 1, 4, 5)),
        ("2026-01-02T10:30", utc(2026, 1, 2, 10, 30)),  # no offset: UTC, like AWS's folders
        ("2026-01-02", utc(2026, 1, 2)),
        ("20260102T103000Z", utc(2026, 1, 2, 10, 30)),
        ("24h", utc(2026, 1, 9, 12)),
        ("7d", utc(2026, 1, 3, 12)),
        ("90m", utc(2026, 1, 10, 10, 30)),
        (" 7d ", utc(2026, 1, 3, 12)),
        ("0h", NOW),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    parsed = parse_time(text, NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_a_span_counts_back_from_an_aware_now_in_any_zone() -> None:
    assert parse_time("1h", NOW.astimezone(timezone(timedelta(hours=-5)))) == utc(2026, 1, 10, 11)


@pytest.mark.parametrize("text", ["yesterday", "24", "7y", "", "2026-13-01", "-5h", "1.5h", "2026/01/02"])
def test_parse_time_refuses_what_is_no_time(text: str) -> None:
    with pytest.raises(UsageError, match="is not a time: give ISO 8601") as caught:
        parse_time(text, NOW)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(("start", "end"), [(utc(2026, 1, 2), utc(2026, 1, 1)), (utc(2026, 1, 2), utc(2026, 1, 2))])
def test_a_window_must_start_before_it_ends(start: datetime, end: datetime) -> None:
    with pytest.raises(UsageError, match="is not before the end"):
        TimeWindow(start, end)


P = "AWSLogs/123456789012/vpcflowlogs/us-east-1/"
H = "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/"
WINDOW = KeyFilter(TimeWindow(utc(2026, 1, 2, 10), utc(2026, 1, 2, 12)))  # margin one hour: folders 09:00-13:00
WHOLE_DAY = KeyFilter(TimeWindow(utc(2026, 1, 2), utc(2026, 1, 3)))
EARLY = KeyFilter(TimeWindow(utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 1)))
OPEN_START = KeyFilter(TimeWindow(end=utc(2026, 1, 2)))
NONE = KeyFilter()
ACCOUNT_111 = KeyFilter(accounts=frozenset({"111111111111"}))
REGION_EU = KeyFilter(regions=frozenset({"eu-west-1"}))


@pytest.mark.parametrize(
    ("folder", "filters", "root", "expected"),
    [
        # Above the layout: the user's prefix is listed one level down to find AWSLogs/; other folders in full.
        ("", WINDOW, True, Step.DESCEND),
        ("my/logs/", WINDOW, True, Step.DESCEND),
        ("my/logs/", WINDOW, False, Step.LIST_ALL),
        ("AWSLogs/", WINDOW, False, Step.DESCEND),
        ("AWSLogs/", NONE, False, Step.DESCEND),
        # Services: only vpcflowlogs is a flow log, unless the user points at another on purpose.
        ("AWSLogs/123456789012/", NONE, False, Step.DESCEND),
        ("AWSLogs/123456789012/CloudTrail/", NONE, False, Step.SKIP),
        ("AWSLogs/123456789012/CloudTrail/", NONE, True, Step.LIST_ALL),
        ("AWSLogs/aws-account-id=123456789012/aws-service=cloudtrail/", NONE, False, Step.SKIP),
        ("AWSLogs/123456789012/vpcflowlogs/", NONE, False, Step.LIST_ALL),
        (H[: H.index("aws-region")], NONE, False, Step.LIST_ALL),
        # Account and region filters.
        ("AWSLogs/123456789012/", ACCOUNT_111, False, Step.SKIP),
        ("AWSLogs/111111111111/", ACCOUNT_111, False, Step.DESCEND),
        ("AWSLogs/111111111111/vpcflowlogs/", ACCOUNT_111, False, Step.LIST_ALL),
        ("AWSLogs/aws-account-id=123456789012/", ACCOUNT_111, False, Step.SKIP),
        ("AWSLogs/123456789012/vpcflowlogs/", REGION_EU, False, Step.DESCEND),
        (P, REGION_EU, False, Step.SKIP),
        (H, REGION_EU, False, Step.SKIP),
        ("AWSLogs/123456789012/vpcflowlogs/eu-west-1/", REGION_EU, False, Step.LIST_ALL),
        (P, ACCOUNT_111, True, Step.SKIP),
        # Time: year, month, day, hour, with the margin at both ends.
        (P, WINDOW, False, Step.DESCEND),
        (P + "2025/", WINDOW, False, Step.SKIP),
        (P + "2026/", WINDOW, False, Step.DESCEND),
        (P + "2026/02/", WINDOW, False, Step.SKIP),
        (P + "2026/01/", WINDOW, False, Step.DESCEND),
        (P + "2026/01/01/", WINDOW, False, Step.SKIP),
        (P + "2026/01/02/", WINDOW, False, Step.DESCEND),
        (P + "2026/01/03/", WINDOW, False, Step.SKIP),
        (P + "2026/01/02/08/", WINDOW, False, Step.SKIP),
        (P + "2026/01/02/09/", WINDOW, False, Step.LIST_ALL),
        (P + "2026/01/02/11/", WINDOW, False, Step.LIST_ALL),
        (P + "2026/01/02/12/", WINDOW, False, Step.LIST_ALL),
        (P + "2026/01/02/13/", WINDOW, False, Step.SKIP),
        (H + "year=2026/month=01/day=02/hour=08/", WINDOW, False, Step.SKIP),
        (H + "year=2026/month=01/day=02/hour=09/", WINDOW, False, Step.LIST_ALL),
        (H + "year=2026/month=01/day=02/", WINDOW, False, Step.DESCEND),
        (H + "year=2026/month=01/day=03/", WINDOW, False, Step.SKIP),
        ("some/prefix/" + P + "2026/01/03/", WINDOW, False, Step.SKIP),
        (P + "2026/01/02/", WHOLE_DAY, False, Step.LIST_ALL),
        (P + "2026/01/01/", WHOLE_DAY, False, Step.DESCEND),  # its last hour is within the margin
        (P + "2026/01/03/", WHOLE_DAY, False, Step.DESCEND),
        (P + "2026/01/04/", WHOLE_DAY, False, Step.SKIP),
        (P + "2025/12/", EARLY, False, Step.DESCEND),  # a month that ends in the next year
        (P + "2025/12/31/", EARLY, False, Step.DESCEND),
        (P + "2025/12/30/", EARLY, False, Step.SKIP),
        (P + "2025/11/", EARLY, False, Step.SKIP),
        (P + "2025/", OPEN_START, False, Step.LIST_ALL),
        (P + "2026/01/02/", OPEN_START, False, Step.DESCEND),
        (P + "2026/01/03/", OPEN_START, False, Step.SKIP),
        # What does not fit the layout proves nothing, so it is listed in full.
        (P + "latest/", WINDOW, False, Step.LIST_ALL),
        (P + "2026/13/", WINDOW, False, Step.LIST_ALL),
        (P + "2026/02/30/", WINDOW, False, Step.LIST_ALL),
        ("AWSLogs/not-an-account/", WINDOW, False, Step.LIST_ALL),
    ],
)
def test_plan_folder(folder: str, filters: KeyFilter, root: bool, expected: Step) -> None:
    assert plan_folder(folder, filters, root=root) is expected


@pytest.mark.parametrize(
    ("folder", "values", "span"),
    [
        (P, {"account": "123456789012", "service": "vpcflowlogs", "region": "us-east-1"}, None),
        (H + "year=2024/month=02/", {"year": "2024", "month": "02"}, (utc(2024, 2, 1), utc(2024, 3, 1))),
        (P + "2024/02/29/23/", {"day": "29", "hour": "23"}, (utc(2024, 2, 29, 23), utc(2024, 3, 1))),
        ("x/AWSLogs/y/AWSLogs/123456789012/", {"account": "123456789012"}, None),
    ],
)
def test_locate_reads_the_levels_below_the_last_awslogs(
    folder: str, values: dict[str, str], span: tuple[datetime, datetime] | None
) -> None:
    place = locate(folder)
    assert place is not None and not place.misfit
    assert values.items() <= place.values.items()
    assert ((place.low, place.high) if span else (None, None)) == (span or (None, None))


def _file(when: str) -> str:
    return f"123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_{when}Z_0badf00d.log.gz"


@pytest.mark.parametrize(
    ("key", "kept"),
    [
        (P + "2026/01/02/" + _file("20260102T1005"), True),
        (P + "2026/01/02/" + _file("20260102T0900"), True),
        (P + "2026/01/02/" + _file("20260102T0859"), False),
        (P + "2026/01/02/" + _file("20260102T1259"), True),
        (P + "2026/01/02/" + _file("20260102T1300"), False),
        (H + "year=2026/month=01/day=02/" + _file("20260102T0805"), False),
        (P + "2026/01/02/notes.txt", True),  # no timestamp in its name: nothing proven
        ("elsewhere/" + _file("20200101T0000"), True),  # outside the layout: nothing filtered by key
        (P + "2026/01/02/", False),  # a folder marker
        ("folder/", False),
    ],
)
def test_keep_object(key: str, kept: bool) -> None:
    assert keep_object(key, WINDOW.window) is kept


def test_without_a_window_every_file_is_kept() -> None:
    assert keep_object(P + "2020/01/02/" + _file("20200102T1005"), TimeWindow())
