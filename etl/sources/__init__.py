"""Where flow logs come from: local paths and s3:// URLs, resolved to the sources the pipeline reads."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from etl.errors import UsageError
from etl.sources.local import expand

if TYPE_CHECKING:
    from etl.pipeline import Source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class S3Options:
    """How to reach S3 and which objects to take: the options of `vpcflow load` and `vpcflow parse`."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    accounts: frozenset[str] | None = None
    regions: frozenset[str] | None = None


def _s3_lister(options: S3Options) -> Callable[[str], Sequence[Source]]:
    """Lists s3:// URLs through one client, shared by every URL (worker processes make their own)."""
    # Imported here: boto3 takes a third of a second to import, and local runs never need it.
    from etl.sources.s3 import list_s3_sources, make_s3_client

    client = make_s3_client(options.profile, options.region, options.endpoint_url)
    filtered = any(value is not None for value in (options.start, options.end, options.accounts, options.regions))

    def listed(url: str) -> Sequence[Source]:
        found = list_s3_sources(
            client, url, start=options.start, end=options.end, accounts=options.accounts, regions=options.regions
        )
        if not found:
            within = " inside --start/--end, --account and --aws-region" if filtered else ""
            raise UsageError(f"{url} holds no objects{within}")
        return found

    return listed


def resolve_sources(arguments: list[str], s3: S3Options | None = None) -> list[Source]:
    """Every source the arguments name, each once, in argument order; the S3 client is made on first use."""
    list_s3: Callable[[str], Sequence[Source]] | None = None
    found: dict[str, Source] = {}
    for argument in arguments:
        if argument.startswith("s3://"):
            list_s3 = list_s3 or _s3_lister(s3 or S3Options())
            sources = list_s3(argument)
        else:
            sources = expand([argument])
        log.debug("%s: %d sources", argument, len(sources))
        for source in sources:
            log.debug("listed %s", source.id)
            found.setdefault(source.id, source)
    return list(found.values())
