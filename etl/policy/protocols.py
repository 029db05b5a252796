"""Protocol names as security groups and policies write them, and the numbers flow logs carry."""

from __future__ import annotations

NAMES = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
NUMBERS = {number: name for name, number in NAMES.items()}


def protocol_number(value: str | int) -> int | None:
    """6 for "tcp", "6" or 6; None for all protocols ("-1", -1, "all", "any"); ValueError otherwise."""
    text = str(value).strip().lower()
    if text in ("-1", "all", "any"):
        return None
    if text in NAMES:
        return NAMES[text]
    number = int(text)  # ValueError for any other word
    if not 0 <= number <= 255:
        raise ValueError(f"{value!r} is not an IP protocol number (0-255)")
    return number


def protocol_name(number: int | None) -> str:
    if number is None:
        return "any"
    return NUMBERS.get(number, str(number))
