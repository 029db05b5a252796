"""The flow-log fields AWS defines (versions 2 to 8), their types, and the `--fields` syntax."""

from __future__ import annotations

import re

from etl.errors import UsageError

DEFAULT_FIELDS: tuple[str, ...] = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
)  # fmt: skip

# Every field up to version 8, in the order AWS documents them.
KNOWN_FIELDS: tuple[str, ...] = (
    *DEFAULT_FIELDS,
    "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
    "region", "az-id", "sublocation-type", "sublocation-id",
    "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
    "resource-type", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id", "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id", "tgw-src-eni",
    "tgw-dst-eni", "tgw-src-az-id", "tgw-dst-az-id", "tgw-pair-attachment-id",
    "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
    "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
    "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
    "ecs-task-arn", "ecs-task-id",
    "reject-reason",
)  # fmt: skip

_KNOWN = frozenset(KNOWN_FIELDS)

INTEGER_FIELDS = frozenset(
    {"version", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "tcp-flags",
     "traffic-path", "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded",
     "packets-lost-ttl-expired"}
)  # fmt: skip

# A field name as AWS spells them; an unknown one in a header is kept, so the shape is what counts.
_FIELD_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*\Z")
_FORMAT_TOKEN = re.compile(r"\$\{([^}]+)\}\Z")


def is_field_name(token: str) -> bool:
    return _FIELD_NAME.match(token) is not None


def is_header(tokens: list[str]) -> bool:
    """A header names distinct fields, most of them known (an unknown one is kept, not an error).

    Records always carry a digit or '-' somewhere, so they never match; prose rarely names fields.
    """
    if not tokens or len(set(tokens)) != len(tokens):
        return False
    if not all(_FIELD_NAME.match(t) for t in tokens):
        return False
    return 2 * sum(t in _KNOWN for t in tokens) >= len(tokens)


def parse_fields(spec: str) -> tuple[str, ...]:
    """`--fields`: a space/comma separated list, or the console's `${version} ${account-id} ...`."""
    tokens = [t for t in re.split(r"[\s,]+", spec.strip()) if t]
    names = []
    for token in tokens:
        match = _FORMAT_TOKEN.match(token)
        name = match.group(1) if match else token
        if not is_field_name(name):
            raise UsageError(f"--fields: {token!r} is not a flow-log field name (for example srcaddr)")
        names.append(name)
    if not names:
        raise UsageError("--fields is empty; give field names such as 'version account-id srcaddr ...'")
    if len(set(names)) != len(names):
        raise UsageError("--fields names a field twice")
    return tuple(names)
