"""YAML files people write by hand (known-ips, policies): read as node trees, so every error names its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from etl.errors import UsageError


def compose(path: Path, what: str) -> yaml.Node | None:
    """The file's node tree (None when it is empty); `what` names the file in errors ("the policy")."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {what} {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise UsageError(f"{what} {path} is not UTF-8 text") from error
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f" line {mark.line + 1}" if mark else ""
        raise UsageError(f"{path}{line}: not valid YAML ({error.problem or error.context})") from error
    except yaml.YAMLError as error:
        raise UsageError(f"{path}: not valid YAML ({error})") from error


def line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def read_value(node: yaml.Node) -> Any:
    """What a node says, as `yaml.safe_load` would read it."""
    return yaml.SafeLoader("").construct_object(node, deep=True)
