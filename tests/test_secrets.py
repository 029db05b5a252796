"""Secrets stay secret: AWS credentials under --debug, a password inside NEO4J_URI, a password from the
environment sent where a `.env` in the working directory points."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl.config import resolve_settings
from etl.graph.embedded import BoltEndpoint
from tests.test_s3 import BUCKET, Moto, S3Client, aws_env, client, moto, put_hours, s3  # noqa: F401 (fixtures)

VPCFLOW = [sys.executable, "-m", "etl"]
ACCESS_KEY = "AKIAVPCFLOWTEST00001"
SECRET_KEY = "vpcflow-secret-access-key-do-not-print"
SESSION_TOKEN = "vpcflow-session-token-do-not-print"


def test_debug_logs_no_aws_credential(moto: Moto, s3: S3Client, tmp_path: Path) -> None:  # noqa: F811
    put_hours(3, hive=False, hourly=True)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "VPCFLOW_HOME": str(tmp_path / "home"),
    }
    args = [
        *VPCFLOW,
        "--debug",
        "load",
        "--dry-run",
        "--workers",
        "1",
        f"s3://{BUCKET}/",
        "--endpoint-url",
        moto.endpoint,
    ]
    result = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "INFO botocore.credentials:" in result.stderr  # below WARNING: the debug log is on
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN):
        assert secret not in result.stderr and secret not in result.stdout


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("bolt://neo4j:S3cret@db.example:7687", ("bolt://db.example:7687", "neo4j", "S3cret")),
        ("neo4j+s://ops:p%40ss%3Aword@[::1]:7687/x", ("neo4j+s://[::1]:7687/x", "ops", "p@ss:word")),
        ("bolt://alice@db:7687", ("bolt://db:7687", "alice", None)),
        ("bolt://db:7687", ("bolt://db:7687", "neo4j", None)),
    ],
)
def test_credentials_in_the_uri_leave_it_for_user_and_password(uri: str, expected: tuple, tmp_path: Path) -> None:
    settings = resolve_settings({"neo4j_uri": uri}, {}, tmp_path / "none.env")
    assert (settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password) == expected
    assert settings.neo4j_password is None or settings.neo4j_password not in repr(settings)


def test_a_password_in_the_uri_is_never_echoed(tmp_path: Path) -> None:
    env = {**os.environ, "NEO4J_URI": "bolt://neo4j:Hunter2Secret@127.0.0.1:1", "NEO4J_PASSWORD": ""}
    result = subprocess.run(
        [*VPCFLOW, "db", "status"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "cannot reach the graph server at bolt://127.0.0.1:1" in result.stderr
    assert "Hunter2Secret" not in result.stderr + result.stdout


@pytest.mark.integration
def test_the_uri_credentials_are_the_ones_used(bolt: tuple[BoltEndpoint, dict[str, str]], tmp_path: Path) -> None:
    endpoint = bolt[0]
    scheme, rest = endpoint.uri.split("://", 1)
    env = {
        **os.environ,
        "NEO4J_URI": f"{scheme}://{endpoint.user}:{endpoint.password}@{rest}",
        "NEO4J_USER": "nobody",
        "NEO4J_PASSWORD": "wrong",
        "VPCFLOW_HOME": str(tmp_path / "home"),
    }
    if endpoint.database:
        env["NEO4J_DATABASE"] = endpoint.database
    result = subprocess.run(
        [*VPCFLOW, "db", "status"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert f"at {endpoint.uri}" in result.stdout
    assert endpoint.password not in result.stdout + result.stderr


def test_a_dotenv_uri_with_a_password_from_the_environment_is_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("NEO4J_URI=bolt://collector.example:7687\n")
    with caplog.at_level(logging.WARNING):
        resolve_settings({}, {"NEO4J_PASSWORD": "from-my-shell"}, dotenv)
    assert [r.getMessage() for r in caplog.records] == [
        f"NEO4J_URI comes from {dotenv} but NEO4J_PASSWORD from the environment: the password goes to the server "
        "that file names; check the file, or set NEO4J_URI yourself"
    ]
    assert "from-my-shell" not in caplog.text


@pytest.mark.parametrize(
    ("dotenv_text", "environ"),
    [
        ("NEO4J_URI=bolt://a:7687\nNEO4J_PASSWORD=in-the-file\n", {}),  # the file's own password: nothing leaks
        ("NEO4J_PASSWORD=in-the-file\n", {"NEO4J_URI": "bolt://mine:7687"}),
        ("", {"NEO4J_URI": "bolt://mine:7687", "NEO4J_PASSWORD": "mine"}),
    ],
)
def test_no_warning_when_the_uri_is_not_the_files_or_the_password_is(
    dotenv_text: str, environ: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(dotenv_text)
    with caplog.at_level(logging.WARNING):
        resolve_settings({}, environ, dotenv)
    assert caplog.records == []


def test_the_cli_says_it_on_stderr(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NEO4J_URI=bolt://127.0.0.1:1\n")
    env = {**os.environ, "NEO4J_PASSWORD": "from-my-shell"}
    env.pop("NEO4J_URI", None)
    result = subprocess.run(
        [*VPCFLOW, "db", "status"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert "WARNING: NEO4J_URI comes from" in result.stderr
    assert "from-my-shell" not in result.stderr + result.stdout


def test_debug_tracebacks_show_no_local_variables(tmp_path: Path) -> None:
    """Typer prints each frame's local variables by default: settings, keys, the driver's auth tuple."""
    env = {**os.environ, "NEO4J_URI": "bolt://127.0.0.1:1", "NEO4J_PASSWORD": "SeCrEtPw123"}
    result = subprocess.run(
        [*VPCFLOW, "--debug", "db", "status"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "StoreUnavailableError" in result.stderr
    assert " locals " not in result.stderr
    assert "SeCrEtPw123" not in result.stderr + result.stdout
