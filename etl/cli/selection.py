"""What `load`, `parse` and `watch` read: their source options, resolved to sources and a time window;
and how many files they prepare at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from etl.cli.common import State
from etl.sources import S3Options, resolve_sources
from etl.sources.timewindow import TimeWindow, parse_time

SourcesArgument = Annotated[
    list[str], typer.Argument(help="Files, folders (searched recursively), glob patterns, or s3://bucket/prefix URLs.")
]
FieldsOption = Annotated[str | None, typer.Option(help="Field order of header-less records: names or ${...} format.")]
ProfileOption = Annotated[str | None, typer.Option(help="AWS profile for s3:// sources [env: AWS_PROFILE]")]
RegionOption = Annotated[str | None, typer.Option(help="Region of the S3 client, the bucket's [env: AWS_REGION]")]
EndpointOption = Annotated[
    str | None, typer.Option(help="S3-compatible endpoint, e.g. http://localhost:9000 [env: AWS_ENDPOINT_URL_S3]")
]
StartOption = Annotated[
    str | None,
    typer.Option(
        help="Only records from this time: ISO 8601 (2026-01-02T00:00:00Z), a date, or a span back (24h, 7d)."
    ),
]
EndOption = Annotated[str | None, typer.Option(help="Only records before this time; same forms as --start.")]
AccountOption = Annotated[
    list[str] | None, typer.Option("--account", help="Only this account's logs in S3 (repeatable).")
]
AwsRegionOption = Annotated[
    list[str] | None, typer.Option("--aws-region", help="Only this region's logs in S3 (repeatable).")
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Files prepared at once, each by a worker process (one: by a thread). Default 2, "
        "or 1 into the embedded server, which shares this process and the cores.",
    ),
]


class Addresses(StrEnum):  # which pair of a record's addresses an edge joins (pipeline.LoadOptions)
    interface = "interface"
    packet = "packet"


@dataclass(frozen=True)
class Selection:
    """What the source options of `load` and `parse` pick: the sources, and the records' time window."""

    sources: list[Any]
    start: int | None
    end: int | None


def select(
    state: State,
    sources: list[str],
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    start: str | None,
    end: str | None,
    account: list[str] | None,
    aws_region: list[str] | None,
) -> Selection:
    now = datetime.now(UTC)
    window = TimeWindow(parse_time(start, now) if start else None, parse_time(end, now) if end else None)
    s3 = S3Options(
        profile or state.settings.aws_profile,
        region or state.settings.aws_region,
        endpoint_url,
        window.start,
        window.end,
        frozenset(account) if account else None,
        frozenset(aws_region) if aws_region else None,
    )
    return Selection(resolve_sources(sources, s3), _epoch(window.start), _epoch(window.end))


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None
