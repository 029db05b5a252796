"""Saved Cypher queries: `.cypher` files with a `//` metadata header, shipped in the `queries` package."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from etl.errors import QueryError, UsageError

_HEADER = re.compile(r"//\s*(\w[\w-]*)\s*:\s*(.*)")
_TYPES: dict[str, type] = {"int": int, "float": float, "string": str, "bool": bool}
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    description: str = ""

    def convert(self, raw: str) -> Any:
        """The typed value of `raw`; a UsageError that says what was expected."""
        try:
            if self.type == "bool":
                if raw.lower() not in _TRUE | _FALSE:
                    raise ValueError(raw)
                return raw.lower() in _TRUE
            return _TYPES[self.type](raw)
        except ValueError:
            raise UsageError(f"parameter {self.name} takes a {self.type}, not {raw!r}") from None


@dataclass(frozen=True)
class SavedQuery:
    name: str
    title: str
    description: str
    text: str
    params: tuple[Param, ...] = field(default_factory=tuple)

    def bind(self, assignments: list[str]) -> dict[str, Any]:
        """Defaults overridden by `name=value` assignments, each checked against the header."""
        values = {p.name: p.default for p in self.params}
        by_name = {p.name: p for p in self.params}
        for assignment in assignments:
            name, sep, raw = assignment.partition("=")
            if not sep:
                raise UsageError(f"--param takes name=value, not {assignment!r}")
            if name not in by_name:
                valid = ", ".join(by_name) or "none"
                raise UsageError(f"{self.name} has no parameter {name!r}; its parameters: {valid}")
            values[name] = by_name[name].convert(raw)
        return values


def _param(line: str, source: str) -> Param:
    parts = line.split(None, 3)
    if len(parts) < 3 or parts[1] not in _TYPES:
        raise QueryError(f"{source}: '// param: {line}' should read 'NAME TYPE DEFAULT description', TYPE one of "
                         + ", ".join(_TYPES))  # fmt: skip
    name, type_, default = parts[:3]
    param = Param(name, type_, None, parts[3] if len(parts) > 3 else "")
    try:
        value = param.convert(default)
    except UsageError as error:
        raise QueryError(f"{source}: {error}") from None
    return Param(name, type_, value, param.description)


def parse_query(name: str, text: str, source: str | None = None) -> SavedQuery:
    meta: dict[str, str] = {}
    params: list[Param] = []
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if not match:
            if line.strip():
                break
            continue
        key, value = match.group(1).lower(), match.group(2).strip()
        if key == "param":
            params.append(_param(value, source or name))
        else:
            meta[key] = value
    return SavedQuery(name, meta.get("title", name), meta.get("description", ""), text, tuple(params))


def saved_queries() -> list[SavedQuery]:
    files = sorted(
        (f for f in resources.files("queries").iterdir() if f.name.endswith(".cypher")), key=lambda f: f.name
    )
    return [parse_query(f.name.removesuffix(".cypher"), f.read_text(encoding="utf-8")) for f in files]


def find_query(name_or_path: str) -> SavedQuery:
    """A saved query by name, or any `.cypher` file by path."""
    path = Path(name_or_path)
    if name_or_path.endswith(".cypher") or path.is_file():
        if not path.is_file():
            raise UsageError(f"no such query file: {name_or_path}")
        return parse_query(path.stem, path.read_text(encoding="utf-8"), str(path))
    queries = {q.name: q for q in saved_queries()}
    if name_or_path not in queries:
        raise UsageError(f"no saved query {name_or_path!r}; saved queries: {', '.join(queries)}")
    return queries[name_or_path]
