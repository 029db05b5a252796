"""The conversation with Athena, through boto3 alone: start one query, wait for it, read its result.

Edge rows come back through UNLOAD to Parquet rather than as the CSV file Athena writes for every
query: the CSV is not compressed, and at the cardinality of an internet-facing VPC (74 edge rows per
1,000 records on the demo's internet profile) it was half the size of the gzip logs it summed, where
the same rows in gzip'd Parquet were 1/18 of them (bench/athena_pushdown.py). An UNLOAD needs an
empty S3 prefix of its own: each gets a new one under the output location. A plan (EXPLAIN) is small
and comes back as the CSV.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from etl.awsclients import aws_clients
from etl.errors import SourceError
from etl.sources.s3 import parse_s3_url, s3_errors

logger = logging.getLogger(__name__)

Execution = Mapping[str, Any]  # GetQueryExecution's QueryExecution
Stop = Callable[[], str | None]

# botocore retries throttling (TooManyRequestsException, ThrottlingException) in standard mode. Retrying
# StartQueryExecution never runs a query twice: botocore fills its ClientRequestToken once per call.
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
_ENDED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
_BACKOFF = 1.5
_PLAN_COLUMN = "Query Plan"  # the one column of an EXPLAIN's result
_CREDENTIALS_REFUSED = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException",
                                  "ExpiredToken", "InvalidSignatureException", "SignatureDoesNotMatch",
                                  "IncompleteSignatureException", "MissingAuthenticationTokenException"})  # fmt: skip
_PERMISSION_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})
_PERMISSIONS = (
    "the credentials need athena:StartQueryExecution, GetQueryExecution and StopQueryExecution, "
    "GetWorkGroup (without --output-location), glue:GetDatabase, GetTable and GetPartitions on the table, "
    "s3:GetObject and ListBucket on its data, and s3:GetBucketLocation, ListBucket, GetObject and PutObject on "
    "the output location"
)


class AthenaError(SourceError):
    """A query Athena refused, failed or cancelled, or one stopped on request; the message names its id."""


@dataclass(frozen=True)
class Where:
    """Where queries run: a database, a workgroup (None: Athena's "primary"), and where results go
    (None: the workgroup's own output location)."""

    database: str
    workgroup: str | None = None
    output_location: str | None = None  # s3://bucket/prefix/


@dataclass(frozen=True)
class Finished:
    query_id: str
    output_location: str  # s3://bucket/key.csv, as GetQueryExecution reports it
    bytes_scanned: int


def make_athena(profile: str | None, region: str | None, endpoint_url: str | None) -> Athena:
    """Athena and S3 clients of one session, built here so the CLI never imports boto3."""
    return Athena(*aws_clients(profile, region, endpoint_url, "athena", "s3", config=_RETRIES))


def _never() -> str | None:
    return None


class Athena:
    """Queries run one at a time, each polled until it ends; a query Athena itself calls retryable
    is started again, up to `attempts` queries in all."""

    def __init__(
        self,
        athena: Any,  # boto3 builds its client classes at run time: no static type to give
        s3: Any,
        *,
        sleep: Callable[[float], None] = time.sleep,
        first_wait: float = 0.5,
        longest_wait: float = 5.0,
        attempts: int = 3,
    ) -> None:
        self._athena = athena
        self._s3 = s3
        self._sleep = sleep
        self._first_wait = first_wait
        self._longest_wait = longest_wait
        self._attempts = attempts

    def run(self, sql: str, where: Where, stop: Stop = _never) -> Finished:
        """The query's outcome once it succeeded; AthenaError if it failed, was cancelled, or `stop()`
        gave a reason to stop it (it is stopped at Athena then, so it is not billed to its end)."""
        attempt = 1
        while True:
            query_id = self._start(sql, where)
            execution = self._wait(query_id, stop)
            if execution["Status"]["State"] == "SUCCEEDED":
                return _finished(query_id, execution)
            if attempt >= self._attempts or not _retryable(execution):
                raise AthenaError(_ending(query_id, execution, attempt))
            logger.warning(
                "%s; starting it again, as Athena calls the failure retryable", _ending(query_id, execution, 1)
            )
            attempt += 1

    def rows(self, finished: Finished) -> bytes:
        """The result CSV's bytes."""
        location = parse_s3_url(finished.output_location)
        with s3_errors(location, f"Athena query {finished.query_id} left no result at {{where}}"):
            body = self._s3.get_object(Bucket=location.bucket, Key=location.prefix)["Body"]
            return body.read()  # type: ignore[no-any-return]

    def result_location(self, where: Where) -> str:
        """The S3 prefix results of `where`'s queries go under: its output location, else its workgroup's."""
        if where.output_location:
            return where.output_location
        group = where.workgroup or "primary"
        with _athena_errors(None):
            found = self._athena.get_work_group(WorkGroup=group)["WorkGroup"]
        location = ((found.get("Configuration") or {}).get("ResultConfiguration") or {}).get("OutputLocation")
        if not location:
            raise AthenaError(
                f"no output location is known for Athena's results: give --output-location or set one on the "
                f"workgroup {group}"
            )
        return str(location)

    def unload(
        self, sql: str, where: Where, target: str, schema: pa.Schema, stop: Stop = _never
    ) -> tuple[Finished, pa.Table]:
        """Run `sql` as an UNLOAD to Parquet under `target` (an S3 prefix nothing else writes to), and
        read back what it wrote, as a table of `schema` (its columns found by name)."""
        statement = f"UNLOAD ({sql})\nTO '{target.replace(chr(39), chr(39) * 2)}'\nWITH (format = 'PARQUET')"
        finished = self.run(statement, where, stop)
        return finished, self._parquet(target, schema, finished.query_id)

    def _parquet(self, target: str, schema: pa.Schema, query_id: str) -> pa.Table:
        location = parse_s3_url(target)
        tables = []
        with s3_errors(location):
            pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.prefix)
            for key in sorted(item["Key"] for page in pages for item in page.get("Contents", [])):
                body = self._s3.get_object(Bucket=location.bucket, Key=key)["Body"].read()
                try:
                    tables.append(pq.read_table(io.BytesIO(body)))
                except pa.ArrowException as error:
                    raise AthenaError(
                        f"what Athena query {query_id} unloaded to s3://{location.bucket}/{key} is not Parquet: "
                        f"{_one_line(str(error))}"
                    ) from error
        try:  # an empty result is no file at all
            return (
                pa.concat_tables([t.select(schema.names).cast(schema) for t in tables])
                if tables
                else schema.empty_table()
            )
        except (KeyError, pa.ArrowException) as error:
            raise AthenaError(
                f"what Athena query {query_id} unloaded is not edge rows: {_one_line(str(error))}"
            ) from error

    def explain(self, sql: str, where: Where, stop: Stop = _never) -> list[str]:
        """The plan of `sql`, one line per item, as Athena's EXPLAIN gives it."""
        result = read_result(
            self.rows(self.run("EXPLAIN " + sql, where, stop)), pa.schema([(_PLAN_COLUMN, pa.string())])
        )
        return [line or "" for line in result.column(_PLAN_COLUMN).to_pylist()]

    def _start(self, sql: str, where: Where) -> str:
        params: dict[str, Any] = {"QueryString": sql, "QueryExecutionContext": {"Database": where.database}}
        if where.workgroup:
            params["WorkGroup"] = where.workgroup
        if where.output_location:
            params["ResultConfiguration"] = {"OutputLocation": where.output_location}
        with _athena_errors(None):
            query_id: str = self._athena.start_query_execution(**params)["QueryExecutionId"]
        logger.debug("Athena query %s started in %s", query_id, where.database)
        return query_id

    def _wait(self, query_id: str, stop: Stop) -> Execution:
        try:
            return self._poll(query_id, stop)
        except BaseException:
            # Whatever ends the wait early (a stop, Ctrl-C, a refused poll) would leave the query
            # running, and billed, until Athena finishes it.
            self._cancel(query_id)
            raise

    def _poll(self, query_id: str, stop: Stop) -> Execution:
        wait = self._first_wait
        while True:
            self._sleep(wait)
            if (reason := stop()) is not None:
                raise AthenaError(f"Athena query {query_id} stopped: {reason}")
            with _athena_errors(query_id):
                execution: Execution = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            if execution["Status"]["State"] in _ENDED:
                return execution
            wait = min(wait * _BACKOFF, self._longest_wait)

    def _cancel(self, query_id: str) -> None:
        try:
            self._athena.stop_query_execution(QueryExecutionId=query_id)
        except (ClientError, BotoCoreError) as error:
            # The query may have ended meanwhile; the reason the wait ended is what the caller must hear.
            logger.warning("could not stop Athena query %s: %s", query_id, _one_line(str(error)))


def _finished(query_id: str, execution: Execution) -> Finished:
    # A query run with no output location has no ResultConfiguration (moto sends it as null).
    location = (execution.get("ResultConfiguration") or {}).get("OutputLocation")
    if not location:
        raise AthenaError(
            f"Athena query {query_id} succeeded but no output location is known for its result: "
            "give --output-location or set one on the workgroup"
        )
    return Finished(query_id, location, int((execution.get("Statistics") or {}).get("DataScannedInBytes", 0)))


def _retryable(execution: Execution) -> bool:
    return bool(execution["Status"].get("AthenaError", {}).get("Retryable", False))


def _ending(query_id: str, execution: Execution, attempt: int) -> str:
    """The sentence telling how a query that did not succeed ended."""
    reason = _one_line(execution["Status"].get("StateChangeReason") or "")
    if execution["Status"]["State"] == "CANCELLED":
        return f"Athena query {query_id} was cancelled" + (f": {reason}" if reason else "")
    ending = f"Athena query {query_id} failed" + (f": {reason}" if reason else " with no reason given")
    return ending + (f" (tried {attempt} times)" if attempt > 1 else "")


@contextlib.contextmanager
def _athena_errors(query_id: str | None) -> Iterator[None]:
    """botocore's errors as one sentence naming the query, if it has an id yet; never a credential."""
    try:
        yield
    except NoCredentialsError as error:
        raise AthenaError(
            "no AWS credentials found to query Athena: use --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID"
        ) from error
    except ClientError as error:
        raise AthenaError(_refusal(error, query_id)) from error
    except BotoCoreError as error:
        raise AthenaError(_trouble(error)) from error


def _refusal(error: ClientError, query_id: str | None) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    message = _one_line(error.response.get("Error", {}).get("Message", "")).rstrip(".")
    operation = error.operation_name + (f" for query {query_id}" if query_id else "")
    if code in _CREDENTIALS_REFUSED:
        return f"Athena does not accept the AWS credentials in use ({code}); check --profile or AWS_PROFILE"
    if code in _PERMISSION_DENIED:
        return f"Athena refused {operation} ({code}); {_PERMISSIONS}"
    if code == "InvalidRequestException":  # a missing database or workgroup, or SQL Athena cannot parse
        return f"Athena rejected the query{f' {query_id}' if query_id else ''}: {message}"
    return f"Athena failed {operation}: {code} {message}".rstrip()


def _trouble(error: BotoCoreError) -> str:
    endpoint = error.kwargs.get("endpoint_url")
    if endpoint:  # connection errors: the host alone, as the URL could carry a query string
        return f"cannot reach Athena at {urlsplit(str(endpoint)).netloc} ({type(error).__name__})"
    return f"cannot query Athena: {_one_line(str(error))}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def read_result(csv: bytes, schema: pa.Schema) -> pa.Table:
    """Athena's result CSV as a table of `schema`, its columns found by the header's names.

    Athena quotes every value and writes a NULL as an empty unquoted field, so `""` is an empty
    string and only an empty field is null. An array is written `[a, b, c]`; the elements read here
    are addresses, which hold no comma, bracket or space.
    """
    lists = {field.name for field in schema if pa.types.is_list(field.type)}
    options = pcsv.ConvertOptions(
        column_types={field.name: pa.string() if field.name in lists else field.type for field in schema},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pcsv.read_csv(io.BytesIO(csv), convert_options=options)
    except pa.ArrowInvalid as error:
        raise AthenaError(f"the Athena result cannot be read: {_one_line(str(error))}") from error
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise AthenaError(f"the Athena result has no column {', '.join(map(repr, missing))}")
    columns = [
        _array(field, table.column(field.name)) if field.name in lists else table.column(field.name) for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _array(field: pa.Field, text: pa.ChunkedArray) -> pa.ChunkedArray:
    """`[a, b, c]` texts as lists of field's element type."""
    if not pc.all(pc.and_(pc.starts_with(text, "["), pc.ends_with(text, "]")), min_count=0).as_py():
        raise AthenaError(f"the Athena result's column {field.name!r} holds a value that is not an [array]")
    inner = pc.utf8_slice_codeunits(text, 1, -1)
    split = pc.split_pattern(inner, ", ")
    # "[]" splits into one empty element; an empty array has none.
    lists = pc.if_else(pc.equal(inner, ""), pa.scalar([], split.type), split)
    return lists.cast(field.type)
