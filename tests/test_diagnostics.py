"""What --debug shows a person fixing a failing or slow load: the root cause of an error, and what
happened to each source; without --debug, one sentence."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

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
