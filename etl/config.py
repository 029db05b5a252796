"""Settings, resolved once: CLI flag > environment > `.env` > default."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from etl.errors import UsageError

# Setting name -> environment variable. `.env.example` documents each one.
ENV_VARS = {
    "neo4j_uri": "NEO4J_URI",
    "neo4j_user": "NEO4J_USER",
    "neo4j_password": "NEO4J_PASSWORD",
    "neo4j_database": "NEO4J_DATABASE",
    "home": "VPCFLOW_HOME",
    "key": "VPCFLOW_KEY",
    "known_ips": "VPCFLOW_KNOWN_IPS",
    "aws_profile": "AWS_PROFILE",
    "aws_region": "AWS_REGION",
    "retry_seconds": "VPCFLOW_RETRY_SECONDS",
}
SECRET_SETTINGS = frozenset({"neo4j_password", "key"})
# How long writes wait for an unreachable or restarting graph server before the load stops.
RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = None
    neo4j_database: str | None = None
    home: Path = Path(".vpcflow")
    key: str | None = None
    known_ips: Path | None = None
    aws_profile: str | None = None
    aws_region: str | None = None
    retry_seconds: float = RETRY_SECONDS

    def __repr__(self) -> str:
        # Settings end up in debug logs and tracebacks; secrets must not.
        shown = {
            f.name: ("***" if f.name in SECRET_SETTINGS and getattr(self, f.name) else getattr(self, f.name))
            for f in fields(self)
        }
        return f"Settings({shown})"


def _coerce(name: str, value: str) -> object:
    if name == "retry_seconds":
        try:
            seconds = float(value)
        except ValueError:
            seconds = math.nan
        if not 0 <= seconds < math.inf:
            raise UsageError(f"VPCFLOW_RETRY_SECONDS takes a number of seconds, not {value!r}")
        return seconds
    return Path(value) if name in ("home", "known_ips") else value


def resolve_settings(
    flags: Mapping[str, object | None] | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Merge the layers; a flag given as None means "not given"."""
    environ = os.environ if environ is None else environ
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    dotenv = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    values: dict[str, Any] = {}
    for name, var in ENV_VARS.items():
        raw = environ.get(var) or dotenv.get(var)
        if raw:
            values[name] = _coerce(name, raw)
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = _coerce(name, value) if isinstance(value, str) else value
    return replace(Settings(), **values)
