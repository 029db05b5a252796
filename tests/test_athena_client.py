"""The Athena conversation against moto's server over HTTP, through boto3: a query polled with backoff
until it succeeds, its result CSV read back from S3 and parsed, and every way a query ends otherwise.

moto's queries always succeed, so the other endings (FAILED with a reason, retryable or not, CANCELLED,
refusals and throttling) are played by moto's own server with its classes patched in-process: the
client still talks HTTP to it."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.retries.standard import ExponentialBackoff
from moto.athena.models import AthenaBackend, athena_backends
from moto.athena.responses import AthenaResponse
from moto.moto_api import state_manager

from etl.athena.client import Athena, AthenaError, Finished, Where, make_athena, read_result
from etl.errors import SourceError, UsageError
from tests.aws import fake_aws, moto_server

REGION = "ap-southeast-3"  # a region no other test module uses: moto's state is shared in-process
ACCOUNT = "123456789012"  # moto's default account
RESULTS = "athena-client-results"
OUTPUT = f"s3://{RESULTS}/results/"
WORKGROUP = "etl"
WHERE = Where("flows", WORKGROUP, OUTPUT)
EDGES = pa.schema(
    [("src", pa.string()), ("dst", pa.string()), ("port", pa.int32()), ("flows", pa.int64()),
     ("addresses", pa.list_(pa.string()))]
)  # fmt: skip
PERMISSIONS = (
    "the credentials need athena:StartQueryExecution, GetQueryExecution and StopQueryExecution, "
    "GetWorkGroup (without --output-location), glue:GetDatabase, GetTable and GetPartitions on the table, "
    "s3:GetObject and ListBucket on its data, and s3:GetBucketLocation, ListBucket, GetObject and PutObject on "
    "the output location"
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        fake_aws(patch, tmp_path_factory.mktemp("no-aws-config"), REGION)
        yield


@pytest.fixture(scope="module")
def server(endpoint: str, aws_env: None) -> str:
    """The endpoint, with the results bucket and a workgroup of our own (moto has "primary" already)."""
    session = boto3.Session(region_name=REGION)
    session.client("s3", endpoint_url=endpoint).create_bucket(
        Bucket=RESULTS, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    session.client("athena", endpoint_url=endpoint).create_work_group(Name=WORKGROUP)
    return endpoint


@pytest.fixture(scope="module")
def clients(server: str) -> tuple[Any, Any]:
    """boto3's Athena and S3 clients, made once: making them takes a tenth of a second each."""
    session = boto3.Session(region_name=REGION)
    return session.client("athena", endpoint_url=server), session.client("s3", endpoint_url=server)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def athena(clients: tuple[Any, Any], sleeps: list[float]) -> Athena:
    """A client whose waits are recorded instead of slept."""
    return Athena(*clients, sleep=sleeps.append)


@pytest.fixture
def backend() -> AthenaBackend:
    return athena_backends[ACCOUNT][REGION]


def new_queries(backend: AthenaBackend, before: set[str]) -> list[str]:
    """The ids of the queries started since `before`, in the order they started."""
    return [query_id for query_id in backend.executions if query_id not in before]


@contextlib.contextmanager
def polls_per_state(times: int) -> Iterator[None]:
    """Each query stays `times` GetQueryExecution calls QUEUED, then as many RUNNING."""
    state_manager.set_transition(model_name="athena::execution", transition={"progression": "manual", "times": times})
    try:
        yield
    finally:
        state_manager.unset_transition(model_name="athena::execution")


def queue_results(endpoint: str, *results: Sequence[Sequence[str | None]]) -> None:
    """Results for the next queries, as GetQueryResults gives them (the header first; None for a NULL):
    moto writes each as the CSV file Athena would, at the output location, when its query starts."""
    body = {
        "account_id": ACCOUNT,
        "region": REGION,
        "results": [
            {"rows": [{"Data": [{} if value is None else {"VarCharValue": value} for value in row]} for row in rows]}
            for rows in results
        ],
    }
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/athena/query-results",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).close()


@dataclass(frozen=True)
class Outcome:
    """How Athena ends a query: its last state, the reason it gives, whether it calls a failure
    retryable (Status.AthenaError.Retryable), and how many bytes it scanned."""

    state: str
    reason: str | None = None
    retryable: bool = False
    scanned: int = 0


@dataclass
class Script:
    """Athena behaviour moto lacks, played by its server: the outcome of each next query, and the
    errors the next StartQueryExecution calls answer with."""

    outcomes: list[Outcome] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)  # (error code, message)
    starts: int = 0  # StartQueryExecution calls received, refused or not
    ended: dict[str, Outcome] = field(default_factory=dict)  # query id -> its outcome


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    played = Script()
    start_response = AthenaResponse.start_query_execution
    get_response = AthenaResponse.get_query_execution
    start_query = AthenaBackend.start_query_execution

    def start(response: AthenaResponse) -> Any:
        # Athena answers a throttled or forbidden call with an error of the JSON protocol, 400.
        played.starts += 1
        if played.refusals:
            code, message = played.refusals.pop(0)
            return json.dumps({"__type": code, "Message": message}), {"status": 400}
        return start_response(response)

    def started(backend: AthenaBackend, *args: Any, **kwargs: Any) -> str:
        # A query that Athena will end in the outcome's state: moto's go QUEUED -> RUNNING -> SUCCEEDED.
        query_id = start_query(backend, *args, **kwargs)
        if played.outcomes:
            outcome = played.outcomes.pop(0)
            backend.executions[query_id]._transitions = [("QUEUED", "RUNNING"), ("RUNNING", outcome.state)]
            played.ended[query_id] = outcome
        return query_id

    def described(response: AthenaResponse) -> str:
        # A query that ended says why and, if it failed, whether trying again may help; moto says neither.
        body = json.loads(get_response(response))
        execution = body["QueryExecution"]
        outcome = played.ended.get(execution["QueryExecutionId"])
        if outcome is not None and execution["Status"]["State"] == outcome.state:
            if outcome.reason is not None:
                execution["Status"]["StateChangeReason"] = outcome.reason
            if outcome.state == "FAILED":
                execution["Status"]["AthenaError"] = {
                    "ErrorCategory": 2,
                    "ErrorType": 1001,
                    "Retryable": outcome.retryable,
                }
            execution["Statistics"]["DataScannedInBytes"] = outcome.scanned
        return json.dumps(body)

    monkeypatch.setattr(AthenaResponse, "start_query_execution", start)
    monkeypatch.setattr(AthenaResponse, "get_query_execution", described)
    monkeypatch.setattr(AthenaBackend, "start_query_execution", started)
    return played


def test_a_query_is_polled_with_backoff_until_it_succeeds_and_its_result_read(
    athena: Athena, server: str, backend: AthenaBackend, script: Script, sleeps: list[float]
) -> None:
    queue_results(
        server,
        [
            ["src", "dst", "port", "flows", "addresses"],
            ["web", "db", "5432", "12", "[10.0.1.5, 10.0.2.9]"],
            ["web", "", "443", None, "[]"],
            [None, "dns", "53", "3", None],
        ],
    )
    script.outcomes = [Outcome("SUCCEEDED", scanned=7_340_032)]
    asked: list[int] = []  # the waits done, each time stop() is asked

    def stop() -> None:
        asked.append(len(sleeps))

    before = set(backend.executions)
    with polls_per_state(4):  # 4 polls QUEUED, 4 RUNNING: SUCCEEDED at the 8th
        finished = athena.run("SELECT 1", WHERE, stop=stop)
    [query_id] = new_queries(backend, before)
    assert finished == Finished(query_id, f"{OUTPUT}{query_id}.csv", 7_340_032)
    assert sleeps == [0.5, 0.75, 1.125, 1.6875, 2.53125, 3.796875, 5.0, 5.0]
    assert asked == [1, 2, 3, 4, 5, 6, 7, 8]  # after each wait, before its poll
    csv = athena.rows(finished)
    assert csv == (
        b'"src","dst","port","flows","addresses"\n'
        b'"web","db","5432","12","[10.0.1.5, 10.0.2.9]"\n'
        b'"web","","443",,"[]"\n'
        b',"dns","53","3",\n'
    )
    assert read_result(csv, EDGES).to_pylist() == [
        {"src": "web", "dst": "db", "port": 5432, "flows": 12, "addresses": ["10.0.1.5", "10.0.2.9"]},
        {"src": "web", "dst": "", "port": 443, "flows": None, "addresses": []},
        {"src": None, "dst": "dns", "port": 53, "flows": 3, "addresses": None},
    ]


def test_the_query_runs_in_the_database_and_workgroup_asked_for(athena: Athena, backend: AthenaBackend) -> None:
    finished = athena.run("SELECT count(*) FROM flows.logs", WHERE)
    execution = backend.executions[finished.query_id]
    assert execution.workgroup is not None
    assert (execution.query, execution.context, execution.workgroup.name) == (
        "SELECT count(*) FROM flows.logs",
        {"Database": "flows"},
        WORKGROUP,
    )
    assert execution.config["OutputLocation"] == finished.output_location


@pytest.mark.parametrize(
    ("outcome", "sentence"),
    [
        (
            Outcome("FAILED", "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved"),
            "Athena query {id} failed: COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
        ),
        (Outcome("FAILED"), "Athena query {id} failed with no reason given"),
        (Outcome("CANCELLED", "Query cancelled by user"), "Athena query {id} was cancelled: Query cancelled by user"),
        (Outcome("CANCELLED"), "Athena query {id} was cancelled"),
    ],
    ids=["failed", "failed-no-reason", "cancelled", "cancelled-no-reason"],
)
def test_a_query_that_does_not_succeed_is_one_sentence_naming_it(
    athena: Athena, backend: AthenaBackend, script: Script, outcome: Outcome, sentence: str
) -> None:
    script.outcomes = [outcome]
    before = set(backend.executions)
    with pytest.raises(AthenaError) as raised:
        athena.run("SELECT x FROM logs", WHERE)
    [query_id] = new_queries(backend, before)  # a failure Athena does not call retryable is not retried
    assert str(raised.value) == sentence.format(id=query_id)


def test_a_retryable_failure_starts_the_query_again(athena: Athena, backend: AthenaBackend, script: Script) -> None:
    script.outcomes = [Outcome("FAILED", "GENERIC_INTERNAL_ERROR: worker lost", retryable=True), Outcome("SUCCEEDED")]
    before = set(backend.executions)
    finished = athena.run("SELECT 1", WHERE)
    first, second = new_queries(backend, before)
    assert finished.query_id == second != first
    assert backend.executions[first].query == backend.executions[second].query == "SELECT 1"


def test_a_query_failing_retryably_every_time_is_given_up_after_its_attempts(
    clients: tuple[Any, Any], backend: AthenaBackend, script: Script
) -> None:
    athena = Athena(*clients, sleep=lambda _: None, attempts=3)
    script.outcomes = [Outcome("FAILED", "GENERIC_INTERNAL_ERROR: worker lost", retryable=True)] * 4
    before = set(backend.executions)
    with pytest.raises(AthenaError) as raised:
        athena.run("SELECT 1", WHERE)
    queries = new_queries(backend, before)
    assert len(queries) == 3
    assert (
        str(raised.value) == f"Athena query {queries[-1]} failed: GENERIC_INTERNAL_ERROR: worker lost (tried 3 times)"
    )


def test_a_stop_request_stops_the_query_at_athena(athena: Athena, backend: AthenaBackend) -> None:
    answers = iter([None, None, "stopped by SIGTERM"])
    before = set(backend.executions)
    with polls_per_state(10), pytest.raises(AthenaError) as raised:
        athena.run("SELECT 1", WHERE, stop=lambda: next(answers))
    [query_id] = new_queries(backend, before)
    assert str(raised.value) == f"Athena query {query_id} stopped: stopped by SIGTERM"
    assert backend.executions[query_id].status == "CANCELLED"  # StopQueryExecution reached moto


def test_ctrl_c_stops_the_query_at_athena_and_goes_on(clients: tuple[Any, Any], backend: AthenaBackend) -> None:
    def sleep(seconds: float) -> None:
        if seconds > 0.5:  # the second wait
            raise KeyboardInterrupt

    athena = Athena(*clients, sleep=sleep)
    before = set(backend.executions)
    with polls_per_state(10), pytest.raises(KeyboardInterrupt):
        athena.run("SELECT 1", WHERE)
    [query_id] = new_queries(backend, before)
    assert backend.executions[query_id].status == "CANCELLED"


def test_throttled_starts_are_retried_by_botocore(
    server: str, backend: AthenaBackend, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)  # its jitter is up to 3 s here
    script.refusals = [("TooManyRequestsException", "Rate exceeded")] * 2
    before = set(backend.executions)
    finished = make_athena(None, REGION, server).run("SELECT 1", WHERE)
    assert script.starts == 3
    assert new_queries(backend, before) == [finished.query_id]


@pytest.mark.parametrize(
    ("code", "message", "sentence"),
    [
        (
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: athena:StartQueryExecution",
            f"Athena refused StartQueryExecution (AccessDeniedException); {PERMISSIONS}",
        ),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            "Athena does not accept the AWS credentials in use (UnrecognizedClientException); check --profile or AWS_PROFILE",
        ),
        (
            "InvalidRequestException",
            "Database flows is not found.",
            "Athena rejected the query: Database flows is not found",
        ),
        (
            "InternalServerException",
            "We encountered an internal error.\nPlease try again.",
            "Athena failed StartQueryExecution: InternalServerException We encountered an internal error. Please try again",
        ),
    ],
    ids=["access-denied", "credentials-refused", "invalid-request", "other"],
)
def test_a_refused_start_is_one_sentence(
    athena: Athena, backend: AthenaBackend, script: Script, code: str, message: str, sentence: str
) -> None:
    script.refusals = [(code, message)] * 5  # InternalServerException is retried: refuse them all
    before = set(backend.executions)
    with pytest.raises(AthenaError, match=r"^[^\n]*$") as raised:
        athena.run("SELECT 1", WHERE)
    assert str(raised.value) == sentence
    assert new_queries(backend, before) == []


def test_a_missing_workgroup_is_one_sentence(athena: Athena) -> None:
    with pytest.raises(AthenaError) as raised:
        athena.run("SELECT 1", Where("flows", "nobody's", OUTPUT))
    assert str(raised.value) == "Athena rejected the query: WorkGroup does not exist"


def test_a_result_with_no_known_location_says_how_to_give_one(athena: Athena, backend: AthenaBackend) -> None:
    before = set(backend.executions)
    with pytest.raises(AthenaError) as raised:
        athena.run("SELECT 1", Where("flows"))  # moto's "primary" workgroup sets no output location
    [query_id] = new_queries(backend, before)
    assert backend.executions[query_id].workgroup is None
    assert str(raised.value) == (
        f"Athena query {query_id} succeeded but no output location is known for its result: "
        "give --output-location or set one on the workgroup"
    )


def test_results_go_under_the_output_location_given_else_the_workgroups(
    athena: Athena, clients: tuple[Any, Any]
) -> None:
    assert athena.result_location(WHERE) == OUTPUT
    clients[0].create_work_group(
        Name="with-results", Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/group/"}}
    )
    assert athena.result_location(Where("flows", "with-results")) == f"s3://{RESULTS}/group/"
    with pytest.raises(AthenaError) as raised:
        athena.result_location(Where("flows"))  # moto's "primary" has none
    assert str(raised.value) == (
        "no output location is known for Athena's results: give --output-location or set one on the workgroup primary"
    )


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_an_unload_is_read_back_from_every_file_it_wrote(
    athena: Athena, clients: tuple[Any, Any], backend: AthenaBackend
) -> None:
    """Athena writes an UNLOAD's rows as files under its target, as many as its workers: each is read,
    its columns found by name (Athena's `integer` port comes back as the schema's int32 here)."""
    target = f"s3://{RESULTS}/unload/slice-1/"
    parts = [
        pa.table({"flows": pa.array([3], pa.int64()), "src": ["10.0.0.1"], "dst": ["10.0.0.2"], "port": [443],
                  "addresses": [["198.51.100.7", "198.51.100.9"]]}),
        pa.table({"src": ["10.0.0.3"], "dst": ["10.0.0.2"], "port": pa.array([22], pa.int64()),
                  "flows": pa.array([1], pa.int64()), "addresses": pa.array([None], pa.list_(pa.string()))}),
    ]  # fmt: skip
    for number, part in enumerate(parts):
        clients[1].put_object(Bucket=RESULTS, Key=f"unload/slice-1/part-{number}", Body=_parquet(part))
    before = set(backend.executions)
    finished, table = athena.unload("SELECT 1", WHERE, target, EDGES)
    [query_id] = new_queries(backend, before)
    assert finished.query_id == query_id
    assert backend.executions[query_id].query == f"UNLOAD (SELECT 1)\nTO '{target}'\nWITH (format = 'PARQUET')"
    assert table.schema == EDGES
    assert table.to_pylist() == [
        {"src": "10.0.0.1", "dst": "10.0.0.2", "port": 443, "flows": 3, "addresses": ["198.51.100.7", "198.51.100.9"]},
        {"src": "10.0.0.3", "dst": "10.0.0.2", "port": 22, "flows": 1, "addresses": None},
    ]


def test_an_unload_of_no_rows_writes_no_file_and_reads_as_an_empty_table(athena: Athena) -> None:
    _, table = athena.unload("SELECT 1 WHERE false", WHERE, f"s3://{RESULTS}/unload/empty/", EDGES)
    assert table.num_rows == 0 and table.schema == EDGES


def test_an_unload_that_is_not_edge_rows_is_one_sentence(athena: Athena, clients: tuple[Any, Any]) -> None:
    clients[1].put_object(Bucket=RESULTS, Key="unload/odd/part-0", Body=_parquet(pa.table({"other": [1]})))
    clients[1].put_object(Bucket=RESULTS, Key="unload/junk/part-0", Body=b"not parquet")
    with pytest.raises(AthenaError, match="unloaded is not edge rows: "):
        athena.unload("SELECT 1", WHERE, f"s3://{RESULTS}/unload/odd/", EDGES)
    with pytest.raises(AthenaError, match=f"unloaded to s3://{RESULTS}/unload/junk/part-0 is not Parquet"):
        athena.unload("SELECT 1", WHERE, f"s3://{RESULTS}/unload/junk/", EDGES)


def test_explain_returns_the_plan_lines(athena: Athena, server: str, backend: AthenaBackend) -> None:
    plan = ["Fragment 0 [SINGLE]", "    Output layout: [src, flows]", "", "Fragment 1 [SOURCE]"]
    queue_results(server, [["Query Plan"], *([line] for line in plan)])
    before = set(backend.executions)
    assert athena.explain("SELECT src, count(*) AS flows FROM logs GROUP BY src", WHERE) == plan
    [query_id] = new_queries(backend, before)
    assert backend.executions[query_id].query == "EXPLAIN SELECT src, count(*) AS flows FROM logs GROUP BY src"


def test_a_result_missing_from_s3_is_a_source_error(athena: Athena) -> None:
    location = f"s3://{RESULTS}/results/gone.csv"
    with pytest.raises(SourceError) as caught:
        athena.rows(Finished("gone", location, 0))
    assert str(caught.value) == f"Athena query gone left no result at {location}"


def test_no_credentials_is_one_sentence(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AthenaError) as raised:
        make_athena(None, REGION, server).run("SELECT 1", WHERE)
    assert str(raised.value) == (
        "no AWS credentials found to query Athena: use --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID"
    )


def test_an_unreachable_endpoint_is_named_by_its_host(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)  # botocore tries 5 times
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AthenaError) as raised:
        make_athena(None, REGION, f"http://127.0.0.1:{port}/?token=secret").run("SELECT 1", WHERE)
    assert str(raised.value) == f"cannot reach Athena at 127.0.0.1:{port} (EndpointConnectionError)"


@pytest.mark.parametrize(
    ("profile", "region", "endpoint_url", "sentence"),
    [
        ("nobody", REGION, None, "there is no AWS profile named 'nobody' in the AWS config files"),
        (None, None, None, "no AWS region given: use --region, AWS_REGION or a profile that sets one"),
        (None, REGION, "not a url", "'not a url' is not a usable Athena endpoint URL: Invalid endpoint: not a url"),
    ],
    ids=["unknown-profile", "no-region", "bad-endpoint"],
)
def test_make_athena_turns_bad_settings_into_usage_errors(
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    sentence: str,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(UsageError) as raised:
        make_athena(profile, region, endpoint_url)
    assert str(raised.value) == sentence


ROWS = pa.schema([("src", pa.string()), ("port", pa.int64()), ("addresses", pa.list_(pa.string()))])


@pytest.mark.parametrize(
    ("csv", "expected"),
    [
        pytest.param(
            b'"src","port","addresses"\n"a,b","1","[10.0.0.1]"\n"say ""hi""","2","[10.0.0.2]"\n',
            [("a,b", 1, ["10.0.0.1"]), ('say "hi"', 2, ["10.0.0.2"])],
            id="quoting",
        ),
        pytest.param(
            b'"src","port","addresses"\n"","3",\n,,"[]"\n"NULL","4","[]"\n',
            [("", 3, None), (None, None, []), ("NULL", 4, [])],
            id="empty-string-vs-null",
        ),
        pytest.param(
            b'"src","port","addresses"\n"x","5","[10.0.0.1, 2001:db8::1, fe80::1]"\n"y","6","[::1]"\n',
            [("x", 5, ["10.0.0.1", "2001:db8::1", "fe80::1"]), ("y", 6, ["::1"])],
            id="arrays",
        ),
        pytest.param(
            b'"port","extra","addresses","src"\n"7","ignored","[]","z"\n',
            [("z", 7, [])],
            id="columns-by-name",
        ),
        pytest.param(b'"src","port","addresses"\n', [], id="header-only"),
    ],
)
def test_read_result(csv: bytes, expected: list[tuple[str | None, int | None, list[str] | None]]) -> None:
    table = read_result(csv, ROWS)
    assert table.schema == ROWS
    assert [(row["src"], row["port"], row["addresses"]) for row in table.to_pylist()] == expected


@pytest.mark.parametrize(
    ("csv", "sentence"),
    [
        (b'"src","port"\n"a","1"\n', "the Athena result has no column 'addresses'"),
        (
            b'"src","port","addresses"\n"a","1","10.0.0.1"\n',
            "the Athena result's column 'addresses' holds a value that is not an [array]",
        ),
        (b'"src","port","addresses"\n"a","one","[]"\n', "the Athena result cannot be read: "),
    ],
    ids=["missing-column", "not-an-array", "not-an-integer"],
)
def test_read_result_refuses_what_does_not_fit(csv: bytes, sentence: str) -> None:
    with pytest.raises(AthenaError) as raised:
        read_result(csv, ROWS)
    assert str(raised.value).startswith(sentence)
