"""A compact table of figures: one row per figure, one column per demo profile."""

from __future__ import annotations


def print_table(title: str, figures: dict[str, dict[str, float]]) -> None:
    """`figures[profile][name]`; names missing from a profile print as blanks."""
    names = list(dict.fromkeys(name for values in figures.values() for name in values))
    width = max([len(name) for name in names] + [len(title)])
    print(f"{title:{width}s}" + "".join(f"  {profile:>14s}" for profile in figures))
    for name in names:
        cells = (figures[profile].get(name) for profile in figures)
        print(f"{name:{width}s}" + "".join("  " + (f"{v:>14,.2f}" if v is not None else " " * 14) for v in cells))
