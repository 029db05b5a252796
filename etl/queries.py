"""Saved Cypher queries: `.cypher` files with a `//` metadata header, shipped in the `queries` package.

The header, one `// key: value` per line before the first line of Cypher:

    // title: Top edges
    // description: The K busiest edges.
    // param: k int 50 How many edges to return.          (NAME TYPE DEFAULT description)
    // param: by string count What to rank by.
    // choices: by=count|bytes|packets                      (the only values a parameter takes)
    // view: group-by=name                                  (hints for `vpcflow view`)
    // writes: true                                         (the query may change the graph)

TYPE is int (64-bit, as Cypher's integers), float, string, bool or time (epoch seconds, or ISO 8601
read as UTC when it has no zone, passed to the query as epoch seconds). A DEFAULT of `null` leaves
the parameter unset (null) unless given: `since`/`until` windows are open that way.

A query runs in a read transaction unless its header says `// writes: true`: a file that only looks
like a question cannot delete the graph. `query run` and `view` say on stderr when a query writes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from etl.errors import QueryError, UsageError
from etl.sources.timewindow import iso_time

_HEADER = re.compile(r"//\s*(\w[\w-]*)\s*:\s*(.*)")
NULL = "null"
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _bool(raw: str) -> bool:
    if raw.lower() not in _TRUE | _FALSE:
        raise ValueError(raw)
    return raw.lower() in _TRUE


_INT64 = range(-(2**63), 2**63)


def _int64(raw: str) -> int:
    """An integer Cypher can hold: the driver cannot send a larger one."""
    value = int(raw)
    if value not in _INT64:
        raise OverflowError(raw)
    return value


def _finite(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


def _epoch_seconds(raw: str) -> int:
    if re.fullmatch(r"-?\d+", raw):
        return _int64(raw)
    moment = datetime.fromisoformat(raw)
    # Flow log times are UTC; a time without a zone means the same clock.
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


# Each type: how text becomes a value, and how an error message names what it expected.
_TYPES: dict[str, tuple[Callable[[str], Any], str]] = {
    "int": (_int64, "an integer"),
    "float": (_finite, "a number"),
    "string": (str, "a string"),
    "bool": (_bool, "true or false"),
    "time": (_epoch_seconds, "epoch seconds or an ISO 8601 time such as 2026-01-01T06:00:00Z"),
}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    description: str = ""
    choices: tuple[Any, ...] = ()

    def convert(self, raw: str) -> Any:
        """The typed value of `raw`; a UsageError that says what was expected."""
        parse, expected = _TYPES[self.type]
        try:
            value = parse(raw)
        except ValueError as error:
            raise UsageError(f"parameter {self.name} takes {expected}, not {raw!r}") from error
        except OverflowError as error:
            raise UsageError(f"parameter {self.name} takes 64-bit integers (-2**63 to 2**63-1), not {raw}") from error
        if self.choices and value not in self.choices:
            valid = ", ".join(map(str, self.choices))
            raise UsageError(f"parameter {self.name} takes one of {valid}, not {raw!r}")
        return value


@dataclass(frozen=True)
class SavedQuery:
    name: str
    title: str
    description: str
    text: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    view: dict[str, str] = field(default_factory=dict)
    writes: bool = False

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


def shown_params(query: SavedQuery, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters as a view's header shows them: times in ISO 8601 (UTC), unset ones left out (an
    open window says nothing)."""
    types = {p.name: p.type for p in query.params}
    return {
        name: iso_time(value) if types.get(name) == "time" else value
        for name, value in values.items()
        if value is not None
    }


def browser_text(query: SavedQuery, values: dict[str, Any]) -> str:
    """Neo4j Browser `:param` lines for `values`, then the query: one paste into its editor runs it."""
    lines = [f":param {name} => {cypher_literal(value)};" for name, value in values.items()]
    return "\n".join([*lines, query.text.rstrip("\n")]) + "\n"


_STRING_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def cypher_literal(value: Any) -> str:
    """`value` as a Cypher literal (Browser evaluates the right of `=>` as Cypher)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Cypher's exponent takes no plus sign: 1e+20 must read 1e20.
        return repr(value).replace("e+", "e")
    if isinstance(value, str):
        return f"'{value.translate(_STRING_ESCAPES)}'"
    raise TypeError(f"no Cypher literal for {type(value).__name__}")


def _param(line: str, source: str) -> Param:
    parts = line.split(None, 3)
    if len(parts) < 3 or parts[1] not in _TYPES or not _IDENTIFIER.fullmatch(parts[0]):
        raise QueryError(f"{source}: '// param: {line}' should read 'NAME TYPE DEFAULT description', NAME a Cypher "
                         "identifier, TYPE one of " + ", ".join(_TYPES))  # fmt: skip
    name, type_, default = parts[:3]
    param = Param(name, type_, None, parts[3] if len(parts) > 3 else "")
    return param if default == NULL else replace(param, default=_checked(param, default, source))


def _checked(param: Param, raw: str, source: str) -> Any:
    try:
        return param.convert(raw)
    except UsageError as error:
        raise QueryError(f"{source}: {error}") from error


def _with_choices(params: list[Param], line: str, source: str) -> None:
    """Attach `NAME=a|b|c` to the parameter it names, each choice (and the default) of its type."""
    name, sep, listed = line.partition("=")
    index = next((i for i, p in enumerate(params) if p.name == name.strip()), None)
    if not sep or index is None:
        raise QueryError(f"{source}: '// choices: {line}' should read 'NAME=a|b|c' after the '// param:' of NAME")
    param = params[index]
    choices = tuple(_checked(param, choice.strip(), source) for choice in listed.split("|"))
    params[index] = replace(param, choices=choices)
    if param.default not in choices:
        raise QueryError(f"{source}: the default of {param.name}, {param.default!r}, is not one of its choices")


def _view_hints(line: str, source: str) -> dict[str, str]:
    pairs = [item.partition("=") for item in line.replace(",", " ").split()]
    if not pairs or any(not sep or not key or not value for key, sep, value in pairs):
        raise QueryError(f"{source}: '// view: {line}' should read 'key=value', e.g. 'group-by=name'")
    return {key: value for key, _, value in pairs}


def parse_query(name: str, text: str, source: str | None = None) -> SavedQuery:
    source = source or name
    meta: dict[str, str] = {}
    params: list[Param] = []
    view: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if not match:
            if line.strip():
                break
            continue
        key, value = match.group(1).lower(), match.group(2).strip()
        if key == "param":
            params.append(_param(value, source))
        elif key == "choices":
            _with_choices(params, value, source)
        elif key == "view":
            view |= _view_hints(value, source)
        else:
            meta[key] = value
    writes = _writes(meta.get("writes", "false"), source)
    return SavedQuery(name, meta.get("title", name), meta.get("description", ""), text, tuple(params), view, writes)


def _writes(raw: str, source: str) -> bool:
    try:
        return _bool(raw)
    except ValueError as error:
        raise QueryError(f"{source}: '// writes: {raw}' should read 'true' or 'false'") from error


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
