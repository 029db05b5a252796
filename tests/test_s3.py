"""S3 sources against moto's server over HTTP, through boto3: both key layouts, paging past 1,000 keys,
time-window pruning proven by the requests the server logged, ETags, gzip streaming, access errors,
and a dry-run load whose totals are counted independently with str.split."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

from etl.errors import SourceError, UsageError
from etl.formats import open_text
from etl.parse import ParseStats, parse_stream
from etl.pipeline import LoadOptions, load
from etl.sources import S3Options, resolve_sources
from etl.sources.s3 import S3Client, list_s3_sources, make_s3_client
from tests.aws import fake_aws

BUCKET = "flow-logs"
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111122223333"
FIRST_HOUR = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = (datetime(2026, 1, 2, 10, tzinfo=UTC), datetime(2026, 1, 2, 12, tzinfo=UTC))
LAYOUTS = [
    pytest.param(False, False, id="plain-daily"),
    pytest.param(False, True, id="plain-hourly"),
    pytest.param(True, False, id="hive-daily"),
    pytest.param(True, True, id="hive-hourly"),
]


class RequestLog(logging.Handler):
    """The server's access log: werkzeug logs every request line ("GET /bucket/key?query HTTP/1.1")."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 3:
            self.lines.append(str(record.args[0]))

    def _requests(self) -> Iterator[tuple[str, str, dict[str, str]]]:
        for line in list(self.lines):
            method, target, _ = line.split(" ")
            url = urlsplit(target)
            yield method, unquote(url.path), dict(parse_qsl(url.query, keep_blank_values=True))

    def gets(self) -> list[str]:
        """The keys of the objects downloaded from BUCKET."""
        return [
            path.removeprefix(f"/{BUCKET}/")
            for method, path, query in self._requests()
            if method == "GET" and path.startswith(f"/{BUCKET}/") and "list-type" not in query
        ]

    def listings(self) -> list[tuple[str, bool]]:
        """(prefix, with Delimiter='/') of every ListObjectsV2 page requested from BUCKET."""
        return [
            (query["prefix"], query.get("delimiter") == "/")
            for method, path, query in self._requests()
            if method == "GET" and path == f"/{BUCKET}" and query.get("list-type") == "2"
        ]


@dataclass(frozen=True)
class Moto:
    endpoint: str
    log: RequestLog

    def post(self, path: str, body: bytes = b"") -> None:
        request = urllib.request.Request(
            self.endpoint + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request).close()


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    log = RequestLog()
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.addHandler(log)  # with a handler of its own, werkzeug does not add one that prints
    werkzeug.setLevel(logging.INFO)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield Moto(f"http://{host}:{port}", log)
    server.stop()
    werkzeug.removeHandler(log)


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        fake_aws(patch, tmp_path_factory.mktemp("no-aws-config"), "us-east-1")
        yield


@pytest.fixture(scope="module")
def client(moto: Moto, aws_env: None) -> S3Client:
    return make_s3_client(None, "us-east-1", moto.endpoint)


@pytest.fixture
def s3(moto: Moto, client: S3Client) -> S3Client:
    """The client, an empty BUCKET, an empty request log."""
    moto.post("/moto-api/reset")
    client.create_bucket(Bucket=BUCKET)
    moto.log.lines.clear()
    return client


def flow_key(when: datetime, *, hive: bool, hourly: bool, account: str = ACCOUNT, region: str = "us-east-1") -> str:
    """Where AWS writes the file it wrote at `when` (the layouts of the VPC user guide, "Flow log files")."""
    if hive:
        folder = (
            f"AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/"
            f"year={when:%Y}/month={when:%m}/day={when:%d}/" + (f"hour={when:%H}/" if hourly else "")
        )
    else:
        folder = f"AWSLogs/{account}/vpcflowlogs/{region}/{when:%Y/%m/%d}/" + (f"{when:%H}/" if hourly else "")
    tag = hashlib.sha1(folder.encode()).hexdigest()[:8]
    return f"{folder}{account}_vpcflowlogs_{region}_fl-0a1b2c3d4e5f60718_{when:%Y%m%dT%H%M}Z_{tag}.log.gz"


def flow_body(when: datetime, records: int) -> bytes:
    """A gzip file of `records` default-format records from the five minutes before `when`."""
    end = int(when.timestamp())
    lines = [
        f"2 {ACCOUNT} eni-0a1b2c3d 10.0.1.{i % 250 + 1} 10.0.2.9 {40000 + i} 443 6 {i + 1} {100 * (i + 1)} "
        f"{end - 300} {end - 240} ACCEPT OK"
        for i in range(records)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def count_records(body: bytes) -> tuple[int, int]:
    """(records, packets) of a gzip flow-log body, read with str.split alone."""
    rows = [line.split() for line in gzip.decompress(body).decode().splitlines() if line.strip()]
    records = [row for row in rows if row[0] != "version"]
    return len(records), sum(int(row[8]) for row in records)


def seed(objects: dict[str, bytes]) -> None:
    """Objects written straight into the server's store: PUTs over HTTP take 10 ms each, and what is
    tested is listing and reading them."""
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key, body in objects.items():
        backend.put_object(BUCKET, key, body)


def put_hours(hours: int, **layout: Any) -> dict[str, bytes]:
    """One file written five minutes past every hour from FIRST_HOUR on, with 1 to 3 records."""
    objects = {}
    for hour in range(hours):
        when = FIRST_HOUR + timedelta(hours=hour, minutes=5)
        objects[flow_key(when, **layout)] = flow_body(when, hour % 3 + 1)
    seed(objects)
    return objects


def md5_digest(body: bytes) -> str:
    return "etag:" + hashlib.md5(body).hexdigest()  # a single PUT's ETag is the MD5 of its bytes


@pytest.mark.parametrize(("hive", "hourly"), LAYOUTS)
def test_without_filters_every_object_of_either_layout_is_a_source(s3: S3Client, hive: bool, hourly: bool) -> None:
    objects = put_hours(30, hive=hive, hourly=hourly)
    objects.update(put_hours(2, hive=hive, hourly=hourly, region="eu-west-1"))
    sources = list_s3_sources(s3, f"s3://{BUCKET}/")
    assert [s.id for s in sources] == sorted(f"s3://{BUCKET}/{key}" for key in objects)
    assert {s.key: s.digest() for s in sources} == {key: md5_digest(body) for key, body in objects.items()}


@pytest.mark.parametrize(("hive", "hourly"), LAYOUTS)
def test_a_window_lists_only_its_folders_and_downloads_only_its_files(
    moto: Moto, s3: S3Client, hive: bool, hourly: bool
) -> None:
    objects = put_hours(4 * 24, hive=hive, hourly=hourly)  # 2026-01-01 to 2026-01-04
    options = S3Options(endpoint_url=moto.endpoint, start=WINDOW[0], end=WINDOW[1])
    summary = load(resolve_sources([f"s3://{BUCKET}/"], options), None, LoadOptions())

    # 10:00-12:00 with the one-hour margin: the files written at 09:05, 10:05, 11:05 and 12:05.
    inside = {flow_key(datetime(2026, 1, 2, hour, 5, tzinfo=UTC), hive=hive, hourly=hourly) for hour in (9, 10, 11, 12)}
    assert sorted(moto.log.gets()) == sorted(inside)
    assert summary.count("loaded") == 4
    assert summary.stats.records == sum(count_records(objects[key])[0] for key in inside)

    # One level at a time from the bucket down to 2026-01-02, then (hourly) each hour folder in full.
    day = flow_key(datetime(2026, 1, 2, tzinfo=UTC), hive=hive, hourly=False).rpartition("/")[0] + "/"
    expected = [("", True)] + [(day.rsplit("/", depth)[0] + "/", True) for depth in range(7, 0, -1)]
    if hourly:
        expected += [(key.rpartition("/")[0] + "/", False) for key in sorted(inside)]
    assert sorted(moto.log.listings()) == sorted(expected)


@pytest.mark.parametrize("hive", [False, True], ids=["plain", "hive"])
def test_account_and_region_filters_prune_their_folders(moto: Moto, s3: S3Client, hive: bool) -> None:
    kept = put_hours(3, hive=hive, hourly=False, account=OTHER_ACCOUNT, region="eu-west-1")
    for account, region in ((OTHER_ACCOUNT, "us-east-1"), (ACCOUNT, "us-east-1"), (ACCOUNT, "eu-west-1")):
        put_hours(3, hive=hive, hourly=False, account=account, region=region)
    sources = list_s3_sources(
        s3, f"s3://{BUCKET}/AWSLogs/", accounts={OTHER_ACCOUNT}, regions={"eu-west-1"}, start=None, end=None
    )
    assert {s.key for s in sources} == set(kept)
    # AWSLogs/, the account, the service one level each; the region in full; no other account or region.
    parts = next(iter(kept)).split("/")
    folders = ["/".join(parts[:depth]) + "/" for depth in range(1, 5)]
    assert moto.log.listings() == [(folders[0], True), (folders[1], True), (folders[2], True), (folders[3], False)]


def test_more_than_a_thousand_keys_are_listed_page_by_page(moto: Moto, s3: S3Client) -> None:
    keys = [f"exported/part-{i:05d}.log" for i in range(1_203)]
    seed(dict.fromkeys(keys, b"1"))
    sources = list_s3_sources(s3, f"s3://{BUCKET}/exported/")
    assert [s.key for s in sources] == keys
    # A prefix above any AWSLogs/ is listed one level down (to find one): two pages of a thousand at most.
    assert moto.log.listings() == [("exported/", True), ("exported/", True)]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"s3://{BUCKET}", {"a", "b", "c", "other/d"}),
        (f"s3://{BUCKET}/", {"a", "b", "c", "other/d"}),
        (f"s3://{BUCKET}/AWSLogs", {"a", "b", "c"}),
        (f"s3://{BUCKET}/AWSLogs/{ACCOUNT}/vpcflowlogs/eu-west-1/", {"c"}),
        ("exact", {"a"}),
    ],
)
def test_url_forms(s3: S3Client, url: str, expected: set[str]) -> None:
    names = {
        "a": flow_key(FIRST_HOUR, hive=False, hourly=False),
        "b": flow_key(FIRST_HOUR + timedelta(days=1), hive=False, hourly=False),
        "c": flow_key(FIRST_HOUR, hive=False, hourly=False, region="eu-west-1"),
        "other/d": "other/d.log",
    }
    for key in names.values():
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"")
    s3.put_object(Bucket=BUCKET, Key="other/folder-marker/", Body=b"")
    url = f"s3://{BUCKET}/{names['a']}" if url == "exact" else url
    assert {s.key for s in list_s3_sources(s3, url)} == {names[n] for n in expected}


def test_a_rewritten_object_gets_a_new_digest_and_the_old_listing_cannot_read_it(s3: S3Client) -> None:
    key = flow_key(FIRST_HOUR, hive=False, hourly=False)
    first, second = flow_body(FIRST_HOUR, 1), flow_body(FIRST_HOUR, 2)
    s3.put_object(Bucket=BUCKET, Key=key, Body=first)
    [before] = list_s3_sources(s3, f"s3://{BUCKET}/AWSLogs/")
    [again] = list_s3_sources(s3, f"s3://{BUCKET}/AWSLogs/")
    s3.put_object(Bucket=BUCKET, Key=key, Body=second)
    [after] = list_s3_sources(s3, f"s3://{BUCKET}/AWSLogs/")

    assert before.id == after.id == f"s3://{BUCKET}/{key}"
    assert before.digest() == again.digest() == md5_digest(first)
    assert after.digest() == md5_digest(second)
    with after.open() as stream:
        assert stream.read() == second
    with pytest.raises(SourceError) as caught:
        before.open()
    assert (
        str(caught.value) == f"s3://{BUCKET}/{key} was rewritten after it was listed; run again to read the new version"
    )


def test_an_object_deleted_after_the_listing_fails_with_one_sentence(s3: S3Client) -> None:
    s3.put_object(Bucket=BUCKET, Key="logs/gone.log", Body=b"x")
    [source] = list_s3_sources(s3, f"s3://{BUCKET}/logs/")
    s3.delete_object(Bucket=BUCKET, Key="logs/gone.log")
    with pytest.raises(SourceError) as caught:
        source.open()
    assert str(caught.value) == f"s3://{BUCKET}/logs/gone.log was deleted after it was listed"


def test_a_gzip_object_streams_and_parses_to_the_records_it_holds(s3: S3Client) -> None:
    # Two gzip members, a header in the first: what AWS's and Firehose's concatenated files look like.
    members = [
        b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
    ]
    members += [gzip.decompress(flow_body(FIRST_HOUR + timedelta(hours=h), 2_000 + h)) for h in range(2)]
    body = gzip.compress(members[0] + members[1]) + gzip.compress(members[2])
    s3.put_object(Bucket=BUCKET, Key="concatenated.log.gz", Body=body)
    [source] = list_s3_sources(s3, f"s3://{BUCKET}/concatenated.log.gz")

    stats = ParseStats()
    with source.open() as raw, open_text(raw) as text:
        tables = list(parse_stream(text, stats=stats, block_size=1 << 14))
    records, packets = count_records(body)
    assert (stats.records, sum(t.num_rows for t in tables)) == (records, records) == (4_001, 4_001)
    assert sum(sum(t["packets"].to_pylist()) for t in tables) == packets


def test_an_empty_object_is_a_source_with_no_records_and_folder_markers_are_none(moto: Moto, s3: S3Client) -> None:
    s3.put_object(Bucket=BUCKET, Key="logs/empty.log", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="logs/marker/", Body=b"")
    sources = resolve_sources([f"s3://{BUCKET}/logs/"], S3Options(endpoint_url=moto.endpoint))
    assert [s.id for s in sources] == [f"s3://{BUCKET}/logs/empty.log"]
    summary = load(sources, None, LoadOptions())
    assert [(f.source_id, f.stats.records) for f in summary.files] == [(f"s3://{BUCKET}/logs/empty.log", 0)]
    assert summary.count("failed") == 0


def test_a_dry_run_load_over_s3_and_disk_gives_the_records_the_files_hold(
    moto: Moto, s3: S3Client, tmp_path: Path
) -> None:
    objects = put_hours(6, hive=True, hourly=True)
    local = tmp_path / "local.log.gz"
    local.write_bytes(flow_body(FIRST_HOUR, 7))
    urls = [f"s3://{BUCKET}/AWSLogs/", str(local), f"s3://{BUCKET}/AWSLogs/aws-account-id={ACCOUNT}/"]
    sources = resolve_sources(urls, S3Options(endpoint_url=moto.endpoint, region="us-east-1"))
    assert len(sources) == len(objects) + 1  # the second URL names objects the first already gave

    summary = load(sources, None, LoadOptions())
    bodies = [*objects.values(), local.read_bytes()]
    assert summary.count("loaded") == len(bodies)
    assert summary.stats.records == sum(count_records(body)[0] for body in bodies) == 19
    assert sorted(moto.log.gets()) == sorted(objects)


def test_a_prefix_with_nothing_inside_the_filters_is_a_usage_error(moto: Moto, s3: S3Client) -> None:
    put_hours(2, hive=False, hourly=False)
    options = S3Options(endpoint_url=moto.endpoint, start=datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(UsageError) as caught:
        resolve_sources([f"s3://{BUCKET}/AWSLogs/"], options)
    assert (
        str(caught.value) == f"s3://{BUCKET}/AWSLogs/ holds no objects inside --start/--end, --account and --aws-region"
    )


def test_no_such_bucket(s3: S3Client) -> None:
    with pytest.raises(SourceError) as caught:
        list_s3_sources(s3, "s3://no-such-bucket/AWSLogs/")
    assert str(caught.value) == (
        "there is no bucket named no-such-bucket (reading s3://no-such-bucket/AWSLogs/); check the name and --endpoint-url"
    )


@pytest.fixture
def iam_user(moto: Moto, s3: S3Client) -> Iterator[tuple[str, str]]:
    """An access key of an IAM user with no policy, then moto's IAM authentication switched on."""
    iam = boto3.client("iam", endpoint_url=moto.endpoint, region_name="us-east-1")
    iam.create_user(UserName="auditor")
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    moto.post("/moto-api/reset-auth", b"0")  # authenticate every request from now on
    yield key["AccessKeyId"], key["SecretAccessKey"]
    moto.post("/moto-api/reset-auth", b"inf")


@pytest.mark.parametrize(
    ("access_key", "secret", "sentence"),
    [
        (
            "AKIAUNKNOWNKEY000000",
            "x",
            "AWS does not know the access key in use (reading {url}); check --profile or AWS_ACCESS_KEY_ID",
        ),
        (None, "not-the-secret", "the AWS secret key in use does not match its access key (reading {url})"),
        (None, None, "access to {url} is denied to the AWS credentials in use"),
    ],
    ids=["unknown-key", "wrong-secret", "no-permission"],
)
def test_refused_credentials_are_one_sentence_without_the_secret(
    moto: Moto,
    iam_user: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    access_key: str | None,
    secret: str | None,
    sentence: str,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key or iam_user[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret or iam_user[1])
    url = f"s3://{BUCKET}/AWSLogs/"
    with pytest.raises(SourceError) as caught:
        list_s3_sources(make_s3_client(None, "us-east-1", moto.endpoint), url)
    assert str(caught.value) == sentence.format(url=url)
    assert (secret or iam_user[1]) not in str(caught.value)


def test_a_file_that_may_be_listed_but_not_read_fails_alone(
    moto: Moto, s3: S3Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = put_hours(2, hive=False, hourly=False)
    iam = boto3.client("iam", endpoint_url=moto.endpoint, region_name="us-east-1")
    iam.create_user(UserName="lister")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    iam.put_user_policy(UserName="lister", PolicyName="list-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="lister")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    moto.post("/moto-api/reset-auth", b"0")
    try:
        summary = load(resolve_sources([f"s3://{BUCKET}/"], S3Options(endpoint_url=moto.endpoint)), None, LoadOptions())
    finally:
        moto.post("/moto-api/reset-auth", b"inf")
    assert sorted((f.source_id, f.status, f.detail) for f in summary.files) == sorted(
        (f"s3://{BUCKET}/{k}", "failed", f"access to s3://{BUCKET}/{k} is denied to the AWS credentials in use")
        for k in objects
    )
    assert summary.exit_code == 1


def test_no_credentials(moto: Moto, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(SourceError) as caught:
        list_s3_sources(make_s3_client(None, None, moto.endpoint), f"s3://{BUCKET}/AWSLogs/")
    assert str(caught.value) == (
        f"no AWS credentials found to read s3://{BUCKET}/AWSLogs/: "
        "use --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    )


def test_an_unreachable_endpoint(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries would only make the test slow
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed, so nothing answers there
    with pytest.raises(SourceError) as caught:
        list_s3_sources(make_s3_client(None, None, f"http://127.0.0.1:{port}"), f"s3://{BUCKET}/x/")
    assert str(caught.value) == f"cannot reach S3 at 127.0.0.1:{port} to read s3://{BUCKET}/x/"


@pytest.mark.parametrize("url", ["s3://", "s3:///AWSLogs/", "s3://a bucket/x", "https://flow-logs/x", "flow-logs/x"])
def test_a_malformed_url_is_a_usage_error(s3: S3Client, url: str) -> None:
    with pytest.raises(UsageError, match=r"is not an S3 URL: write s3://bucket/prefix"):
        list_s3_sources(s3, url)


@pytest.mark.parametrize(
    ("profile", "endpoint", "message"),
    [
        ("no-such-profile", None, "there is no AWS profile named 'no-such-profile' in the AWS config files"),
        (None, "not a url", "'not a url' is not a usable S3 endpoint URL: Invalid endpoint: not a url"),
    ],
)
def test_a_bad_profile_or_endpoint_is_a_usage_error(
    aws_env: None, profile: str | None, endpoint: str | None, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        make_s3_client(profile, None, endpoint)
    assert str(caught.value) == message


@pytest.mark.integration
def test_cli_load_from_s3_in_a_window_then_a_rewritten_object_replaces_its_records(
    moto: Moto, s3: S3Client, store: Any, cli_env: dict[str, str]
) -> None:
    from typer.testing import CliRunner

    from etl.cli import app

    objects = put_hours(2 * 24, hive=False, hourly=True)
    start, end = (moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in WINDOW)
    args = [
        "load",
        "--pseudonymize",
        "none",
        f"s3://{BUCKET}/",
        "--endpoint-url",
        moto.endpoint,
        "--start",
        start,
        "--end",
        end,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    # Records are filtered too: of the four files downloaded (the margin), the 09:05 file's records
    # end before 10:00 and the 12:05 file's start at 12:00.
    kept = {flow_key(datetime(2026, 1, 2, hour, 5, tzinfo=UTC), hive=False, hourly=True): 0 for hour in (10, 11)}
    _, rows = store.query("MATCH ()-[f:FLOW]->() RETURN sum(f.count) AS records, sum(f.packets) AS packets", {})
    assert (rows[0]["records"], rows[0]["packets"]) == tuple(
        map(sum, zip(*(count_records(objects[key]) for key in kept), strict=True))
    )
    _, files = store.query("MATCH (l:LogFile) RETURN l.id AS id ORDER BY id", {})
    assert len(files) == 4 and all(f["id"].startswith(f"s3://{BUCKET}/AWSLogs/") for f in files)

    rewritten = next(iter(kept))
    seed({rewritten: flow_body(datetime(2026, 1, 2, 10, 5, tzinfo=UTC), 7)})
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    objects[rewritten] = flow_body(datetime(2026, 1, 2, 10, 5, tzinfo=UTC), 7)
    _, rows = store.query("MATCH ()-[f:FLOW]->() RETURN sum(f.count) AS records, sum(f.packets) AS packets", {})
    assert (rows[0]["records"], rows[0]["packets"]) == tuple(
        map(sum, zip(*(count_records(objects[key]) for key in kept), strict=True))
    )


def test_parquet_objects_stream_through_a_spool(moto: Moto, s3: S3Client) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "version": pa.array([2, 2], pa.int32()),
            "srcaddr": ["10.0.1.1", "10.0.1.2"],
            "dstaddr": ["10.0.2.9", "10.0.2.9"],
            "srcport": pa.array([40000, 40001], pa.int32()),
            "dstport": pa.array([443, 443], pa.int32()),
            "protocol": pa.array([6, 6], pa.int32()),
            "packets": pa.array([5, 7], pa.int64()),
            "bytes": pa.array([500, 700], pa.int64()),
            "start": pa.array([1767225600, 1767225600], pa.int64()),
            "end": pa.array([1767225660, 1767225660], pa.int64()),
            "action": ["ACCEPT", "REJECT"],
            "log_status": ["OK", "OK"],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    seed({"parquet/part-0.parquet": sink.getvalue()})
    summary = load(
        resolve_sources([f"s3://{BUCKET}/parquet/"], S3Options(endpoint_url=moto.endpoint)), None, LoadOptions()
    )
    assert summary.count("loaded") == 1
    assert (summary.stats.records, summary.edges_written) == (2, 2)
