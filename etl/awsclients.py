"""boto3 clients made from the user's options: a profile, region or endpoint botocore cannot use is a
usage error in one sentence, whatever the service."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import NoRegionError, ProfileNotFound

from etl.errors import UsageError

_NAMES = {"s3": "S3", "ec2": "EC2", "athena": "Athena"}


def aws_clients(
    profile: str | None, region: str | None, endpoint_url: str | None, *services: str, config: Config | None = None
) -> list[Any]:  # boto3 builds its client classes at run time: no static type to give
    """One session's clients of `services`, in order."""
    try:
        session = boto3.Session(profile_name=profile)
        return [session.client(s, region_name=region, endpoint_url=endpoint_url, config=config) for s in services]
    except ProfileNotFound as error:
        raise UsageError(f"there is no AWS profile named {profile!r} in the AWS config files") from error
    except NoRegionError as error:
        raise UsageError("no AWS region given: use --region, AWS_REGION or a profile that sets one") from error
    except ValueError as error:  # botocore's word for an endpoint URL it cannot use
        raise UsageError(f"{endpoint_url!r} is not a usable {_NAMES[services[0]]} endpoint URL: {error}") from error
