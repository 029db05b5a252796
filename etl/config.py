"""Settings, resolved once: CLI flag > environment > `.env` > default."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from dotenv import dotenv_values

from etl.errors import UsageError

log = logging.getLogger(__name__)

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
    origins: dict[str, str] = {}
    for name, var in ENV_VARS.items():
        if raw := environ.get(var):
            values[name], origins[name] = _coerce(name, raw), "the environment"
        elif raw := dotenv.get(var):
            values[name], origins[name] = _coerce(name, raw), str(path)
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = _coerce(name, value) if isinstance(value, str) else value
            origins[name] = "a command-line option"
    if values.get("neo4j_uri"):
        values |= _uri_credentials(values["neo4j_uri"])
    _warn_mixed_origins(origins, dotenv_origin=str(path))
    return replace(Settings(), **values)


def _uri_credentials(uri: str) -> dict[str, str]:
    """`bolt://user:password@host` as a URI without them, and the user and password it held.

    The URI is shown in messages and summaries; the password in it must not be."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return {}  # the driver names what is wrong with it, and no password is shown: it has no '@' we could parse
    if "@" not in parts.netloc:
        return {}
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    found = {"neo4j_uri": urlunsplit(parts._replace(netloc=host))}
    if user:
        found["neo4j_user"] = unquote(user)
    if has_password:
        found["neo4j_password"] = unquote(password)
    return found


def _warn_mixed_origins(origins: Mapping[str, str], dotenv_origin: str) -> None:
    """A `.env` in the working directory is whoever wrote it: if it names the server while the password
    comes from elsewhere (the user's environment), that password would go to a server the file chose."""
    uri_from, password_from = origins.get("neo4j_uri"), origins.get("neo4j_password")
    if uri_from == dotenv_origin and password_from not in (None, dotenv_origin):
        log.warning(
            "NEO4J_URI comes from %s but NEO4J_PASSWORD from %s: the password goes to the server that file names; "
            "check the file, or set NEO4J_URI yourself",
            dotenv_origin,
            password_from,
        )
