"""What --debug shows a person fixing a failing or slow load: the root cause of an error, and what
happened to each source; without --debug, one sentence."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

VPCFLOW = [sys.executable, "-m", "etl"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _aws_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    }


def test_debug_chains_the_botocore_cause_and_the_sentence_stays_alone_without_it(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    args = ["load", "--dry-run", "s3://bucket/", "--endpoint-url", endpoint]
    env = _aws_env(tmp_path)
    plain = subprocess.run([*VPCFLOW, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    debug = subprocess.run(
        [*VPCFLOW, "--debug", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    sentence = f"error: cannot reach S3 at {endpoint.removeprefix('http://')} to read s3://bucket/"
    assert plain.returncode == debug.returncode == 1
    assert plain.stderr.strip() == sentence
    assert "EndpointConnectionError" in debug.stderr  # botocore's own error, the cause
    assert "The above exception was the direct cause" in debug.stderr


@pytest.mark.integration
def test_debug_follows_each_source_and_times_its_stages(cli_env: dict[str, str], store: Any, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    line = "2 123456789012 eni-1 10.0.1.5 10.0.3.30 40000 5432 6 3 300 1767225600 1767225660 ACCEPT OK"
    (logs / "a.log").write_text(line + "\n")
    (logs / "b.log").write_text(line.replace("5432", "6379") + "\n")
    (logs / "bad.log.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    args = [*VPCFLOW, "--debug", "load", "--pseudonymize", "none", str(logs)]
    result = subprocess.run(args, env=cli_env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 3, result.stderr
    for name in ("a.log", "b.log", "bad.log.gz"):
        path = logs / name
        assert f"DEBUG etl.sources: listed {path}" in result.stderr
        assert f"DEBUG etl.pipeline: opening {path}" in result.stderr  # said by a worker process
    for name in ("a.log", "b.log"):
        stages = rf"DEBUG etl\.pipeline: {re.escape(str(logs / name))}: parse [\d.]+ s, aggregate [\d.]+ s, identify [\d.]+ s, rows [\d.]+ s, write [\d.]+ s"
        assert re.search(stages, result.stderr), result.stderr
        assert f"DEBUG etl.pipeline: {logs / name}: loaded" in result.stderr
    assert f"DEBUG etl.pipeline: {logs / 'bad.log.gz'}: failed cannot be read" in result.stderr


def test_a_lost_connection_is_logged_with_its_reason_and_wait(caplog: pytest.LogCaptureFixture) -> None:
    from neo4j.exceptions import ServiceUnavailable

    from etl.graph.failures import reconnect_in_time

    with caplog.at_level(logging.DEBUG, logger="etl.graph.failures"):
        assert reconnect_in_time(ServiceUnavailable("the server closed the connection"), time.monotonic() + 60)
    assert [r.getMessage() for r in caplog.records] == [
        "connection lost (the server closed the connection); trying again in 1.0 s"
    ]
