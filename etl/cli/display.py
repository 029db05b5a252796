"""Data shown to people as what it is: text for a terminal, cells for a spreadsheet. Pure.

Names reach the graph from EC2 Name tags and log file names: anyone who can tag an instance or name a
file chooses them. On a terminal their escape sequences would move the cursor, clear the screen or
make hyperlinks (OSC 8), and their `[...]` would be read as Rich markup; in a spreadsheet a cell that
starts with `=` runs as a formula (https://owasp.org/www-community/attacks/CSV_Injection).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.text import Text

# Bidirectional controls reorder what a terminal shows (CVE-2021-42574, "Trojan Source").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _visible_char(char: str) -> str:
    if char not in _BIDI and unicodedata.category(char) != "Cc":
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control character written out as an escape, e.g. ESC as `\\x1b`."""
    if text.isprintable():  # the common case, checked at C speed
        return text
    return "".join(map(_visible_char, text))


def literal(text: str, style: str = "") -> Text:
    """Rich text that shows `text` as it is: no markup, no emoji codes, control characters visible."""
    return Text(visible(text), style=style)


def spreadsheet_cell(value: Any) -> Any:
    """A string a spreadsheet would run as a formula, behind a `'`; every other value as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
