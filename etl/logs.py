"""Logging for the CLI and its worker processes: stderr, WARNING, or DEBUG with --debug."""

from __future__ import annotations

import logging
import sys

# At DEBUG these log what must not reach a terminal or a CI log: the neo4j driver every query's parameters
# (the data); botocore and urllib3 request headers and signing material (the access key id, the
# X-Amz-Security-Token). INFO keeps what they say about retries and connections.
CAPPED_LOGGERS = ("neo4j", "botocore", "boto3", "s3transfer", "urllib3")


def configure(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s" if debug else "%(levelname)s: %(message)s",
    )
    for name in CAPPED_LOGGERS:  # without --debug they inherit WARNING
        logging.getLogger(name).setLevel(logging.INFO if debug else logging.NOTSET)


def debugging() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)
