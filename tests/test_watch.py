"""`vpcflow watch --once` against moto's S3 over HTTP: passes load only what is new, each rule fires on
the traffic built to trigger it and stays silent on its twin built not to, an alert never fires twice,
and a webhook that fails once gets each alert once, on the retry."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.graph.store import GraphStore
from tests.test_s3 import Moto, aws_env, client, moto  # noqa: F401 (fixtures)

runner = CliRunner()
BUCKET = "watched-logs"
ACCOUNT = "123456789012"
T0, DAY, HOUR = 1_767_225_600, 86_400, 3_600
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
WEB, APP, DB, CACHE = "10.0.1.11", "10.0.2.21", "10.0.3.30", "10.0.3.40"
API, SHOP, SCANNER, PROBER = "52.94.1.1", "203.0.113.50", "198.51.100.9", "198.51.100.77"
KNOWN = f"""
- {{cidr: 10.0.0.0/16, name: vpc, role: vpc}}
- {{ip: {WEB}, name: web-1, group: web}}
- {{ip: {APP}, name: app-1, group: app}}
- {{ip: {DB}, name: database, group: data}}
- {{ip: {CACHE}, name: cache, group: data}}
"""
RULES = """
rules:
  - {name: new-into-data, severity: high, kind: new-edge, to: data}
  - {name: app-new-destination, severity: medium, kind: new-public-destination, from: app}
  - {name: odd-port, severity: medium, kind: port-outside, ports: [22, 53, 443, 5432, 6379], from: vpc}
  - {name: rejects-at, severity: low, kind: rejects, by: destination, above: 5}
  - {name: rejects-from, severity: low, kind: rejects, by: source, factor: 3, trailing: 2}
  - {name: skipdata, severity: high, kind: skipdata}
"""


def _line(src: str, dst: str, port: int, start: int, action: str = "ACCEPT", status: str = "OK") -> str:
    return f"2 {ACCOUNT} eni-0 {src} {dst} 40000 {port} 6 2 200 {start} {start + 60} {action} {status}\n"


def _rejects(src: str, dst: str, port: int, start: int, times: int) -> list[str]:
    return [_line(src, dst, port, start + n, "REJECT") for n in range(times)]


# Day one: the baseline. Nothing is new on the graph's first day, and nothing else crosses a rule.
DAY_ONE = [
    _line(WEB, DB, 5432, T0 + HOUR), _line(APP, DB, 5432, T0 + HOUR), _line(APP, API, 443, T0 + HOUR),
    _line(WEB, CACHE, 6379, T0 + HOUR), *_rejects(SCANNER, WEB, 22, T0 + HOUR, 2), *_rejects(PROBER, DB, 23, T0 + HOUR, 1),
]  # fmt: skip
# Day three: each rule's trigger, and beside it its twin that must stay silent.
DAY_THREE = [
    _line(APP, CACHE, 6379, T0 + 2 * DAY + HOUR),  # new edge into data          | twin: web -> database again
    _line(WEB, DB, 5432, T0 + 2 * DAY + HOUR),
    _line(APP, SHOP, 443, T0 + 2 * DAY + HOUR),  # app's first contact with SHOP | twin: app -> API again
    _line(APP, API, 443, T0 + 2 * DAY + HOUR),
    _line(WEB, APP, 3306, T0 + 2 * DAY + HOUR),  # a port outside the list       | twin: web -> cache on 6379
    _line(WEB, CACHE, 6379, T0 + 2 * DAY + HOUR),
    *_rejects(SCANNER, WEB, 22, T0 + 2 * DAY + HOUR, 10),  # 10 > 5 at web; > 3 x the scanner's average of 1
    *_rejects(PROBER, DB, 23, T0 + 2 * DAY + HOUR, 1),  # twin: 1 at the database; the prober's average is 0.5
]  # fmt: skip
SKIPPED = [
    _line(WEB, DB, 5432, T0 + 2 * DAY + 2 * HOUR),
    f"2 {ACCOUNT} eni-0 - - - - - - - {T0 + 2 * DAY} {T0 + 2 * DAY + 60} - SKIPDATA\n",
]
EXPECTED = {
    ("new-into-data", f"{ACCOUNT}/{APP}|{ACCOUNT}/{CACHE}|6379|6|ACCEPT"),
    ("app-new-destination", SHOP),
    ("odd-port", f"{ACCOUNT}/{WEB}|{ACCOUNT}/{APP}|3306|6|ACCEPT"),
    ("rejects-at", f"{ACCOUNT}/{WEB}"),
    ("rejects-from", SCANNER),
}


def _key(day: str, name: str) -> str:
    return f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/{day}/{ACCOUNT}_vpcflowlogs_us-east-1_fl-1_{name}.log.gz"


@pytest.fixture
def world(moto: Moto, client: Any, store: GraphStore, cli_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:  # noqa: F811
    moto.post("/moto-api/reset")
    client.create_bucket(Bucket=BUCKET)
    moto.log.lines.clear()
    (tmp_path / "known.yaml").write_text(KNOWN)
    (tmp_path / "rules.yaml").write_text(RULES)
    yield tmp_path


def _put(s3: Any, key: str, lines: list[str]) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress((HEADER + "\n" + "".join(lines)).encode()))


def _watch(world: Path, server: Moto, *more: str) -> tuple[list[dict[str, Any]], str]:
    result = runner.invoke(app, ["watch", f"s3://{BUCKET}/", "--once", "--rules", str(world / "rules.yaml"),
                                 "--known-ips", str(world / "known.yaml"), "--pseudonymize", "none",
                                 "--endpoint-url", server.endpoint, "--workers", "1", *more])  # fmt: skip
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()], result.stderr


def test_passes_load_what_is_new_and_alert_once(world: Path, moto: Moto, client: Any) -> None:  # noqa: F811
    _put(client, _key("2026/01/01", "20260101T0100Z_a"), DAY_ONE)
    alerts, summary = _watch(world, moto)
    assert alerts == []  # the baseline
    assert "pass 1: 1 files loaded, 0 skipped, 0 failed, 0 new alerts" in summary

    _put(client, _key("2026/01/03", "20260103T0100Z_b"), DAY_THREE)
    _put(client, _key("2026/01/03", "20260103T0200Z_c"), SKIPPED)
    alerts, summary = _watch(world, moto)
    assert "pass 1: 2 files loaded, 1 skipped, 0 failed, 6 new alerts" in summary
    assert {(a["rule"], a["subject"]) for a in alerts if a["kind"] != "skipdata"} == EXPECTED
    (skipdata,) = [a for a in alerts if a["kind"] == "skipdata"]
    assert skipdata["subject"].endswith("20260103T0200Z_c.log.gz") and skipdata["count"] == 1
    assert all(a["bucket"] == "2026-01-03T00:00:00Z" for a in alerts)
    counts = {a["rule"]: a["count"] for a in alerts}
    assert (counts["rejects-at"], counts["rejects-from"], counts["new-into-data"]) == (10, 10, 1)

    # More of the same day: the same rules, subjects and bucket. Nothing fires again.
    _put(client, _key("2026/01/03", "20260103T0300Z_d"), [*_rejects(SCANNER, WEB, 22, T0 + 2 * DAY + 3 * HOUR, 20),
                                                          _line(APP, CACHE, 6379, T0 + 2 * DAY + 3 * HOUR)])  # fmt: skip
    moto.log.lines.clear()
    alerts, summary = _watch(world, moto)
    assert alerts == [] and "pass 1: 1 files loaded, 2 skipped, 0 failed, 0 new alerts" in summary
    # Day one's folder ends before the last pass's window: it is not even listed any more.
    listings = [unquote(line) for line in moto.log.lines if f"/{BUCKET}?" in line and "list-type=2" in line]
    assert any("/2026/01/03/" in line for line in listings) and not any("/2026/01/01/" in line for line in listings)
    listed = runner.invoke(app, ["alerts", "--format", "json"])
    assert listed.exit_code == 0
    stored = json.loads(listed.stdout)
    assert len(stored) == 6 and {(a["rule"], a["subject"]) for a in stored} >= EXPECTED
    about = {a["rule"]: sorted(a["addresses"]) for a in stored}
    assert about["new-into-data"] == sorted([APP, CACHE]) and about["rejects-at"] == [WEB]
    assert json.loads(runner.invoke(app, ["alerts", "--since", "2026-01-04", "-f", "json"]).stdout) == []


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[int] = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).calls == 1:  # the first call fails
            self.send_response(503)
        else:
            type(self).received.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received, _Hook.calls = [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/s3cr3t-token"
    server.shutdown()


def test_a_webhook_that_fails_once_gets_the_alert_once(world: Path, moto: Moto, client: Any, hook: str) -> None:  # noqa: F811
    _put(client, _key("2026/01/01", "20260101T0100Z_a"), DAY_ONE)
    _watch(world, moto)
    _put(client, _key("2026/01/03", "20260103T0100Z_b"), [_line(APP, CACHE, 6379, T0 + 2 * DAY + HOUR)])
    alerts, summary = _watch(world, moto, "--webhook", hook)
    assert [a["rule"] for a in alerts] == ["new-into-data"]
    assert _Hook.received == alerts and _Hook.calls == 2  # one failure, then the retry
    assert "webhook at 127.0.0.1: 1 delivered, 0 failed, 0 not sent" in summary
    assert "s3cr3t-token" not in summary
