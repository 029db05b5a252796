"""Flow-log objects in S3: listed page by page, pruned by the key layout AWS writes, streamed on read.

An object's ledger identity is its URI plus the ETag the listing gave, so a rewritten object loads
again and an unchanged one never twice; the GET asks for that ETag (If-Match), so the bytes read are
always the ones the identity names.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Iterator, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
)

from etl.awsclients import aws_clients
from etl.errors import SourceError, UsageError
from etl.sources.timewindow import KeyFilter, Step, TimeWindow, keep_object, plan_folder

# The characters botocore accepts in a bucket name (S3-compatible stores allow more than AWS does).
_BUCKET = re.compile(r"[A-Za-z0-9._-]{1,255}")
_READ_BUFFER = 1 << 20

_DENIED = "access to {where} is denied to the AWS credentials in use"
_EXPIRED = "the AWS credentials in use have expired (reading {where}); refresh them, for example with aws sso login"
_CLIENT_ERRORS = {
    "AccessDenied": _DENIED,
    "AllAccessDisabled": _DENIED,
    "NoSuchBucket": "there is no bucket named {bucket} (reading {where}); check the name and --endpoint-url",
    "NoSuchKey": "{where} was deleted after it was listed",
    "PreconditionFailed": "{where} was rewritten after it was listed; run again to read the new version",
    "ExpiredToken": _EXPIRED,
    "ExpiredTokenException": _EXPIRED,
    "InvalidToken": "AWS does not accept the session token in use (reading {where})",
    "InvalidAccessKeyId": "AWS does not know the access key in use (reading {where}); check --profile or AWS_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "the AWS secret key in use does not match its access key (reading {where})",
}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_s3_url(url: str) -> S3Location:
    """`s3://bucket/prefix` as its bucket and key prefix (the prefix may be empty)."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not _BUCKET.fullmatch(bucket):
        raise UsageError(f"{url!r} is not an S3 URL: write s3://bucket/prefix")
    return S3Location(bucket, prefix)


class S3Client:
    """The S3 client of a run: boto3's, shared by the run's threads. Sent to a worker process, it
    travels as the profile, region and endpoint that made it (a boto3 client cannot be pickled), and
    each worker makes one of its own, once."""

    def __init__(self, made_with: tuple[str | None, str | None, str | None], client: Any) -> None:
        self._made_with = made_with
        self._client = client  # boto3 builds its client classes at run time: no static type to give

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def __reduce__(self) -> tuple[Any, tuple[str | None, str | None, str | None]]:
        return _client_of_this_process, self._made_with


def make_s3_client(profile: str | None, region: str | None, endpoint_url: str | None) -> S3Client:
    """The one S3 client of a run."""
    [client] = aws_clients(profile, region, endpoint_url, "s3")
    return S3Client((profile, region, endpoint_url), client)


@functools.cache
def _client_of_this_process(profile: str | None, region: str | None, endpoint_url: str | None) -> S3Client:
    return make_s3_client(profile, region, endpoint_url)


@contextlib.contextmanager
def s3_errors(location: S3Location, missing: str | None = None) -> Iterator[None]:
    """botocore's errors as one sentence naming the bucket and key (or prefix); never a credential.
    `missing` says what an absent key means, where it is not an object deleted since its listing."""
    where = str(location)
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        template = missing if missing and code == "NoSuchKey" else _CLIENT_ERRORS.get(code)
        if template is None:
            message = error.response.get("Error", {}).get("Message", "")
            raise SourceError(f"S3 refused to serve {where}: {code} {message}".rstrip()) from error
        raise SourceError(template.format(where=where, bucket=location.bucket)) from error
    except NoCredentialsError as error:
        raise SourceError(
            f"no AWS credentials found to read {where}: use --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from error
    except EndpointConnectionError as error:
        host = urlsplit(str(error.kwargs.get("endpoint_url", ""))).netloc
        raise SourceError(f"cannot reach S3 at {host} to read {where}") from error
    except ParamValidationError as error:
        raise UsageError(f"S3 cannot be asked for {where}: {error}") from error
    except BotoCoreError as error:  # expired SSO tokens, partial credentials, timeouts: their own words
        raise SourceError(f"cannot read {where}: {error}") from error


class _Body(io.RawIOBase):
    """botocore's response body as a raw stream whose read errors are OSError, as a file's would be."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self._body.readinto(buffer)  # type: ignore[no-any-return]
        except BotoCoreError as error:
            raise OSError(f"the download broke off: {error}") from error

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


@dataclass(frozen=True)
class S3Source:
    """One object, as the listing saw it."""

    client: S3Client = field(repr=False, compare=False)
    bucket: str
    key: str
    etag: str  # as S3 sends it, in double quotes

    @property
    def id(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def digest(self) -> str:
        etag = self.etag.strip('"')
        return f"etag:{etag}"

    def open(self) -> BinaryIO:
        """The object's bytes, streamed as they arrive (the caller decompresses)."""
        with s3_errors(S3Location(self.bucket, self.key)):
            response = self.client.get_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        return io.BufferedReader(_Body(response["Body"]), buffer_size=_READ_BUFFER)


def _walk(client: S3Client, bucket: str, prefix: str, filters: KeyFilter, *, root: bool) -> Iterator[dict[str, Any]]:
    """The listing entries of the objects under `prefix` that the filters keep, listing no folder they prune."""
    step = plan_folder(prefix, filters, root=root)
    if step is Step.SKIP:
        return
    # A root that ends mid-name (`logs` for `logs/`) names its children in full: judge them as roots.
    children_are_roots = root and not prefix.endswith("/") and prefix != ""
    delimiter = {"Delimiter": "/"} if step is Step.DESCEND else {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **delimiter):
        yield from (entry for entry in page.get("Contents", []) if keep_object(entry["Key"], filters.window))
        for common in page.get("CommonPrefixes", []):
            yield from _walk(client, bucket, common["Prefix"], filters, root=children_are_roots)


def list_s3_sources(
    client: S3Client,
    url: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    accounts: Set[str] | None = None,
    regions: Set[str] | None = None,
) -> list[S3Source]:
    """The objects under `url`, sorted by key. A URL naming one object exactly gives that object alone.

    Under AWS's key layouts only the folders the window (widened by timewindow.DELIVERY_MARGIN) and the
    account and region filters admit are listed; elsewhere every key under the prefix is a source. Keys
    ending with '/' are folder markers, not sources; an empty object is a source (the pipeline reports
    it as a file with no records).
    """
    location = parse_s3_url(url)
    filters = KeyFilter(TimeWindow(start, end), frozenset(accounts or ()) or None, frozenset(regions or ()) or None)
    with s3_errors(location):
        entries = list(_walk(client, location.bucket, location.prefix, filters, root=True))
    exact = [entry for entry in entries if entry["Key"] == location.prefix]
    chosen = exact or sorted(entries, key=lambda entry: entry["Key"])
    return [S3Source(client, location.bucket, entry["Key"], entry["ETag"]) for entry in chosen]
