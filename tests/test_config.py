"""Settings precedence: CLI flag > environment > .env > default; secrets never in repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config import Settings, resolve_settings
from etl.errors import UsageError


def test_precedence(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("NEO4J_URI=bolt://dotenv:7687\nNEO4J_USER=dotenv-user\nVPCFLOW_HOME=/from/dotenv\n")
    environ = {"NEO4J_USER": "env-user", "VPCFLOW_HOME": "/from/env"}
    settings = resolve_settings({"home": "/from/flag", "neo4j_uri": None}, environ, dotenv)
    assert settings.neo4j_uri == "bolt://dotenv:7687"
    assert settings.neo4j_user == "env-user"
    assert settings.home == Path("/from/flag")
    assert settings.neo4j_database is None


def test_defaults_without_anything(tmp_path: Path) -> None:
    assert resolve_settings({}, {}, tmp_path / "missing.env") == Settings()
    assert Settings().home == Path(".vpcflow")


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    settings = resolve_settings({}, {"NEO4J_PASSWORD": "hunter2-secret", "VPCFLOW_KEY": "00ff" * 8}, tmp_path / "x")
    assert settings.neo4j_password == "hunter2-secret"
    assert "hunter2" not in repr(settings) and "00ff" not in repr(settings)


def test_retry_seconds_from_the_environment(tmp_path: Path) -> None:
    assert resolve_settings({}, {"VPCFLOW_RETRY_SECONDS": "2.5"}, tmp_path / "x").retry_seconds == 2.5
    assert resolve_settings({}, {}, tmp_path / "x").retry_seconds == 30.0


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_retry_seconds_that_are_not_a_duration_are_a_usage_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(UsageError, match=f"^VPCFLOW_RETRY_SECONDS takes a number of seconds, not '{value}'$"):
        resolve_settings({}, {"VPCFLOW_RETRY_SECONDS": value}, tmp_path / "x")
