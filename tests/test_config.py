"""Settings precedence: CLI flag > environment > .env > default; secrets never in repr."""

from __future__ import annotations

from pathlib import Path

from etl.config import Settings, resolve_settings


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
